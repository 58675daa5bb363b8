"""Shared AppTest helpers for the page tests: a fresh machine for every test, app and page runners, readers.

Each page test checks that the page runs without an exception, that its main widgets exist, and that
moving a widget changes what is shown.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 180  # the first run builds and runs the 61M-parameter model on a slow shared CPU


@pytest.fixture(autouse=True)
def _fresh_machine(tmp_path, monkeypatch):
    # No training runs, no bundled reference, no data folder, no torchvision weights: the sidebar's
    # default is the untrained paper model whatever is on this machine.
    monkeypatch.setenv("ALEXNET_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ALEXNET_DATA_ROOT", str(tmp_path / "no-data"))
    monkeypatch.setattr("alexnet.reference.REFERENCE_DIR", tmp_path / "no-reference")
    monkeypatch.setattr("alexnet.pretrained.torchvision_weights_available", lambda *a, **k: False)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # pages/state.py sets the dashboard's thread count on import


def app() -> AppTest:
    """The whole app, driven through streamlit_app.py as users see it (sidebar, navigation)."""
    return AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)


def page(name: str) -> AppTest:
    """One page of pages/ run on its own (it draws the sidebar's model picker itself)."""
    return AppTest.from_file(str(REPO / "pages" / name), default_timeout=TIMEOUT)


def on_activations() -> AppTest:
    """The app, switched to the Activations page after its first run."""
    at = app()
    at.run()
    at.switch_page("pages/activations.py").run()
    assert_ran(at)
    return at


def assert_ran(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


def image_urls(at: AppTest) -> list[str]:
    return [url for image in at.get("image") for url in image.value]


def image_captions(at: AppTest) -> list[str]:
    return [caption for image in at.get("image") for caption in image.captions]


def clickable_pictures(at: AppTest) -> dict[str, str]:
    """{key: picture as a data URL} of the page's clickable pictures (pages.widgets.clickable_png).

    AppTest draws no custom component and cannot click one: tests/e2e/test_browser.py clicks them in Chromium.
    """
    found = {}
    for element in at.get("component_instance"):
        args = json.loads(element.proto.json_args)
        found[args.get("key") or element.proto.id] = args["src"]
    return found


def images(at: AppTest) -> dict[str, str]:
    """{caption: media URL} of the page's st.image elements; the URL names a hash of the picture's bytes."""
    return {img.caption: img.url for element in at.get("image") for img in element.proto.imgs}
