"""AppTest for the Validation page: confusion matrix and per-class error with the data folder; one line without it."""

from __future__ import annotations

import pytest

from tests.pages.conftest import assert_ran, metrics
from tests.pages.real_data import VAL_PER_CLASS, chart, on_page, reference, with_data  # noqa: F401 (fixtures)


def on_validation():
    return on_page("validation.py")


@pytest.mark.slow
@pytest.mark.usefixtures("reference", "with_data")
def test_confusion_matrix_and_error_per_class_of_the_reference_model():
    at = on_validation()
    shown = metrics(at)
    assert shown["Validation images"] == str(10 * VAL_PER_CLASS) and shown["Chance (top-1)"] == "90%"
    assert shown["Top-1 error"].endswith("%") and shown["Top-5 error"].endswith("%")
    heat = chart(at, "validation_confusion")
    assert heat["x"][0] == "tench" and heat["y"] == heat["x"] and len(heat["x"]) == 10
    assert sum(map(sum, heat["customdata"])) == 10 * VAL_PER_CLASS
    assert all(sum(row) == VAL_PER_CLASS for row in heat["customdata"])  # rows: the true classes
    errors = chart(at, "validation_errors")
    assert errors["y"] == heat["x"] and all(0 <= e <= 1 for e in errors["x"])
    table = at.dataframe[0].value
    assert list(table["class"]) == heat["x"] and (table["images"] == VAL_PER_CLASS).all()
    # The same numbers three ways: the table's error, the bars, and 1 - diagonal / row of the matrix.
    diagonal = [row[i] for i, row in enumerate(heat["customdata"])]
    assert list(table["error"]) == pytest.approx(errors["x"])
    assert errors["x"] == pytest.approx([1 - d / VAL_PER_CLASS for d in diagonal])
    at.run()
    assert_ran(at)
    assert metrics(at) == shown


@pytest.mark.slow
@pytest.mark.usefixtures("reference")
def test_without_the_data_folder_one_line_says_what_and_how():
    at = on_validation()
    (info,) = [i.value for i in at.info if "No data folder" in i.value]
    assert "imagenette/val" in info and "ALEXNET_DATA_ROOT" in info
    assert not at.get("plotly_chart")


@pytest.mark.slow
@pytest.mark.usefixtures("with_data")
def test_an_untrained_model_gets_no_validation():
    at = on_validation()
    assert any("untrained" in i.value and "no predictions" in i.value for i in at.info)
