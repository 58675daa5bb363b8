"""AppTest for the Units page: without the data folder (one line says what is missing), with it (index, pages)."""

from __future__ import annotations

import pytest

from tests.pages.conftest import assert_ran, image_captions, subheaders
from tests.pages.real_data import on_page, reference, with_data  # noqa: F401 (fixtures)


@pytest.mark.slow
def test_units_without_the_data_folder_says_what_is_missing():
    at = on_page("units.py")
    lines = [c.value for c in at.caption if c.value.startswith("Dataset examples need the training images:")]
    assert len(lines) == 1 and "No data folder at" in lines[0] and "ALEXNET_DATA_ROOT" in lines[0]
    assert not at.button and not at.get("image")  # nothing to browse, no error


@pytest.mark.slow
@pytest.mark.usefixtures("reference", "with_data")
def test_units_builds_the_index_then_browses_pages_and_channels(monkeypatch):
    import pages.caching as caching
    import pages.dataset_caching as dataset_caching

    monkeypatch.setattr(caching, "FEATURE_VIS_STEPS", 3)
    dataset_caching._built_indexes.clear()  # another test may have built it in this process
    at = on_page("units.py")
    assert any("about 3 minutes" in c.value for c in at.caption)
    at.button(key="units_build_index").click().run()
    assert_ran(at)
    assert at.selectbox(key="units_layer").value == "conv5"
    assert subheaders(at)[:2] == ["conv5: channels 0-15 of 256", "conv5, channel 0"]
    assert len(at.get("image")) == 16 + 1  # a page of grids, then the chosen channel large
    assert image_captions(at)[-1].startswith("conv5 channel 0: its top 9 of 50 images")

    at.number_input(key="units_page").set_value(3).run()
    assert_ran(at)
    assert subheaders(at)[:2] == ["conv5: channels 32-47 of 256", "conv5, channel 32"]
    at.button(key="units_pick_40").click().run()
    assert_ran(at)
    assert at.number_input(key="units_channel").value == 40
    at.button(key="units_feature_vis").click().run()
    assert_ran(at)
    assert "conv5 channel 40: feature visualisation (optimised 128x128 image, shown 2x)" in image_captions(at)

    at.selectbox(key="units_layer").set_value("conv1").run()  # 96 channels: page and channel stay in range
    assert_ran(at)
    assert subheaders(at)[0] == "conv1: channels 32-47 of 96"
    at.selectbox(key="units_layer").set_value("fc7").run()
    assert_ran(at)
    assert any("fc units are shown by their dataset examples only" in c.value for c in at.caption)
