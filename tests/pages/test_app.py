"""AppTest for the app shell (streamlit_app.py), the Kernels page and the Activations page.

Each test checks that the page runs without an exception, that its main widgets exist, and that
moving a widget changes what is shown. The app is driven through streamlit_app.py, as users see it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 180  # the first run builds and runs the 61M-parameter model on a slow shared CPU


@pytest.fixture(autouse=True)
def _fresh_machine(tmp_path, monkeypatch):
    # No training runs, no bundled reference, no torchvision weights: the default is the untrained paper model.
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ALEXNET_DATA_ROOT", str(tmp_path / "no-data"))
    monkeypatch.setattr("alexnet.reference.REFERENCE_DIR", tmp_path / "no-reference")
    monkeypatch.setattr("alexnet.pretrained.torchvision_weights_available", lambda *a, **k: False)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # pages/common.py sets the dashboard's thread count on import


def app() -> AppTest:
    return AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)


def assert_ran(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def image_urls(at: AppTest) -> list[str]:
    return [url for image in at.get("image") for url in image.value]


def image_captions(at: AppTest) -> list[str]:
    return [caption for image in at.get("image") for caption in image.captions]


def subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def on_activations() -> AppTest:
    at = app()
    at.run()
    at.switch_page("pages/activations.py").run()
    assert_ran(at)
    return at


@pytest.mark.slow
def test_shell_starts_on_a_fresh_machine_with_the_untrained_default():
    at = app().run()
    assert_ran(at)
    model = at.sidebar.selectbox(key="model_choice")
    assert model.value == "paper-init"
    assert model.options[0] == "Paper AlexNet, untrained"
    assert model.options[-1] == "Upload a checkpoint ..."
    assert at.title[0].value == "Kernels"  # the default page
    assert any("Untrained model" in info.value for info in at.info)  # the plain notice


@pytest.mark.slow
def test_bad_checkpoint_upload_is_refused_and_the_page_keeps_working():
    at = app().run()
    at.sidebar.selectbox(key="model_choice").set_value("__upload__").run()
    assert_ran(at)
    at.sidebar.file_uploader(key="checkpoint_upload").upload("weights.pt", b"\x00not a checkpoint" * 50).run()
    assert_ran(at)
    errors = [e.value for e in at.sidebar.error]
    assert errors and "Checkpoint refused" in errors[0] and "weights.pt" in errors[0]
    assert at.title[0].value == "Kernels" and image_urls(at)  # still showing the default model


@pytest.mark.slow
def test_corrupt_run_checkpoint_is_reported_and_the_default_model_used(tmp_path):
    run = tmp_path / "runs" / "broken"
    run.mkdir(parents=True)
    (run / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated zip")
    at = app().run()
    model = at.sidebar.selectbox(key="model_choice")
    assert model.options[1] == "Run broken (latest checkpoint)"
    model.set_value("run:broken").run()
    assert_ran(at)
    assert any("Could not load Run broken" in e.value and "checkpoint.pt" in e.value for e in at.sidebar.error)
    assert "conv1: 48 + 48 kernels, two towers" in subheaders(at)  # the default model is shown instead


@pytest.mark.slow
def test_kernels_page_widgets_change_the_pictures():
    at = app().run()
    assert_ran(at)
    assert at.selectbox(key="kernels_layer").options == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    assert "conv1: 48 + 48 kernels, two towers" in subheaders(at)
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) >= {"Tower 1: mean colour specificity", "Tower 2: mean colour specificity"}
    grid_before = image_urls(at)[0]
    at.radio(key="kernels_contrast").set_value("shared").run()
    assert_ran(at)
    assert image_urls(at)[0] != grid_before

    kernel_metrics = {m.label: m.value for m in at.metric}
    at.number_input(key="kernels_conv1_index").set_value(50).run()
    assert_ran(at)
    assert {m.label: m.value for m in at.metric}["Colour specificity"] != kernel_metrics["Colour specificity"]
    assert any("Tower 2" in c.value for c in at.caption)  # kernel 50 is in the second tower

    chart_before = at.get("plotly_chart")[0].proto.spec
    at.radio(key="kernels_score").set_value("orientation_selectivity").run()
    assert at.get("plotly_chart")[0].proto.spec != chart_before

    at.selectbox(key="kernels_layer").set_value("conv3").run()
    assert_ran(at)
    assert "conv3: 384 kernels of 3x3x256" in subheaders(at)
    slices_before = image_urls(at)[0]
    at.slider(key="kernels_conv3_in").set_value(7).run()
    assert image_urls(at)[0] != slices_before
    at.radio(key="kernels_deep_view").set_value("One kernel across its input channels").run()
    assert_ran(at)
    assert at.slider(key="kernels_conv3_out").max == 383


@pytest.mark.slow
def test_activations_page_shows_every_layer_and_reacts_to_widgets():
    at = on_activations()
    assert at.radio(key="activations_image_source").value == "Sample images"
    assert at.selectbox(key="activations_sample").value == "cat"
    assert "conv1 + ReLU: 96 feature maps of 55x55" in subheaders(at)
    assert "untrained" in " ".join(c.value for c in at.caption)  # no predictions from an untrained model
    layer = at.selectbox(key="activations_layer")
    assert layer.options == [
        "conv1 (before activation)", "conv1 + ReLU", "conv1 after LRN", "conv1 after pooling",
        "conv2 (before activation)", "conv2 + ReLU", "conv2 after LRN", "conv2 after pooling",
        "conv3 (before activation)", "conv3 + ReLU", "conv4 (before activation)", "conv4 + ReLU",
        "conv5 (before activation)", "conv5 + ReLU", "conv5 after pooling",
    ]  # fmt: skip

    grid = image_urls(at)[2]  # original, network input, then the layer grid
    at.radio(key="activations_normalise").set_value("shared").run()
    assert image_urls(at)[2] != grid

    at.selectbox(key="activations_layer").set_value("pool2").run()
    assert_ran(at)
    assert "conv2 after pooling: 256 feature maps of 13x13" in subheaders(at)
    assert "conv2 kernel 0: its 48 input slices of 5x5 (blue < 0 < red)" in image_captions(at)

    before = {m.label: m.value for m in at.metric}
    at.number_input(key="activations_channel").set_value(200).run()
    assert_ran(at)
    assert {m.label: m.value for m in at.metric} != before

    # A layer with fewer channels than the chosen one: the channel is clamped, not an error.
    at.selectbox(key="activations_layer").set_value("lrn1").run()
    assert_ran(at)
    assert at.number_input(key="activations_channel").value == 95

    at.selectbox(key="activations_sample").set_value("coffee").run()
    assert_ran(at)
    assert image_captions(at)[0] == "coffee (432x288)"


@pytest.mark.slow
def test_activations_upload_good_and_bad_images():
    at = on_activations()
    at.radio(key="activations_image_source").set_value("Upload").run()
    assert_ran(at)
    stripes = np.zeros((240, 320, 3), np.uint8)
    stripes[:, ::8] = 255
    at.file_uploader(key="activations_upload").upload("stripes.png", png_bytes(stripes), "image/png").run()
    assert_ran(at)
    assert image_captions(at)[0] == "stripes.png (320x240)"
    shown = image_urls(at)

    at.file_uploader(key="activations_upload").set_value(("broken.jpg", b"\xff\xd8\xff\xe0 truncated", "image/jpeg"))
    at.run()
    assert_ran(at)
    assert any("broken.jpg was not used" in e.value for e in at.error)
    assert image_urls(at)[:3] == shown[:3]  # the previous image stays, the page keeps working
    assert "conv1 + ReLU: 96 feature maps of 55x55" in subheaders(at)

    at.radio(key="activations_image_source").set_value("Camera").run()
    assert_ran(at)
    assert at.camera_input(key="activations_camera").label == "Take a picture"
    assert image_captions(at)[0] == "stripes.png (320x240)"  # until a picture is taken


@pytest.mark.slow
def test_image_choice_is_shared_across_pages_but_not_across_sessions():
    first = on_activations()
    first.selectbox(key="activations_sample").set_value("rocket").run()
    first.switch_page("pages/kernels.py").run()
    first.switch_page("pages/activations.py").run()
    assert first.selectbox(key="activations_sample").value == "rocket"  # kept across pages
    second = on_activations()
    assert second.selectbox(key="activations_sample").value == "cat"  # another user, own choice


@pytest.mark.slow
def test_top5_predictions_when_the_model_has_a_classifier(monkeypatch):
    # Stand in torchvision's AlexNet (random weights: no download possible here) for a trained classifier.
    from torchvision.models import alexnet

    monkeypatch.setattr("alexnet.pretrained.torchvision_weights_available", lambda *a, **k: True)
    monkeypatch.setattr("alexnet.pretrained.load_torchvision_alexnet", lambda *a, **k: alexnet(weights=None).eval())
    at = app().run()
    at.sidebar.selectbox(key="model_choice").set_value("torchvision").run()
    at.switch_page("pages/activations.py").run()
    assert_ran(at)
    table = at.dataframe[0].value
    assert list(table.columns) == ["class", "probability"] and len(table) == 5
    assert table["probability"].is_monotonic_decreasing
    assert "conv1 + ReLU: 64 feature maps of 56x56" in subheaders(at)  # torchvision's conv1 pads by 2
    at.switch_page("pages/kernels.py").run()
    assert_ran(at)
    assert "conv1: 64 kernels of 11x11x3" in subheaders(at)  # one tower: no per-tower metrics
    assert not any(m.label.startswith("Tower") for m in at.metric)


@pytest.mark.slow
def test_pages_leave_the_shared_model_untouched():
    at = on_activations()
    for layer in ("conv1", "lrn2", "pool5"):
        at.selectbox(key="activations_layer").set_value(layer).run()
    assert_ran(at)
    from explorer.models import ModelOption
    from pages.common import _load_option

    shared = _load_option(ModelOption("paper-init", "x", "paper-init")).model
    assert not shared.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in shared.modules())
    assert not any(p.requires_grad for p in shared.parameters())


@pytest.mark.slow
def test_activations_page_draws_every_layer_once_per_image(monkeypatch):
    # "All grids ready" on upload: every layer's grid is drawn in the first run; a switch draws nothing.
    import pages.common as common

    for cached in (common._layer_grid, common._layer_view, common.precompute_layer_views):
        cached.clear()
    drawn: list[tuple[int, ...]] = []
    draw = common._draw_layer
    monkeypatch.setattr(common, "_draw_layer", lambda act, normalise: drawn.append(act.shape) or draw(act, normalise))
    at = on_activations()
    assert len(drawn) == 15 and drawn[0] == (96, 55, 55) and drawn[-1] == (256, 6, 6)
    at.selectbox(key="activations_layer").set_value("pool5").run()
    assert_ran(at)
    assert "conv5 after pooling: 256 feature maps of 6x6" in subheaders(at)
    assert len(drawn) == 15
    at.radio(key="activations_normalise").set_value("shared").run()
    assert_ran(at)
    assert len(drawn) == 30  # the other contrast: every layer again
