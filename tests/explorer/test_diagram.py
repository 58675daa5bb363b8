"""The Figure 2 diagram: blocks read off the model (shapes, towers, connectivity) and the figure drawn from them."""

from __future__ import annotations

from alexnet import AlexNet
from explorer.diagram import diagram_blocks, diagram_figure
from explorer.figures import png_bytes


def test_two_tower_blocks_follow_the_paper():
    blocks = diagram_blocks(AlexNet(towers=2))
    assert [b.name for b in blocks] == ["input", "conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    by_name = {b.name: b for b in blocks}
    assert by_name["conv1"].shape == (96, 55, 55) and by_name["conv1"].shape_text() == "48x55x55"
    assert by_name["conv1"].kernel == "11x11 / 4"
    assert by_name["conv1"].after == ("ReLU", "LRN", "max pool") and by_name["conv1"].out_shape == (96, 27, 27)
    # The paper's Figure 2: conv2, conv4, conv5 see only their own tower; conv3 and the fc layers see both.
    assert [b.name for b in blocks if b.own_tower_only] == ["conv2", "conv4", "conv5"]
    assert by_name["conv5"].out_shape == (256, 6, 6)  # pool5's maps, not the flattened vector
    assert by_name["fc6"].shape_text() == "2048" and by_name["fc6"].after == ("ReLU", "dropout")
    assert by_name["fc8"].towers == 1 and by_name["fc8"].shape_text() == "1000"


def test_one_tower_without_lrn():
    blocks = diagram_blocks(AlexNet(towers=1, lrn=False))
    assert {b.towers for b in blocks} == {1} and not any(b.own_tower_only for b in blocks)
    assert blocks[1].shape_text() == "96x55x55" and "LRN" not in blocks[1].after


def test_diagram_figure_draws_a_box_per_tower_and_layer():
    blocks = diagram_blocks(AlexNet(towers=2))
    fig = diagram_figure(blocks, "paper, two towers")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("conv2") == 2 and texts.count("fc8") == 1 and "128x27x27" in texts
    assert len(fig.axes[0].patches) > 2 * 7  # boxes and arrows
    assert png_bytes(fig, dpi=60).startswith(b"\x89PNG")
