"""explorer.predictions: the bars people read, and the sentence about the classes a model knows."""

from __future__ import annotations

import numpy as np

from explorer.predictions import TRUE_COLOUR, class_score_bars, hbar_chart, known_classes_line, top5_bars


def test_top5_bars_name_each_class_and_mark_the_true_one():
    rows = [{"name": "tench", "probability": 0.7}, {"name": "church", "probability": 0.2}]
    bars = top5_bars(rows, true_name="church").data[0]
    assert bars.orientation == "h" and list(bars.y) == ["tench", "church"] and list(bars.x) == [0.7, 0.2]
    assert bars.marker.color[1] == TRUE_COLOUR and bars.marker.color[0] != TRUE_COLOUR
    assert list(bars.text) == ["0.700", "0.200"]


def test_hbar_chart_puts_the_first_label_on_top():
    figure = hbar_chart(["a", "b", "c"], [3, 2, 1])
    assert figure.layout.yaxis.autorange == "reversed"
    assert figure.layout.height > hbar_chart(["a"], [1]).layout.height


def test_class_scores_all_when_few_else_the_highest():
    figure, shown = class_score_bars(np.array([0.5, 2.0, -1.0]), ["a", "b", "c"])
    assert shown == (3, 3) and list(figure.data[0].y) == ["b", "a", "c"]
    figure, shown = class_score_bars(np.arange(100.0), None, limit=5)
    assert shown == (5, 100) and list(figure.data[0].y)[0] == "class 99"


def test_known_classes_line_lists_few_and_counts_many():
    line = known_classes_line(["tench", "church"], "Imagenette")
    assert "only these 2 classes (Imagenette): tench, church" in line and "anything else" in line
    assert "1000 classes" in known_classes_line([f"c{i}" for i in range(1000)])
    assert known_classes_line(None) is None
