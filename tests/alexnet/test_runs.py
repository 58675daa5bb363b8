"""Run folders: metrics.jsonl, snapshots, listing runs, where files go."""

from __future__ import annotations

import pytest

from alexnet.config import TrainConfig
from alexnet.runs import append_line, list_runs, list_snapshots, read_metrics, run_dir_for, snapshot_path


def test_read_metrics_tolerates_only_a_torn_last_line(tmp_path):
    assert read_metrics(tmp_path) == []
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2}\n{"epoch": 3, "lo', encoding="utf-8")
    assert read_metrics(tmp_path) == [{"epoch": 1}, {"epoch": 2}]
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n{"ep\n{"epoch": 3}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_metrics(tmp_path)


def test_list_snapshots_and_runs(tmp_path):
    run = tmp_path / "a"
    (run / "snapshots").mkdir(parents=True)
    for name in ("epoch_000.pt", "epoch_012.pt", "epoch_003.pt", "notes.txt", "epoch_x.pt"):
        (run / "snapshots" / name).write_bytes(b"")
    assert list_snapshots(run) == {0: run / "snapshots/epoch_000.pt", 3: run / "snapshots/epoch_003.pt",
                                   12: run / "snapshots/epoch_012.pt"}
    assert list(list_snapshots(run)) == [0, 3, 12]
    assert list_snapshots(tmp_path / "missing") == {}
    (run / "config.json").write_text("{}")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "metrics.jsonl").write_text("")
    (tmp_path / "not-a-run").mkdir()
    assert list_runs(tmp_path) == [tmp_path / "a", tmp_path / "b"]
    assert list_runs(tmp_path / "nowhere") == []


def test_run_dir_snapshot_path_and_appended_lines(tmp_path, monkeypatch):
    assert run_dir_for(TrainConfig(name="x", runs_dir=str(tmp_path))) == tmp_path / "x"
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert run_dir_for(TrainConfig(name="x")) == tmp_path / "elsewhere" / "x"
    assert snapshot_path(tmp_path / "x", 7) == tmp_path / "x" / "snapshots" / "epoch_007.pt"
    append_line(tmp_path / "metrics.jsonl", '{"epoch": 1}')
    append_line(tmp_path / "metrics.jsonl", '{"epoch": 2}')
    assert read_metrics(tmp_path) == [{"epoch": 1}, {"epoch": 2}]
