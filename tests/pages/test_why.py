"""AppTest for the "Why this class?" page: Grad-CAM and saliency at once, occlusion on demand, another class."""

from __future__ import annotations

import pytest

from tests.pages.conftest import assert_ran, images, subheaders
from tests.pages.real_data import on_page, reference  # noqa: F401 (fixtures)


@pytest.mark.slow
@pytest.mark.usefixtures("reference")
def test_why_this_class_maps_for_the_predicted_and_another_class():
    at = on_page("why.py")
    assert subheaders(at) == ["Grad-CAM", "Saliency", "Occlusion"]
    predicted = at.selectbox(key="why_class").value
    assert at.markdown[0].value.startswith("**Predicted: ")
    shown = images(at)
    assert len(shown) == 2  # Grad-CAM, saliency; occlusion waits for its button
    assert any("passes; a progress bar follows them" in c.value for c in at.caption)

    at.segmented_control(key="why_stride").set_value(32).run()
    at.button(key="why_run_occlusion").click().run()
    assert_ran(at)
    assert len(images(at)) == 3
    timing = [c.value for c in at.caption if c.value.startswith("64 occluded copies in")]
    assert len(timing) == 1

    at.slider(key="why_opacity").set_value(0.9).run()  # redraws the three maps, computes nothing
    assert_ran(at)
    assert len(images(at)) == 3 and images(at) != shown

    other = next(i for i in at.selectbox(key="why_class").options if i != predicted)
    at.selectbox(key="why_class").set_value(other).run()
    assert_ran(at)
    assert len(images(at)) == 2  # occlusion of the new class waits for the button again
