"""AppTest for the Kernels page (the app's default page): layer, contrast, score and kernel widgets."""

from __future__ import annotations

import pytest

from tests.pages.conftest import app, assert_ran, image_urls, metrics, subheaders


@pytest.mark.slow
def test_kernels_page_widgets_change_the_pictures():
    at = app().run()
    assert_ran(at)
    assert at.selectbox(key="kernels_layer").options == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    assert "conv1: 48 + 48 kernels, two towers" in subheaders(at)
    assert [t.label for t in at.tabs] == ["All kernels", "Colour and orientation", "One kernel, enlarged"]
    assert any(c.value.startswith("What to notice") for c in at.caption)
    assert set(metrics(at)) >= {"Tower 1: mean colour specificity", "Tower 2: mean colour specificity"}
    grid_before = image_urls(at)[0]
    at.radio(key="kernels_contrast").set_value("shared").run()
    assert_ran(at)
    assert image_urls(at)[0] != grid_before

    kernel_metrics = metrics(at)
    at.number_input(key="kernels_conv1_index").set_value(50).run()
    assert_ran(at)
    assert metrics(at)["Colour specificity"] != kernel_metrics["Colour specificity"]
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
