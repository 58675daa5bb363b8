"""AppTest for the Training page: no runs, and a run whose epoch slider changes what is shown."""

from __future__ import annotations

import pytest

from tests.explorer.test_curves import make_run_folder
from tests.pages.conftest import assert_ran, images, metrics, page


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
    assert [t.label for t in at.tabs] == ["Curves", "conv1 over training", "Activations at this epoch"]
    assert sum(c.value.startswith("What to notice") or "What to notice" in c.value for c in at.caption) >= 2
    # The snapshot's conv1 in numbers: a share in percent and a specificity in [0, 1].
    assert metrics(at)["oriented kernels"].endswith("%")
    assert 0 <= float(metrics(at)["mean colour specificity"]) <= 1
    slider = at.select_slider(key="training_epoch")
    assert list(slider.options) == ["0", "2"] and slider.value == 2
    assert any("At the end of epoch 2" in c.value for c in at.caption)
    shown = images(at)
    assert sorted(c.split(":")[0].split(" -")[0] for c in shown) == [
        "conv1 after epoch 0 (initial weights)", "conv1 after epoch 2", "relu1 (conv1 + ReLU) after epoch 2"]

    at.select_slider(key="training_epoch").set_value(0).run()
    assert_ran(at)
    # the kernels are drawn again from the epoch-0 weights; the Activations tab keeps its own epoch (its own
    # slider, so that a step reruns one tab's fragment, not the whole page)
    again = images(at)
    assert sorted(c.split(":")[0].split(" -")[0] for c in again) == [
        "conv1 after epoch 0 (initial weights)", "relu1 (conv1 + ReLU) after epoch 2"]
    at.select_slider(key="training_activations_epoch").set_value(0).run()
    assert_ran(at)
    assert "relu1 (conv1 + ReLU) after epoch 0" in [c.split(":")[0] for c in images(at)]
    # the epoch-0 snapshot holds initial weights, and the page says so
    assert any("Untrained: this checkpoint holds the initial weights" in i.value for i in at.info)


def test_training_page_shows_the_bundled_reference_conv1_at_every_epoch(tmp_path, monkeypatch):
    import torch

    from alexnet import AlexNet
    from alexnet.reference import export_reference

    model = AlexNet(num_classes=10, towers=2)
    stats = {"mean_image": torch.zeros(3, 256, 256), "eigvals": torch.ones(3), "eigvecs": torch.eye(3)}
    checkpoint = {"model": model.state_dict(), "config": model.config_dict(), "epoch": 3, "data_stats": stats}
    snapshots = {e: {k: v * (1 + e) for k, v in model.state_dict().items()} for e in range(4)}
    reference = tmp_path / "reference"
    records = "".join(f'{{"epoch": {e}, "train_loss": 1.0, "val_top1_error": 0.5, "lr": 0.01}}\n' for e in (1, 2, 3))
    export_reference(checkpoint, snapshots, records, {}, fc_scheme="int4", directory=reference)
    monkeypatch.setattr("alexnet.reference.REFERENCE_DIR", reference)
    at = page("training.py")
    at.run()
    assert_ran(at)
    assert at.selectbox(key="training_run").value == "reference model (bundled)"
    assert list(at.select_slider(key="training_epoch").options) == ["0", "1", "2", "3"]
    assert len(images(at)) == 2  # epoch 3 beside epoch 0
    assert any("conv1 alone for each epoch" in i.value for i in at.info)
    # Play: one GIF frame per saved epoch, looping
    at.button(key="training_play").click().run()
    assert_ran(at)
    gifs = [i for i in images(at) if "looping" in i]
    assert gifs == ["conv1 from epoch 0 to 3, looping (per-kernel contrast)"]
