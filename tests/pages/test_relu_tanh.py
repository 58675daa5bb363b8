"""AppTest for the ReLU vs tanh page: without a result, with a committed one plus a live run, conditions, why."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from alexnet import relu_tanh
from alexnet.data.cifar10 import TORCHVISION_FOLDER, TORCHVISION_TEST, TORCHVISION_TRAIN, load_cifar10
from explorer.figure1 import write_figures
from tests.alexnet.relu_tanh.synthetic import synthetic_why_results
from tests.pages.conftest import assert_ran, metrics, page, subheaders


def _write_tiny_cifar(root: Path, per_batch: int = 120) -> Path:
    """A torchvision-layout CIFAR-10 with a few random images per batch (enough to exercise the page)."""
    folder = root / TORCHVISION_FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in (*TORCHVISION_TRAIN, TORCHVISION_TEST):
        batch = {"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, per_batch).tolist()}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return root


TINY = dict(train_images=500, test_images=100, eval_train_images=100, sweep_train_images=200, max_epochs=1,
            threads=1)


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    # Requested after conftest's autouse _fresh_machine, so this data root wins.
    root = _write_tiny_cifar(tmp_path / "data" / "cifar10")
    monkeypatch.setenv("ALEXNET_DATA_ROOT", str(root.parent))
    return root


@pytest.fixture(autouse=True)
def _no_why_results(tmp_path, monkeypatch):
    # The why panel reads alexnet/results/relu_tanh/why/ of this checkout unless told otherwise: tests tell it.
    monkeypatch.setattr(relu_tanh, "WHY_DIR", tmp_path / "no-why")


def test_relu_tanh_page_without_a_committed_result(tmp_path, monkeypatch):
    monkeypatch.setattr(relu_tanh, "RESULTS_DIR", tmp_path / "no-results")
    at = page("relu_tanh.py")
    at.run()
    assert_ran(at)
    assert any("No committed result yet" in info.value for info in at.info)
    # No CIFAR-10 on this machine: Run is off, and the page says why and where it looked.
    assert at.button(key="relu_tanh_run").disabled
    assert any("CIFAR-10 is not on this machine" in info.value for info in at.info)
    estimate = next(c.value for c in at.caption if "Estimated time: at most about" in c.value)
    at.slider(key="relu_tanh_epochs").set_value(10).run()
    assert next(c.value for c in at.caption if "Estimated time" in c.value) != estimate  # it follows the settings
    assert any("Tiny runs are noisy" in w.value for w in at.warning)
    # The why panel says which runs are missing and the command that makes them.
    why = next(info.value for info in at.info if "Missing for this panel" in info.value)
    assert "current recipe: relu at 0.001, 0.003, 0.01; tanh at 0.003, 0.01, 0.03" in why
    assert "`alexnet relu-tanh --why --resume`" in why and "unit-variance input" in why


def test_relu_tanh_page_why_panel_draws_ratios_saturation_and_the_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(relu_tanh, "RESULTS_DIR", tmp_path / "no-results")
    why_dir = tmp_path / "why"
    why_dir.mkdir()
    (why_dir / "results.json").write_text(json.dumps(synthetic_why_results()))
    monkeypatch.setattr(relu_tanh, "WHY_DIR", why_dir)
    at = page("relu_tanh.py")
    at.run()
    assert_ran(at)
    assert "Why tanh is slow here" in subheaders(at)
    assert not any("Missing for this panel" in info.value for info in at.info)
    assert any("the paper's 6x is recipe-dependent" in m.value for m in at.markdown)
    table = at.dataframe[0].value
    assert list(table["label"]) == ["current recipe", "unit-variance input", "PyTorch init", "init x10",
                                    "ReLU at lr 0.001", "ReLU at lr 0.01"]
    assert list(table["ratio"]) == [7.0, 1.5, 5.5, 4.0, 3.5, 0.667]
    assert list(table["bound"]) == ["", "", "at least", "", "", "at most"]
    # A partial file: the panel draws what is there and lists what is not.
    partial = synthetic_why_results()
    partial["conditions"] = partial["conditions"][:1]
    partial["missing_units"] = ["init-x10|run|tanh|0|0.03"]
    (why_dir / "results.json").write_text(json.dumps(partial))
    at = page("relu_tanh.py")
    at.run()
    assert_ran(at)
    why = next(info.value for info in at.info if "Missing for this panel" in info.value)
    assert "PyTorch init: not studied in this file" in why and "init x10: tanh at lr 0.03 (seed 0)" in why


@pytest.mark.slow
def test_relu_tanh_page_shows_the_committed_result_and_overlays_a_live_run(tmp_path, monkeypatch, tiny_cifar):
    # A genuine results file, made by the experiment itself on the tiny data set.
    committed_dir = tmp_path / "results"
    relu_tanh.run_experiment(relu_tanh.ReluTanhConfig.quick(**TINY), data=load_cifar10(tiny_cifar),
                             out_dir=committed_dir, command="test")
    monkeypatch.setattr(relu_tanh, "RESULTS_DIR", committed_dir)
    at = page("relu_tanh.py")
    at.run()
    assert_ran(at)
    assert "tanh / ReLU epochs to 25%" in metrics(at)
    assert at.multiselect(key="relu_tanh_overlay").value == ["committed result"]
    runs_table = at.dataframe[0].value
    assert set(runs_table["activation"]) == {"relu", "tanh"}

    # The live run: the smallest settings, on the tiny data set (ALEXNET_DATA_ROOT).
    at.select_slider(key="relu_tanh_images").set_value(500)
    at.slider(key="relu_tanh_epochs").set_value(1)
    estimate = next(c.value for c in at.caption if "Estimated time" in c.value)
    at.slider(key="relu_tanh_seeds").set_value(2).run()
    assert next(c.value for c in at.caption if "Estimated time" in c.value) != estimate  # it follows the settings
    at.slider(key="relu_tanh_seeds").set_value(1).run()
    assert not at.button(key="relu_tanh_run").disabled
    at.button(key="relu_tanh_run").click().run()
    assert_ran(at)
    assert not at.error, [e.value for e in at.error]
    assert any("Finished session run 1" in s.value for s in at.success)
    overlay = at.multiselect(key="relu_tanh_overlay")
    assert overlay.value == ["committed result", "session run 1 (500 images, 1 epochs, 1 seed(s))"]
    # The session run stays for the session: a rerun still offers it.
    at.run()
    assert len(at.multiselect(key="relu_tanh_overlay").options) == 2


def test_relu_tanh_page_shows_what_moves_the_ratio(tmp_path, monkeypatch, tiny_cifar):
    committed_dir = tmp_path / "results"
    config = relu_tanh.ReluTanhConfig.quick(**TINY, conditions=("tanh-lr-0.01",))
    relu_tanh.run_experiment(config, data=load_cifar10(tiny_cifar), out_dir=committed_dir, command="test")
    write_figures(relu_tanh.load_results(committed_dir / "results.json"), committed_dir)
    assert (committed_dir / "figure1_tanh-lr-0.01.png").is_file()
    monkeypatch.setattr(relu_tanh, "RESULTS_DIR", committed_dir)
    at = page("relu_tanh.py")
    at.run()
    assert_ran(at)
    assert at.tabs[0].label == "What moves the ratio"
    conditions = at.dataframe[0].value  # the conditions tab comes first, then runs and sweep
    assert list(conditions["condition"]) == ["baseline", "baseline", "tanh-lr-0.01", "tanh-lr-0.01"]
    assert set(conditions["measure"]) == {"running", "post_epoch"}
    assert list(conditions["tanh_lr"])[2:] == [0.01, 0.01]
    at.selectbox(key="relu_tanh_condition").select("tanh-lr-0.01").run()
    at.radio(key="relu_tanh_measure").set_value("post_epoch").run()
    assert_ran(at)
    assert not at.exception


def test_relu_tanh_page_leads_with_the_best_supported_result(monkeypatch):
    # The checkout's committed results.json: tanh-lr-0.01 is where both reached 25% in all three seeds.
    monkeypatch.setattr(relu_tanh, "WHY_DIR", relu_tanh.RESULTS_DIR / "why")  # and its committed why-study
    at = page("relu_tanh.py")
    at.run()
    assert_ran(at)
    assert metrics(at)["tanh / ReLU epochs to 25%"] == "7.1x"
    headline = next(m for m in at.metric if m.label == "tanh / ReLU epochs to 25%")
    assert headline.proto.delta == "paper: about 6x"
    assert any("What to notice" in c.value for c in at.caption)
    assert [t.label for t in at.tabs] == ["What moves the ratio", "Sweep and runs", "Why tanh is slow",
                                          "Run it yourself"]
    # This page trains its own networks: no notice about the sidebar's (untrained) model.
    assert not any("Untrained" in info.value for info in at.info)

    # The checkout's committed why-study: its conclusion qualifies the headline, next to it.
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("But: With unit-variance inputs") and "recipe-dependent" in w for w in warnings), warnings
