"""`alexnet train` / `alexnet evaluate`: end to end, resume after SIGKILL, one-line errors, unsafe checkpoints."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from alexnet.checkpoint import FORMAT, CheckpointError, load_checkpoint, model_from_checkpoint, save_checkpoint
from alexnet.data import EvalPreset, dataset_stats, load_image_folder
from alexnet.evaluate import evaluate_checkpoint
from alexnet.metrics import topk_errors
from alexnet.model import AlexNet
from alexnet.runs import CHECKPOINT_FILE, CONFIG_FILE, list_snapshots, read_metrics
from alexnet_cli import main
from alexnet_cli.train import config_from_args
from tests.alexnet.test_train import CLASS_NAMES, make_image_folder

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("cli-data"), train=4, val=1)


def _run_cli(*args: str, env_extra: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "alexnet_cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=timeout)


def _assert_one_line_error(err: str, *fragments: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("alexnet: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], err


# --- errors ---------------------------------------------------------------------------------------


def test_missing_data_folder_is_one_line_exit_2_from_the_console_script(tmp_path):
    result = _run_cli("train", "--data", str(tmp_path / "nowhere"), "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 2
    _assert_one_line_error(result.stderr, "data folder not found", "nowhere")


def test_wrong_layout_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "flat" / "train").mkdir(parents=True)
    (tmp_path / "flat" / "val").mkdir()
    (tmp_path / "flat" / "train" / "a.png").write_bytes(b"")
    assert main(["train", "--data", str(tmp_path / "flat"), "--runs-dir", str(tmp_path / "runs")]) == 2
    _assert_one_line_error(capsys.readouterr().err, "no class folders")
    (tmp_path / "nosplit").mkdir()
    assert main(["train", "--data", str(tmp_path / "nosplit"), "--runs-dir", str(tmp_path / "runs")]) == 2
    _assert_one_line_error(capsys.readouterr().err, "no 'train' split")


def test_bad_option_values_and_unknown_options_exit_2(tmp_path, capsys):
    assert main(["train", "--plateau-patience", "-1", "--runs-dir", str(tmp_path)]) == 2
    _assert_one_line_error(capsys.readouterr().err, "plateau_patience")
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--learning-rate", "0.1"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --learning-rate" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--batch-size", "0"])
    assert exit_info.value.code == 2


def test_help_describes_defaults_and_sources(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for fragment in ("batch 128", "momentum 0.9", "weight decay 0.0005", "(default: 90, paper", "--resume",
                     "--update-rule", "section 5", "torchrun", "--train-subset", "--ten-crop-every", "--stream"):
        assert fragment in text, fragment
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    assert "10 crops" in " ".join(capsys.readouterr().out.split())


def test_evaluate_refuses_corrupt_and_foreign_checkpoints(tiny_data, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a checkpoint" * 10)
    assert main(["evaluate", "--checkpoint", str(corrupt), "--data", str(tiny_data)]) == 2
    _assert_one_line_error(capsys.readouterr().err, "corrupt.pt")

    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    assert main(["evaluate", "--checkpoint", str(foreign), "--data", str(tiny_data)]) == 2
    _assert_one_line_error(capsys.readouterr().err, "not an AlexNet Explorer checkpoint")

    assert main(["evaluate", "--checkpoint", str(tmp_path / "missing.pt"), "--data", str(tiny_data)]) == 2
    _assert_one_line_error(capsys.readouterr().err, "checkpoint not found")

    conv_only = tmp_path / "epoch_001.pt"
    model = AlexNet(num_classes=3, init=False)
    save_checkpoint(conv_only, model, data_stats={})
    snapshot = torch.load(conv_only, weights_only=True)
    snapshot["model"] = {k: v for k, v in snapshot["model"].items() if k.startswith("features.")}
    snapshot["data_stats"] = {"mean_image": torch.zeros(3, 256, 256), "eigvals": torch.ones(3),
                              "eigvecs": torch.eye(3)}
    torch.save(snapshot, conv_only)
    assert main(["evaluate", "--checkpoint", str(conv_only), "--data", str(tiny_data)]) == 2
    _assert_one_line_error(capsys.readouterr().err, "only the conv layers")

    no_stats = tmp_path / "nostats.pt"
    save_checkpoint(no_stats, AlexNet(num_classes=3, init=False))
    assert main(["evaluate", "--checkpoint", str(no_stats), "--data", str(tiny_data)]) == 2
    _assert_one_line_error(capsys.readouterr().err, "data_stats")


class _CodeOnLoad:
    """Unpickling this object calls ``open(marker, "w")``: a stand-in for code a hostile file would run."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _hostile_checkpoint(path: Path, marker: Path) -> Path:
    torch.save({"format": FORMAT, "model": {"features.conv1.weight": _CodeOnLoad(marker)}, "config": {}}, path)
    return path


def test_checkpoint_that_would_run_code_is_refused_and_the_code_never_runs(tiny_data, tmp_path, capsys):
    # Control: the payload is real -- an unsafe load does run it.
    control_marker = tmp_path / "control-ran"
    torch.load(_hostile_checkpoint(tmp_path / "control.pt", control_marker), weights_only=False)
    assert control_marker.exists()

    marker = tmp_path / "payload-ran"
    hostile = _hostile_checkpoint(tmp_path / "hostile.pt", marker)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(hostile)
    assert not marker.exists()

    assert main(["evaluate", "--checkpoint", str(hostile), "--data", str(tiny_data)]) == 2
    _assert_one_line_error(capsys.readouterr().err, "refused", "could run code")
    assert not marker.exists()

    result = _run_cli("evaluate", "--checkpoint", str(hostile), "--data", str(tiny_data))
    assert result.returncode == 2
    _assert_one_line_error(result.stderr, "refused")
    assert not marker.exists()


# --- evaluate ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hand_checkpoint(tiny_data, tmp_path_factory):
    """A checkpoint as `alexnet train` writes it (weights, data_stats, classes), without training."""
    train = load_image_folder(tiny_data / "train", progress=False)
    torch.manual_seed(5)
    model = AlexNet(num_classes=3)
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.pt"
    save_checkpoint(path, model, data_stats=dataset_stats(train).state_dict(), classes=train.classes,
                    class_names=list(CLASS_NAMES.values()), epoch=0)
    return path


@pytest.mark.slow
def test_evaluate_command_matches_a_direct_computation(tiny_data, hand_checkpoint, capsys):
    assert main(["evaluate", "--checkpoint", str(hand_checkpoint), "--data", str(tiny_data),
                 "--json", "--no-progress"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"centre", "ten_crop"}

    checkpoint = load_checkpoint(hand_checkpoint)
    model = model_from_checkpoint(checkpoint)
    val = load_image_folder(tiny_data / "val", progress=False)
    from alexnet.data import DatasetStats

    preset = EvalPreset(DatasetStats.from_state_dict(checkpoint["data_stats"]))
    with torch.no_grad():
        centre = topk_errors(model(preset(val.images)), val.targets)
        ten = topk_errors(model(preset.ten_crop(val.images).flatten(0, 1)).softmax(1).view(3, 10, 3).mean(1),
                          val.targets)
    assert (printed["centre"]["top1_error"], printed["centre"]["top5_error"]) == pytest.approx(centre)
    assert (printed["ten_crop"]["top1_error"], printed["ten_crop"]["top5_error"]) == pytest.approx(ten)
    assert printed["centre"]["images"] == 3

    assert main(["evaluate", "--checkpoint", str(hand_checkpoint), "--data", str(tiny_data), "--crops", "centre",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "centre crop: top-1 error" in out and "10 crops" not in out


def test_evaluate_refuses_a_folder_with_other_classes(hand_checkpoint, tmp_path):
    from alexnet.errors import DataError

    other = tmp_path / "other"
    make_image_folder(other, train=1, val=1, names=False)
    (other / "val" / "n001").rename(other / "val" / "n000")
    with pytest.raises(DataError, match="differ"):
        evaluate_checkpoint(hand_checkpoint, other)


# --- train ---------------------------------------------------------------------------------------------


def test_resume_takes_the_saved_config_and_only_given_options(tmp_path):
    from alexnet_cli import build_parser

    run = tmp_path / "r"
    run.mkdir()
    (run / CONFIG_FILE).write_text(json.dumps({"name": "r", "runs_dir": str(tmp_path), "epochs": 4,
                                               "lr": 0.02, "towers": 2}))
    args = build_parser().parse_args(["train", "--runs-dir", str(tmp_path), "--name", "r", "--resume",
                                      "--epochs", "6"])
    config, resume = config_from_args(args)
    assert resume and config.epochs == 6 and config.lr == 0.02 and config.towers == 2
    args = build_parser().parse_args(["train", "--runs-dir", str(tmp_path), "--name", "r", "--epochs", "6"])
    config, resume = config_from_args(args)
    assert not resume and config.lr == 0.01 and config.towers == 1


@pytest.mark.slow
def test_train_on_imagenette_end_to_end(shared_data, tmp_path, capsys):
    # --stream decodes only the chosen images (the in-memory path decodes all 5,000 first).
    assert main(["train", "--data", str(shared_data / "imagenette"), "--stream", "--workers", "0",
                 "--train-subset", "16", "--val-subset", "8", "--batch-size", "8", "--epochs", "1",
                 "--towers", "2", "--runs-dir", str(tmp_path), "--name", "nette", "--no-progress"]) == 0
    run = tmp_path / "nette"
    records = read_metrics(run)
    assert [r["epoch"] for r in records] == [1]
    assert records[0]["train_images"] == 16 and records[0]["val_images"] == 8
    checkpoint = load_checkpoint(run / CHECKPOINT_FILE)
    assert checkpoint["epoch"] == 1 and "tench" in checkpoint["class_names"]
    assert len(checkpoint["classes"]) == 10 and checkpoint["classes"][0] == "n01440764"
    assert "epoch 1/1" in capsys.readouterr().err


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_loses_and_repeats_no_epoch(tiny_data, tmp_path, capsys):
    runs, epochs = tmp_path / "runs", 2
    args = ["train", "--data", str(tiny_data), "--runs-dir", str(runs), "--name", "k", "--epochs", str(epochs),
            "--batch-size", "3", "--val-subset", "2", "--towers", "1", "--lr", "0.001"]
    log = tmp_path / "stderr.txt"
    with log.open("w") as err:
        process = subprocess.Popen([sys.executable, "-m", "alexnet_cli", *args], stdout=subprocess.DEVNULL,
                                   stderr=err, cwd=REPO)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, f"training ended before it could be killed:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"epoch 2 never started:\n{log.read_text()}"
            if len(read_metrics(runs / "k")) == 1 and "epoch 2/2" in log.read_text():
                break
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert load_checkpoint(runs / "k" / CHECKPOINT_FILE)["epoch"] == 1

    assert main([*args, "--resume", "--no-progress"]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().err
    assert [r["epoch"] for r in read_metrics(runs / "k")] == [1, 2]
    final = load_checkpoint(runs / "k" / CHECKPOINT_FILE)
    assert final["epoch"] == epochs and [r["epoch"] for r in final["metrics"]] == [1, 2]
    assert list(list_snapshots(runs / "k")) == [0, 1, 2]
    assert not list((runs / "k").glob(".*.tmp"))  # no temporary files left behind
