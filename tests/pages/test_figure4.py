"""AppTest for the Figure 4 page: validation images with top-5 and nearest training images; the user's image too."""

from __future__ import annotations

import pytest

from tests.pages.conftest import assert_ran, image_captions, metrics
from tests.pages.real_data import (  # noqa: F401 (fixtures)
    TRAIN_PER_CLASS,
    VAL_PER_CLASS,
    chart,
    chart_keys,
    on_page,
    reference,
    with_data,
)


def on_figure4():
    return on_page("figure4.py")


def truths(at) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("true class: ")]


@pytest.mark.slow
@pytest.mark.usefixtures("reference", "with_data")
def test_validation_rows_neighbours_and_the_two_shares():
    at = on_figure4()
    shown = metrics(at)
    assert shown["Images (validation / training)"] == f"{10 * VAL_PER_CLASS} / {10 * TRAIN_PER_CLASS}"
    assert shown["Top-1 accuracy (validation)"].endswith("%")
    assert shown["Nearest-neighbour majority = true class"].endswith("%")
    rows = truths(at)
    assert len(rows) == 4 and len({r.split(" (")[0] for r in rows}) == 4  # four classes, one image each
    for i, row in enumerate(rows):
        top5, truth = chart(at, f"figure4_top5_val{i}"), row.removeprefix("true class: ").split(" (")[0]
        red = [name for name, colour in zip(top5["y"], top5["marker"]["color"], strict=True) if colour == "#d62728"]
        assert len(top5["y"]) == 5 and red == ([truth] if truth in top5["y"] else [])
    neighbour_captions = [c for c in image_captions(at) if c.endswith(")")]
    assert len(neighbour_captions) == 6 * 5  # six per validation image and six for the user's image
    assert "figure4_top5_user" in chart_keys(at)

    at.slider(key="figure4_count").set_value(2).run()
    assert_ran(at)
    assert truths(at) == rows[:2]
    at.button(key="figure4_shuffle").click().run()
    assert_ran(at)
    assert len(truths(at)) == 2 and truths(at) != rows[:2]


@pytest.mark.slow
@pytest.mark.usefixtures("reference", "with_data")
def test_a_validation_image_as_the_users_image_shows_its_true_class():
    at = on_figure4()
    at.selectbox(key="figure4_sample").set_value("val: golf ball 2").run()
    assert_ran(at)
    assert truths(at)[-1] == "true class: golf ball"
    user = chart(at, "figure4_top5_user")
    red = [name for name, colour in zip(user["y"], user["marker"]["color"], strict=True) if colour == "#d62728"]
    assert red == (["golf ball"] if "golf ball" in user["y"] else [])


@pytest.mark.slow
@pytest.mark.usefixtures("reference")
def test_without_the_data_folder_one_line_and_the_users_top5_still_shown():
    at = on_figure4()
    (info,) = [i.value for i in at.info if "No data folder" in i.value]
    assert "imagenette/train" in info and "imagenette/val" in info and "ALEXNET_DATA_ROOT" in info
    assert chart_keys(at) == ["figure4_top5_user"]
    assert not metrics(at)
