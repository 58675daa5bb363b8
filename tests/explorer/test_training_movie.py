"""conv1_movie: one labelled frame per saved epoch, showing each epoch's own kernels."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet import AlexNet
from alexnet.reference import export_reference
from explorer.training_movie import HEADER_PX, conv1_movie


def _reference_with_snapshots(folder, epochs):
    """A bundled-reference folder whose conv1 at epoch e is grey noise scaled by e + 1, kernel 0 bright red."""
    model = AlexNet(num_classes=10, towers=1)
    stats = {"mean_image": torch.zeros(3, 256, 256), "eigvals": torch.ones(3), "eigvecs": torch.eye(3)}
    checkpoint = {"model": model.state_dict(), "config": model.config_dict(), "epoch": epochs[-1], "data_stats": stats}
    g = torch.Generator().manual_seed(0)
    snapshots = {}
    for e in epochs:
        w = torch.randn(96, 3, 11, 11, generator=g) * (e + 1)
        w[0] = 0
        w[0, 0] = 5.0
        snapshots[e] = {**model.state_dict(), "features.conv1.weight": w}
    export_reference(checkpoint, snapshots, "", {}, fc_scheme="int4", directory=folder)
    return folder


def test_one_frame_per_epoch_with_the_last_held(tmp_path):
    folder = _reference_with_snapshots(tmp_path / "reference", [0, 2, 5])
    gif = Image.open(io.BytesIO(conv1_movie(folder, frame_ms=200, hold_last_ms=900)))
    assert gif.n_frames == 3 and gif.info.get("loop") == 0
    durations, frames = [], []
    for i in range(gif.n_frames):
        gif.seek(i)
        durations.append(gif.info["duration"])
        frame = np.asarray(gif.convert("RGB"))
        # kernel 0 (top left, below the label strip) is red in every frame (zero is mid-grey): its tile's centre
        r, g, b = frame[HEADER_PX + 1 + 16, 1 + 16].astype(int)
        assert r > 200 and g < 160 and b < 160 and abs(g - b) < 8
        frames.append(frame[HEADER_PX:])
    assert durations == [200, 200, 900]
    assert not np.array_equal(frames[0], frames[1]) and not np.array_equal(frames[1], frames[2])


def test_an_empty_run_says_what_is_missing(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no conv1 snapshots"):
        conv1_movie(tmp_path / "empty")
