"""`alexnet relu-tanh`: a quick run end to end (results.json, then the figures), and one-line errors."""

from __future__ import annotations

import math

import pytest

from alexnet.relu_tanh.results import load_results
from alexnet_cli import main


def test_cli_quick_on_generated_torchvision_folder(tmp_path, capsys):
    from tests.alexnet.data.test_cifar10 import make_torchvision_root

    make_torchvision_root(tmp_path / "data", per_batch=20)
    out = tmp_path / "out"
    code = main(["relu-tanh", "--quick", "--data-root", str(tmp_path / "data"), "--out", str(out), "--threads", "1",
                 "--max-epochs", "1", "--lr-grid", "0.01"])
    assert code == 0
    res = load_results(out / "results.json")
    assert res["command"].startswith("alexnet relu-tanh") and res["config"]["max_epochs"] == 1
    printed = capsys.readouterr().out
    assert res["data"]["train_images"] == 100 and "ratio" in printed
    # The command draws the figures after the experiment has written results.json, and says so.
    assert sorted(p.name for p in out.iterdir()) == ["figure1.png", "figure1_baseline.png", "results.json", "why.png"]
    assert f"wrote {out / 'results.json'}, {out / 'figure1.png'}, {out / 'figure1_baseline.png'}" in printed


def test_cli_missing_data_is_one_line_error(tmp_path, capsys):
    assert main(["relu-tanh", "--quick", "--data-root", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("alexnet: error: CIFAR-10 folder not found") and "\n" not in err


@pytest.mark.slow
def test_cli_quick_on_real_cifar10(shared_data, tmp_path):
    out = tmp_path / "out"
    code = main(["relu-tanh", "--quick", "--data-root", str(shared_data / "cifar10"), "--out", str(out),
                 "--threads", "1"])
    assert code == 0
    res = load_results(out / "results.json")
    assert res["data"] == {"source": str(shared_data / "cifar10"), "train_images": 2000,
                           "sweep_train_images": 1000, "test_images": 500}
    assert res["error_measure"]["post_epoch"] == (
        "pass after each epoch over a fixed subset of 1,000 of the 2,000 training images (not a full pass)")
    for r in res["runs"]:
        # Four epochs on 2,000 real images: far from 25%, but clearly below chance (90%).
        assert all(math.isfinite(e) for e in r["running_error"])
        assert min(r["post_epoch_error"]) < 0.85
    assert (out / "figure1.png").is_file()


@pytest.mark.slow
def test_cli_why_study_in_two_processes_then_merged(tmp_path, capsys, monkeypatch):
    """The why-study as COMMAND.txt runs it: two processes side by side, then one merged results file."""
    from tests.alexnet.data.test_cifar10 import make_torchvision_root

    monkeypatch.setattr("alexnet.relu_tanh.config.WHY_DIR", tmp_path / "why")  # the merge's default --out

    make_torchvision_root(tmp_path / "data", per_batch=20)
    tiny = ["--quick", "--data-root", str(tmp_path / "data"), "--threads", "1", "--max-epochs", "1"]
    grid = ["--full-grid", "relu=0.003,0.01", "tanh=0.01"]
    w1, w2, merged = tmp_path / "w1", tmp_path / "w2", tmp_path / "why"
    assert main(["relu-tanh", "--why", "--resume", *tiny, *grid, "--study", "init-x10", "relu-lr-0.001",
                 "relu-lr-0.01", "--out", str(w1)]) == 0
    assert main(["relu-tanh", "--why", "--resume", "--study-only", *tiny, *grid, "--study", "unit-variance-input",
                 "pytorch-init", "--out", str(w2)]) == 0
    first = load_results(w1 / "results.json")
    assert first["config"]["full_grid"] == [["relu", [0.003, 0.01]], ["tanh", [0.01]]]
    assert first["config"]["seeds"] == [0] and first["sweep"]["relu"]["kind"] == "full"
    assert main(["relu-tanh", "--why", "--report-only", "--merge", str(w1 / "results.json"),
                 str(w2 / "results.json")]) == 0
    res = load_results(merged / "results.json")
    assert res["status"] == "complete", res["missing_units"]
    assert [c["name"] for c in res["conditions"]] == ["unit-variance-input", "pytorch-init", "init-x10",
                                                      "relu-lr-0.001", "relu-lr-0.01"]
    uv = res["conditions"][0]
    assert uv["overrides"] == {"input_norm": "unit-variance", "init": "normal-0.01"}
    assert all("mechanism" in r for c in res["conditions"] for r in c["runs"])
    assert (merged / "why.png").is_file() and "status complete" in capsys.readouterr().out
    assert main(["relu-tanh", "--full-grid", "tanh=fast", *tiny]) == 2  # a one-line error, no traceback
