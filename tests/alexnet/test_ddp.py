"""Data-parallel training: `torchrun --nproc_per_node=2` on CPU (gloo) on tiny data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alexnet.checkpoint import load_checkpoint
from alexnet.train import CHECKPOINT_FILE, list_snapshots, read_metrics
from tests.alexnet.test_train import make_image_folder

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_torchrun_two_cpu_processes_train_and_rank_zero_writes(tmp_path):
    data = make_image_folder(tmp_path / "data", train=4, val=2)
    runs = tmp_path / "runs"
    # python -m torch.distributed.run is torchrun, run with this interpreter (venv-safe);
    # --standalone picks a free rendezvous port, so parallel test runs cannot collide.
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "alexnet.cli", "train", "--data", str(data), "--runs-dir", str(runs), "--name", "ddp",
               "--epochs", "1", "--batch-size", "6", "--val-subset", "3", "--towers", "2", "--lr", "0.001",
               "--device", "cpu", "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=400,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    assert "2 processes" in output
    # Rank 0 alone prints the per-epoch lines and writes the files: each epoch appears once.
    assert output.count("epoch 1/1: train loss") == 1
    run = runs / "ddp"
    records = read_metrics(run)
    assert [r["epoch"] for r in records] == [1]
    # 12 training images over 2 processes: disjoint shards of 6, summed back to 12.
    assert all(r["train_images"] == 12 for r in records)
    assert all(r["val_images"] == 3 for r in records)  # validation shards (2 + 1) summed
    checkpoint = load_checkpoint(run / CHECKPOINT_FILE)
    assert checkpoint["epoch"] == 1 and not any(k.startswith("module.") for k in checkpoint["model"])
    assert list(list_snapshots(run)) == [0, 1]
