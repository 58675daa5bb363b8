"""One-process defaults, device choice, and data-parallel training: `torchrun --nproc_per_node=2` on CPU (gloo)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from alexnet.checkpoint import load_checkpoint
from alexnet.distributed import DistInfo, init_distributed, resolve_device
from alexnet.errors import TrainError
from alexnet.runs import CHECKPOINT_FILE, list_snapshots, read_metrics
from tests.alexnet.test_train import make_image_folder

REPO = Path(__file__).resolve().parents[2]


def test_without_torchrun_a_process_is_a_one_process_job(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    dist = init_distributed("cpu")
    assert dist == DistInfo() and dist.is_main and not dist.enabled
    dist.barrier()  # no process group: a no-op, not an error
    assert dist.sum([1.5, 2], torch.device("cpu")) == [1.5, 2]
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert init_distributed("auto") == DistInfo()


def test_resolve_device(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(TrainError, match="CUDA is not available"):
        resolve_device("cuda:0")


@pytest.mark.slow
def test_torchrun_two_cpu_processes_train_and_rank_zero_writes(tmp_path):
    data = make_image_folder(tmp_path / "data", train=4, val=2)
    runs = tmp_path / "runs"
    # python -m torch.distributed.run is torchrun, run with this interpreter (venv-safe);
    # --standalone picks a free rendezvous port, so parallel test runs cannot collide.
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "alexnet_cli", "train", "--data", str(data), "--runs-dir", str(runs), "--name", "ddp",
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
