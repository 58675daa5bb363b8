"""evaluate (centre and ten crops) against direct computation; evaluate_checkpoint of a run folder."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from alexnet.checkpoint import save_checkpoint
from alexnet.data import DatasetStats, EvalPreset, dataset_stats, load_image_folder
from alexnet.errors import CheckpointError
from alexnet.evaluate import evaluate, evaluate_checkpoint
from alexnet.inputs import iterate_batches
from alexnet.metrics import topk_errors
from alexnet.model import AlexNet
from alexnet.runs import CHECKPOINT_FILE
from tests.alexnet.test_train import make_image_folder


class CornerReader(nn.Module):
    """Two logits from each crop's top-left and bottom-right pixel (red channel): position matters."""

    def forward(self, x):
        return torch.stack([x[:, 0, 0, 0], x[:, 0, -1, -1]], dim=1) / 50.0


def _zero_stats(size: int) -> DatasetStats:
    return DatasetStats(torch.zeros(3, size, size), torch.ones(3), torch.eye(3))


def test_evaluate_centre_and_ten_crop_against_direct_computation():
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (7, 3, 12, 12), dtype=torch.uint8, generator=generator)
    targets = torch.tensor([0, 1, 0, 1, 1, 0, 1])
    preset = EvalPreset(_zero_stats(12), crop_size=8)
    model = CornerReader()
    device = torch.device("cpu")

    centre = evaluate(model, iterate_batches(images, targets, 3), preset, device=device)
    expected = topk_errors(model(preset(images)), targets, (1, 5))
    assert (centre["top1_error"], centre["top5_error"]) == pytest.approx(expected)
    assert centre["images"] == 7

    ten = evaluate(model, iterate_batches(images, targets, 4), preset, device=device, ten_crop=True)
    averaged = torch.stack([model(preset.ten_crop(images[i : i + 1])[0]).softmax(1).mean(0) for i in range(7)])
    assert ten["top1_error"] == pytest.approx(topk_errors(averaged, targets, (1,))[0])
    # the ten-crop average is of softmax outputs, not of logits: check it picks the same as a by-hand average
    assert 0.0 <= ten["top1_error"] <= 1.0 and ten["top5_error"] == 0.0


def test_evaluate_restores_training_mode():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2), nn.Dropout(0.5))
    model.train()
    images = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    evaluate(model, [(images, torch.tensor([0, 1]))], EvalPreset(_zero_stats(8), crop_size=8),
             device=torch.device("cpu"))
    assert model.training


def test_evaluate_checkpoint_takes_a_run_folder(tmp_path):
    data = make_image_folder(tmp_path / "data", train=1, val=1)
    train = load_image_folder(data / "train", progress=False)
    run = tmp_path / "run"
    save_checkpoint(run / CHECKPOINT_FILE, AlexNet(num_classes=3), data_stats=dataset_stats(train).state_dict(),
                    classes=train.classes, epoch=0)
    by_folder = evaluate_checkpoint(run, data, device="cpu")
    assert by_folder == evaluate_checkpoint(run / CHECKPOINT_FILE, data, device="cpu")
    assert by_folder["centre"]["images"] == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="without checkpoint.pt"):
        evaluate_checkpoint(tmp_path / "empty", data)
