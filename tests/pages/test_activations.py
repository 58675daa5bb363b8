"""AppTest for the Activations page: every layer, the widgets, uploads, and drawing each grid once."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.pages.conftest import (
    assert_ran,
    clickable_pictures,
    image_captions,
    image_urls,
    metrics,
    on_activations,
    subheaders,
)
from tests.pages.real_data import chart, chart_keys, reference, with_data  # noqa: F401 (fixtures)


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.slow
def test_activations_page_shows_every_layer_and_reacts_to_widgets():
    at = on_activations()
    assert at.radio(key="activations_image_source").value == "Sample images"
    assert at.selectbox(key="activations_sample").value == "cat"
    assert "relu1 (conv1 + ReLU): 96 feature maps of 55x55" in subheaders(at)
    assert "untrained" in " ".join(c.value for c in at.caption)  # no predictions from an untrained model
    layer = at.selectbox(key="activations_layer")
    assert layer.options == [
        "conv1 (before activation)", "relu1 (conv1 + ReLU)", "lrn1 (conv1 after LRN)", "pool1 (conv1 after pooling)",
        "conv2 (before activation)", "relu2 (conv2 + ReLU)", "lrn2 (conv2 after LRN)", "pool2 (conv2 after pooling)",
        "conv3 (before activation)", "relu3 (conv3 + ReLU)", "conv4 (before activation)", "relu4 (conv4 + ReLU)",
        "conv5 (before activation)", "relu5 (conv5 + ReLU)", "pool5 (conv5 after pooling)",
        "relu6 (fc6 + ReLU)", "relu7 (fc7 + ReLU)", "fc8 (class scores, before softmax)",
    ]  # fmt: skip

    grid = clickable_pictures(at)["activations_grid_click"]  # the layer's grid: click a map to pick its channel
    assert any("Click a map to look at that channel below" in c.value for c in at.caption)
    at.radio(key="activations_normalise").set_value("shared").run()
    assert clickable_pictures(at)["activations_grid_click"] != grid

    at.selectbox(key="activations_layer").set_value("pool2").run()
    assert_ran(at)
    assert "pool2 (conv2 after pooling): 256 feature maps of 13x13" in subheaders(at)
    strongest = at.number_input(key="activations_channel").value  # the image's most active channel, not 0
    assert at.pills(key="activations_top_pick").options[0] == f"ch {strongest}"
    assert f"conv2 kernel {strongest}: its 48 input slices of 5x5 (blue < 0 < red)" in image_captions(at)

    # The per-channel chart is drawn only when asked for (it costs the browser about 0.1 s a rerun).
    assert "activations_stats_chart" not in chart_keys(at)
    at.toggle(key="activations_show_stats").set_value(True).run()
    assert_ran(at)
    assert "activations_stats_chart" in chart_keys(at)

    before = metrics(at)
    other = 200 if strongest != 200 else 201
    at.number_input(key="activations_channel").set_value(other).run()
    assert_ran(at)
    assert metrics(at) != before

    # Another layer: its own most active channel, within its range.
    at.selectbox(key="activations_layer").set_value("lrn1").run()
    assert_ran(at)
    assert 0 <= at.number_input(key="activations_channel").value < 96

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
    assert "relu1 (conv1 + ReLU): 96 feature maps of 55x55" in subheaders(at)

    at.radio(key="activations_image_source").set_value("Camera").run()
    assert_ran(at)
    assert at.camera_input(key="activations_camera").label == "Take a picture"
    assert image_captions(at)[0] == "stripes.png (320x240)"  # until a picture is taken


@pytest.mark.slow
def test_activations_page_draws_every_layer_once_per_image(monkeypatch):
    # "All grids ready" on upload: every layer's grid is drawn in the first run; a switch draws nothing.
    import pages.caching as caching

    for cached in (caching._layer_grid, caching._layer_view, caching.precompute_layer_views):
        cached.clear()
    drawn: list[tuple[int, ...]] = []
    draw = caching.draw_layer
    monkeypatch.setattr(caching, "draw_layer", lambda act, normalise: drawn.append(act.shape) or draw(act, normalise))
    at = on_activations()
    assert len(drawn) == 15 and drawn[0] == (96, 55, 55) and drawn[-1] == (256, 6, 6)
    at.selectbox(key="activations_layer").set_value("pool5").run()
    assert_ran(at)
    assert "pool5 (conv5 after pooling): 256 feature maps of 6x6" in subheaders(at)
    assert len(drawn) == 15
    at.radio(key="activations_normalise").set_value("shared").run()
    assert_ran(at)
    assert len(drawn) == 30  # the other contrast: every layer again


@pytest.mark.slow
def test_fully_connected_layers_of_the_untrained_model():
    at = on_activations()
    at.selectbox(key="activations_layer").set_value("relu7").run()
    assert_ran(at)
    assert subheaders(at)[0] == "relu7 (fc7 + ReLU): 4,096 units"
    assert "Active units (above 0)" in metrics(at)
    assert any("4,096 units of relu7 (fc7 + ReLU)" in caption for caption in image_captions(at))
    assert "activations_units_chart" in chart_keys(at)
    at.selectbox(key="activations_layer").set_value("fc8").run()
    assert_ran(at)
    assert subheaders(at)[0] == "fc8: 1,000 class scores (before softmax)"
    assert len(chart(at, "activations_fc8")["y"]) == 20  # the 20 highest of 1000 classes
    assert any("the 20 highest of 1000 classes" in c.value for c in at.caption)
    at.selectbox(key="activations_layer").set_value("lrn2").run()
    assert_ran(at)
    assert "lrn2 (conv2 after LRN): 256 feature maps of 27x27" in subheaders(at)


@pytest.mark.slow
@pytest.mark.usefixtures("reference", "with_data")
def test_validation_images_are_offered_with_their_true_class():
    at = on_activations()
    samples = at.selectbox(key="activations_sample").options
    assert samples[:4] == ["astronaut", "cat", "coffee", "rocket"]
    assert samples[4:6] == ["val: tench 1", "val: tench 2"] and len(samples) == 4 + 2 * 10
    known = [c.value for c in at.caption if c.value.startswith("This model knows only these 10 classes (Imagenette)")]
    assert known and "tench, English springer" in known[0] and "parachute" in known[0]
    top5 = chart(at, "activations_top5")
    assert len(top5["y"]) == 5 and top5["orientation"] == "h"
    assert top5["x"] == sorted(top5["x"], reverse=True)

    at.selectbox(key="activations_sample").set_value("val: church 1").run()
    assert_ran(at)
    assert "(true class: church, in red)" in at.markdown[0].value
    top5 = chart(at, "activations_top5")
    red = [name for name, colour in zip(top5["y"], top5["marker"]["color"], strict=True) if colour == "#d62728"]
    assert red == (["church"] if "church" in top5["y"] else [])  # the true class, when among the five
    at.selectbox(key="activations_layer").set_value("fc8").run()
    assert_ran(at)
    assert sorted(chart(at, "activations_fc8")["y"]) == sorted(known[0].split(": ", 1)[1].split(". ")[0].split(", "))


@pytest.mark.slow
@pytest.mark.usefixtures("reference")
def test_without_the_data_folder_the_picker_says_what_is_missing():
    at = on_activations()
    assert not any(name.startswith("val:") for name in at.selectbox(key="activations_sample").options)
    missing = [c.value for c in at.caption if "No data folder at" in c.value]
    assert len(missing) == 2 and all("ALEXNET_DATA_ROOT" in m for m in missing)  # the picker, dataset examples
    assert any(m.startswith("Dataset examples need the training images: No data folder") for m in missing)
    assert "activations_top5" in chart_keys(at)  # the rest of the page works


@pytest.mark.slow
def test_top_channel_strip_position_sliders_and_feature_visualisation(monkeypatch):
    import pages.caching as caching

    monkeypatch.setattr(caching, "FEATURE_VIS_STEPS", 3)
    at = on_activations()
    pills = at.pills(key="activations_top_pick")
    strongest = at.number_input(key="activations_channel").value
    assert pills.value == strongest and len(pills.options) == 12
    second = int(pills.options[1].split()[1])
    pills.set_value(second).run()
    assert_ran(at)
    assert at.number_input(key="activations_channel").value == second
    assert any(f"relu1, channel {second} over the photo" in c.value for c in at.caption)

    shown = clickable_pictures(at)["activations_photo_click"]
    row = at.slider(key="activations_row")
    row.set_value(0 if row.value else 1).run()
    assert_ran(at)
    assert clickable_pictures(at)["activations_photo_click"] != shown  # the outlined receptive field moved
    assert any("11x11 receptive field in red. Click the photo" in c.value for c in at.caption)

    assert not any("feature visualisation" in c for c in image_captions(at))
    at.button(key="activations_feature_vis").click().run()
    assert_ran(at)
    assert any(f"conv1 channel {second}: feature visualisation" in c for c in image_captions(at))
    # Without the data folder, dataset examples say what is missing in one line; the page keeps working.
    assert any(c.value.startswith("Dataset examples need the training images:") for c in at.caption)


@pytest.mark.slow
@pytest.mark.usefixtures("reference", "with_data")
def test_dataset_examples_of_the_chosen_channel_with_the_data_folder():
    import pages.dataset_caching as dataset_caching

    dataset_caching._built_indexes.clear()  # another test may have built it in this process
    at = on_activations()
    assert any("about 3 minutes" in c.value for c in at.caption)
    at.button(key="activations_build_index").click().run()
    assert_ran(at)
    channel = at.number_input(key="activations_channel").value
    captions = [c for c in image_captions(at) if c.startswith(f"conv1 channel {channel}: its top 9 of 50 images")]
    assert len(captions) == 1
    at.selectbox(key="activations_layer").set_value("relu5").run()  # the index stays for other layers
    assert_ran(at)
    assert any(c.startswith("conv5 channel") and "top 9 of 50" in c for c in image_captions(at))
    at.selectbox(key="activations_layer").set_value("relu7").run()  # fc7: the image's strongest units
    assert_ran(at)
    unit = at.pills(key="activations_unit_relu7")
    assert unit.value == int(unit.options[0].split()[1])
    assert any(c.startswith(f"fc7 unit {unit.value}: its top 9 of 50 images") for c in image_captions(at))
