"""The results file: a round trip through load_results, and a one-line DataError for each unusable file."""

from __future__ import annotations

import json

import pytest

from alexnet.errors import DataError
from alexnet.relu_tanh.results import load_results
from tests.alexnet.relu_tanh.synthetic import synthetic_results


def test_load_results_round_trip_and_clear_errors(tmp_path):
    res = synthetic_results()
    (tmp_path / "results.json").write_text(json.dumps(res))
    assert load_results(tmp_path / "results.json")["ratio"]["mean"] == 2.0  # 6 / 3 epochs for both seeds
    with pytest.raises(DataError, match="no Figure 1 results"):
        load_results(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        load_results(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "x"}))
    with pytest.raises(DataError, match="missing config"):
        load_results(tmp_path / "other.json")
