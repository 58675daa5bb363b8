"""AppTest for the Architecture page: the variant choice changes the measured table."""

from __future__ import annotations

import pytest

from tests.pages.conftest import assert_ran, metrics, page


@pytest.mark.slow
def test_architecture_page_variant_choice_changes_the_table():
    at = page("architecture.py")
    at.run()
    assert_ran(at)
    assert metrics(at)["parameters"] == "62,378,344"
    assert len(at.dataframe) == 2 and len(at.table) == 1  # layer table, variants overview; differences
    at.selectbox(key="arch_variant").set_value("torchvision AlexNet").run()
    assert_ran(at)
    assert metrics(at)["parameters"] == "61,100,840"
    at.selectbox(key="arch_variant").set_value("paper, two towers").run()
    assert metrics(at)["parameters"] == "60,965,224"
    differences = at.table[0].value
    assert "parameters (1000 classes)" in set(differences["topic"])
    assert "62,378,344 (two towers: 60,965,224)" in set(differences["paper (this project)"])
