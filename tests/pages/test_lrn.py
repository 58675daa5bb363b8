"""AppTest for the LRN page: its settings change the statistics, and Reset brings the paper's back."""

from __future__ import annotations

import pytest

from tests.pages.conftest import assert_ran, images, metrics, page


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
    assert at.selectbox(key="lrn_downstream_layer").options == [
        "relu3 (conv3 + ReLU)", "relu4 (conv4 + ReLU)", "relu5 (conv5 + ReLU)"]
    captions = set(images(at))
    # The layers named as on the Activations page (explorer.activations.feature_stages).
    assert {"relu1 (conv1 + ReLU), before LRN", "lrn1 (conv1 after LRN)", "lrn2 (conv2 after LRN)",
            "relu3 (conv3 + ReLU), with LRN"} <= captions
    assert [t.label for t in at.tabs] == ["What it does to conv1", "What it does to conv2", "Downstream",
                                          "Response curve"]
    assert any(c.value.startswith("What to notice") for c in at.caption)
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
