"""AppTest for the LRN, ReLU vs tanh, Training and Architecture pages: they run, their widgets exist,
and moving a widget changes what the page shows."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from alexnet import relu_tanh
from alexnet.cifar10 import TORCHVISION_FOLDER, TORCHVISION_TEST, TORCHVISION_TRAIN, load_cifar10
from tests.explorer.test_curves import make_run_folder

PAGES = Path(__file__).resolve().parents[2] / "pages"
TIMEOUT = 180  # first runs build a 62M-parameter model on a slow shared CPU


def page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES / name), default_timeout=TIMEOUT)


def assert_ran(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def images(at: AppTest) -> dict[str, str]:
    """{caption: media URL} of the page's st.image elements; the URL names a hash of the picture's bytes."""
    return {img.caption: img.url for element in at.get("image") for img in element.proto.imgs}


@pytest.fixture(autouse=True)
def _no_runs_no_reference(tmp_path, monkeypatch):
    # Every page test starts with an empty runs folder and no bundled reference model, so the
    # sidebar's default is the untrained paper model whatever is on this machine.
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr("alexnet.reference.REFERENCE_DIR", tmp_path / "no-reference")


# --- LRN -----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_lrn_page_sliders_change_the_statistics():
    at = page("lrn.py")
    at.run()
    assert_ran(at)
    for key in ("lrn_k", "lrn_n", "lrn_beta"):
        assert at.slider(key=key) is not None
    assert at.select_slider(key="lrn_alpha").value == 1e-4
    assert at.radio(key="lrn_convention").value == "cuda-convnet"
    assert at.checkbox(key="lrn_within_towers").value is True  # the default model has two towers
    before = metrics(at)
    assert "positions whose winner changes" in before
    assert at.selectbox(key="lrn_downstream_layer").options == ["conv3", "conv4", "conv5"]
    captions = set(images(at))
    assert {"conv1 after LRN", "conv2 after LRN", "conv3 (after ReLU) with LRN"} <= captions
    # The default model is untrained: the page says so.
    assert any("Untrained" in info.value for info in at.info)

    assert any("Effective alpha" in c.value and "**2e-05**" in c.value for c in at.caption)
    at.radio(key="lrn_convention").set_value("paper").run()
    assert_ran(at)
    assert any("Effective alpha" in c.value and "**0.0001**" in c.value for c in at.caption)
    assert metrics(at)["positions whose winner changes"] is not None

    at.slider(key="lrn_k").set_value(0.5).run()
    assert_ran(at)
    after = metrics(at)
    assert after["mean gain (after / before)"] != before["mean gain (after / before)"]

    # Reset puts the paper's values back (and with them the first statistics).
    at.button[0].click().run()
    assert at.slider(key="lrn_k").value == 2.0
    assert metrics(at)["mean gain (after / before)"] == before["mean gain (after / before)"]


# --- Training ------------------------------------------------------------------------------------------


def test_training_page_without_runs_says_so():
    at = page("training.py")
    at.run()
    assert_ran(at)
    assert any("No training runs found" in info.value for info in at.info)


@pytest.mark.slow
def test_training_epoch_slider_changes_the_shown_epoch(tmp_path):
    make_run_folder(tmp_path / "runs", "tiny", epochs=3, snapshot_epochs=(0, 2))
    at = page("training.py")
    at.run()
    assert_ran(at)
    assert at.selectbox(key="training_run").value == "run tiny"
    assert metrics(at)["epochs completed"] == "3"
    # The snapshot's conv1 in numbers: a share in percent and a specificity in [0, 1].
    assert metrics(at)["oriented kernels"].endswith("%")
    assert 0 <= float(metrics(at)["mean colour specificity"]) <= 1
    slider = at.select_slider(key="training_epoch")
    assert list(slider.options) == ["0", "2"] and slider.value == 2
    assert any("Showing epoch 2" in m.value for m in at.markdown)
    assert any("At the end of epoch 2" in c.value for c in at.caption)
    shown = images(at)
    assert sorted(c.split(":")[0] for c in shown) == ["conv1 + ReLU after epoch 2", "conv1 kernels after epoch 2"]

    at.select_slider(key="training_epoch").set_value(0).run()
    assert_ran(at)
    assert any("Showing epoch 0" in m.value for m in at.markdown)
    # the kernels and the activations are drawn again from the epoch-0 weights: new pictures
    again = images(at)
    assert sorted(c.split(":")[0] for c in again) == ["conv1 + ReLU after epoch 0", "conv1 kernels after epoch 0"]
    assert set(again.values()).isdisjoint(shown.values())
    # the epoch-0 snapshot holds initial weights, and the page says so
    assert any("Untrained: this checkpoint holds the initial weights" in i.value for i in at.info)


# --- Architecture --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_architecture_page_variant_choice_changes_the_table():
    at = page("architecture.py")
    at.run()
    assert_ran(at)
    assert metrics(at)["parameters"] == "62,378,344"
    assert len(at.dataframe) == 2 and len(at.table) == 1  # layer table, variants overview; differences
    at.selectbox(key="arch_variant").set_value("torchvision AlexNet").run()
    assert_ran(at)
    assert metrics(at)["parameters"] == "61,100,840"
    at.selectbox(key="arch_variant").set_value("paper, two towers").run()
    assert metrics(at)["parameters"] == "60,965,224"
    differences = at.table[0].value
    assert "parameters (1000 classes)" in set(differences["topic"])
    assert "62,378,344 (two towers: 60,965,224)" in set(differences["paper (this project)"])


# --- ReLU vs tanh --------------------------------------------------------------------------------------


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
    root = _write_tiny_cifar(tmp_path / "data" / "cifar10")
    monkeypatch.setenv("ALEXNET_DATA_ROOT", str(root.parent))
    return root


def test_relu_tanh_page_without_a_committed_result(tmp_path, monkeypatch):
    monkeypatch.setattr(relu_tanh, "RESULTS_DIR", tmp_path / "no-results")
    at = page("relu_tanh.py")
    at.run()
    assert_ran(at)
    assert any("No committed result yet" in info.value for info in at.info)
    assert at.button(key="FormSubmitter:relu_tanh_quick-Run") is not None


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
    assert "tanh / ReLU epochs to 25% training error" in metrics(at)
    assert at.multiselect(key="relu_tanh_overlay").value == ["committed result"]
    runs_table = at.dataframe[0].value
    assert set(runs_table["activation"]) == {"relu", "tanh"}

    # The live run: the smallest settings, on the tiny data set (ALEXNET_DATA_ROOT).
    at.select_slider(key="relu_tanh_images").set_value(500)
    at.slider(key="relu_tanh_epochs").set_value(1)
    at.button(key="FormSubmitter:relu_tanh_quick-Run").click().run()
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
    assert (committed_dir / "figure1_tanh-lr-0.01.png").is_file()
    monkeypatch.setattr(relu_tanh, "RESULTS_DIR", committed_dir)
    at = page("relu_tanh.py")
    at.run()
    assert_ran(at)
    conditions = at.dataframe[2].value  # runs, sweep, then the conditions table
    assert list(conditions["condition"]) == ["baseline", "baseline", "tanh-lr-0.01", "tanh-lr-0.01"]
    assert set(conditions["measure"]) == {"running", "post_epoch"}
    assert list(conditions["tanh_lr"])[2:] == [0.01, 0.01]
    at.selectbox(key="relu_tanh_condition").select("tanh-lr-0.01").run()
    at.radio(key="relu_tanh_measure").set_value("post_epoch").run()
    assert_ran(at)
    assert not at.exception
