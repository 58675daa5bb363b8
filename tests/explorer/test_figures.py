"""explorer.figures: one bar chart drawn by two backends from the same traces; CSV and PNG bytes."""

from __future__ import annotations

import numpy as np

from explorer.figures import BarChart, bar_chart, csv_bytes


def test_bar_chart_groups_by_colour_and_both_backends_draw_it():
    chart = BarChart([0, 1, 2, 3], {"score": [4.0, 3.0, 2.0, 1.0]}, colour=["a", "b", "a", "b"],
                     colour_label="tower", title="t")
    figure = chart.plotly()
    assert [t.name for t in figure.data] == ["tower a", "tower b"]
    assert list(figure.data[0].x) == [0, 2] and list(figure.data[1].y) == [3.0, 1.0]
    assert bar_chart(chart.x, chart.series, colour=chart.colour, colour_label="tower", title="t") == figure
    png = chart.png()
    assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_two_series_stand_side_by_side():
    figure = BarChart(np.arange(3), {"mean": [1, 2, 3], "max": [2, 3, 4]}).plotly()
    assert [t.name for t in figure.data] == ["mean", "max"] and figure.layout.barmode == "group"


def test_csv_bytes_from_columns():
    assert csv_bytes({"a": [1, 2], "b": [0.5, 0.25]}) == b"a,b\n1,0.5\n2,0.25\n"
