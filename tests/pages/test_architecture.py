"""AppTest for the Architecture page: the sidebar's model drawn and measured, the variants, the differences."""

from __future__ import annotations

import pytest

from tests.pages.conftest import assert_ran, images, metrics, page


@pytest.mark.slow
def test_architecture_page_measures_and_draws_the_sidebar_model():
    at = page("architecture.py")
    at.run()
    assert_ran(at)
    # The sidebar's default (the untrained two-tower paper network); no picker of the page's own.
    assert metrics(at)["parameters"] == "60,965,224"
    assert not [s for s in at.selectbox if s.key == "arch_variant"]
    assert any(caption.startswith("The network as in the paper's Figure 2") for caption in images(at))
    assert any("two towers" in c.value and "What to notice" in c.value for c in at.caption)
    assert [t.label for t in at.tabs] == ["Layer by layer", "All variants side by side",
                                          "Paper vs torchvision vs a popular write-up"]
    assert len(at.dataframe) == 3 and len(at.table) == 0  # layers, variants, differences (no Markdown cells)
    overview = at.dataframe[1].value
    assert list(overview["params"])[:2] == [62378344, 60965224]
    differences = at.dataframe[2].value
    assert "parameters (1000 classes)" in set(differences["topic"])
    assert "62,378,344 (two towers: 60,965,224)" in set(differences["paper (this project)"])
    assert "—" in set(differences["popular write-up's code"])
    # The model does not change here: no notice about training state on a page about shapes.
    assert not any("Untrained" in info.value for info in at.info)
