"""ReluTanhConfig: validation, JSON round trip, named conditions, which changes keep finished units; no torch."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from alexnet.relu_tanh.config import (
    KNOWN_CONDITIONS,
    RESULTS_DIR,
    WHY_CONDITIONS,
    WHY_FULL_GRID,
    ReluTanhConfig,
    _same_training,
    condition,
    why_config,
)


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


def test_named_conditions_for_the_why_study():
    uv = condition("unit-variance-input")
    assert dict(uv.overrides) == {"input_norm": "unit-variance", "init": "normal-0.01"}
    for name in ("pytorch-init", "init-x10", "unit-variance-input"):
        assert name in KNOWN_CONDITIONS
    # ReLU's never-run neighbours as conditions of their own: that activation at that rate, the rest as it was.
    assert condition("relu-lr-0.001").overrides == (("fixed_lr", (("relu", 0.001),)),)
    assert condition("relu-lr-0.01").overrides == (("fixed_lr", (("relu", 0.01),)),)
    why = why_config()
    assert why.conditions == WHY_CONDITIONS and why.full_grid == WHY_FULL_GRID
    assert why.seeds == (0, 1, 2) and why.condition_seeds == (0,)  # the current recipe on 3 seeds, conditions on 1
    assert ReluTanhConfig.from_dict(json.loads(json.dumps(why.to_dict()))) == why  # nested tuples survive JSON
    with pytest.raises(ValueError, match="full_grid"):
        ReluTanhConfig(full_grid=(("tanh", ()),))
    with pytest.raises(ValueError, match="input_norm"):
        ReluTanhConfig(input_norm="per-image")


def test_new_runs_cap_at_60_epochs_and_the_committed_results_keep_40_and_stay_resumable():
    assert ReluTanhConfig().max_epochs == 60 and ReluTanhConfig().eval_train_images == 10000
    committed = json.loads((RESULTS_DIR / "results.json").read_text())["config"]
    config = ReluTanhConfig.from_dict(committed)
    assert config.max_epochs == 40 and config.eval_train_images == 10000 and config.input_norm == "mean-image"
    # Fields added since (input scale, full grid, mechanism record) take the defaults that mean what the file did.
    assert _same_training(committed, config)
    assert not _same_training(committed, dataclasses.replace(config, input_norm="unit-variance"))
    assert _same_training(committed, dataclasses.replace(config, mechanism_images=0))  # records only
