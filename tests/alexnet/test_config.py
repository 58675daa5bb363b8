"""TrainConfig: the paper's defaults, validation, JSON round trip."""

from __future__ import annotations

import dataclasses
import json

import pytest

from alexnet.config import DEFAULT_SNAPSHOT_EPOCHS, TrainConfig


def test_defaults_are_the_papers():
    config = TrainConfig()
    # Krizhevsky et al. 2012, section 5
    assert config.batch_size == 128
    assert config.momentum == 0.9
    assert config.weight_decay == 0.0005
    assert config.lr == 0.01
    assert config.lr_drop_factor == 10
    assert config.max_lr_drops == 3
    assert config.epochs == 90
    assert config.update_rule == "paper"
    # section 4.1
    assert config.pca_std == 0.1
    assert config.flip is True
    assert config.crop_size == 227


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().lr = 1.0  # type: ignore[misc]


def test_json_round_trip_and_unknown_keys():
    config = TrainConfig(epochs=3, train_subset=10, snapshot_epochs=(5, 0, 1), name="x")
    values = json.loads(config.to_json())
    assert values["snapshot_epochs"] == [0, 1, 5]
    assert TrainConfig.from_dict(values) == config
    with pytest.raises(ValueError, match="unknown training config keys"):
        TrainConfig.from_dict({**values, "learning_rate": 0.1})


@pytest.mark.parametrize("bad", [
    {"towers": 3}, {"update_rule": "adam"}, {"batch_size": 0}, {"lr": 0.0}, {"momentum": 1.0},
    {"train_subset": 0}, {"lr_drop_factor": 1.0}, {"name": "a/b"}, {"name": ""}, {"snapshot_epochs": (-1,)},
])
def test_invalid_values_are_refused(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_snapshot_schedule_includes_last_epoch():
    config = TrainConfig(epochs=4)
    assert DEFAULT_SNAPSHOT_EPOCHS[:4] == (0, 1, 2, 3)
    assert [e for e in range(0, 5) if config.should_snapshot(e)] == [0, 1, 2, 3, 4]
    config = TrainConfig(epochs=10)
    assert [e for e in range(0, 11) if config.should_snapshot(e)] == [0, 1, 2, 3, 5, 8, 10]


def test_ten_crop_schedule():
    assert [e for e in range(1, 7) if TrainConfig(epochs=6).ten_crop_due(e)] == [6]
    assert [e for e in range(1, 7) if TrainConfig(epochs=6, ten_crop_every=2).ten_crop_due(e)] == [2, 4, 6]
