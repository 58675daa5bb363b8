"""ReluTanhConfig: validation, JSON round trip, named conditions, which changes keep finished units; no torch."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from alexnet.relu_tanh.config import ReluTanhConfig, _same_training


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="activations"):
        ReluTanhConfig(activations=("sigmoid",))
    with pytest.raises(ValueError, match="unknown condition"):
        ReluTanhConfig(conditions=("bigger-batch",))
    with pytest.raises(ValueError, match="post_epoch"):
        ReluTanhConfig(error_measure="post_epoch", eval_train_images=0)
    c = ReluTanhConfig(fixed_lr=(("relu", 0.01),))
    assert ReluTanhConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_resume_reuses_units_across_seed_and_study_changes_only():
    base = ReluTanhConfig()
    saved = json.loads(json.dumps(base.to_dict()))
    assert _same_training(saved, dataclasses.replace(base, seeds=(0, 1, 2, 3), conditions=("pytorch-init",)))
    assert _same_training(saved, dataclasses.replace(base, threads=2))
    assert not _same_training(saved, dataclasses.replace(base, momentum=0.5))
    assert not _same_training(saved, dataclasses.replace(base, lr_grid=(0.1,)))


def test_config_and_results_modules_load_without_torch():
    # The command line builds `alexnet relu-tanh --help` from the config module, and the dashboard reads
    # results files with the results module: neither may pull in torch.
    code = ("import sys, alexnet.relu_tanh.config, alexnet.relu_tanh.results; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
