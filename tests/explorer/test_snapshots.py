"""explorer.snapshots: conv1 per epoch from a run folder and from the bundled reference's safetensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alexnet import AlexNet
from alexnet.errors import CheckpointError
from alexnet.reference import export_reference
from explorer.snapshots import conv1_at, full_snapshot, saved_epochs
from tests.explorer.test_curves import make_run_folder


def test_run_folder_epochs_and_weights(tmp_path):
    run = make_run_folder(tmp_path / "runs", "tiny", epochs=3, snapshot_epochs=(0, 2))
    assert saved_epochs(run) == [0, 2]
    weight, towers = conv1_at(run, 2)
    assert weight.shape[1:] == (3, 11, 11) and weight.dtype == np.float32 and towers in (1, 2)
    assert full_snapshot(run, 2).name == "epoch_002.pt"
    with pytest.raises(CheckpointError, match="no snapshot after epoch 1"):
        conv1_at(run, 1)


def test_reference_epochs_and_weights(tmp_path):
    model = AlexNet(num_classes=10, towers=2)
    stats = {"mean_image": torch.zeros(3, 256, 256), "eigvals": torch.ones(3), "eigvecs": torch.eye(3)}
    checkpoint = {"model": model.state_dict(), "config": model.config_dict(), "epoch": 2, "data_stats": stats}
    snapshots = {e: {k: v + e for k, v in model.state_dict().items()} for e in range(3)}
    export_reference(checkpoint, snapshots, "", {}, fc_scheme="int4", directory=tmp_path)
    assert saved_epochs(tmp_path) == [0, 1, 2]
    weight, towers = conv1_at(tmp_path, 2)
    expected = (model.layer("conv1").weight.detach() + 2).half().float().numpy()
    assert towers == 2 and np.array_equal(weight, expected)
    assert full_snapshot(tmp_path, 2) is None  # conv1 only: no activations per epoch
    with pytest.raises(CheckpointError, match="no conv1 for epoch 7"):
        conv1_at(tmp_path, 7)
