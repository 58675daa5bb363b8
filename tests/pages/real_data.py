"""Page-test helpers for the data folder and the bundled model: a small copy of Imagenette, the real reference."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from alexnet.paths import REPO_ROOT, data_root

REFERENCE = REPO_ROOT / "alexnet" / "assets" / "reference"
# Read on import (collection), before the shared fixture points ALEXNET_DATA_ROOT at an empty folder.
SOURCE = data_root() / "imagenette"
TRAIN_PER_CLASS = 3
VAL_PER_CLASS = 2


def small_imagenette(root: Path) -> Path:
    """``root/imagenette``: the first few images of every class of the real data folder (links), and classes.tsv.

    Skips the test, saying why, without the real data (``ALEXNET_DATA_ROOT`` as the test session started).
    """
    source = SOURCE
    if not (source / "val").is_dir() or not (source / "train").is_dir():
        pytest.skip(f"real data not found at {source} (set ALEXNET_DATA_ROOT); skipping real-data page test")
    target = root / "imagenette"
    if target.is_dir():
        return target
    for split, count in (("train", TRAIN_PER_CLASS), ("val", VAL_PER_CLASS)):
        for folder in sorted(p for p in (source / split).iterdir() if p.is_dir()):
            (target / split / folder.name).mkdir(parents=True)
            for file in sorted(folder.iterdir())[:count]:
                (target / split / folder.name / file.name).symlink_to(file)
    shutil.copy(source / "classes.tsv", target / "classes.tsv")
    return target


def use_reference(monkeypatch) -> None:
    """Offer the bundled reference model (the shared fresh-machine setup hides it); skip when it is not there."""
    if not (REFERENCE / "model.safetensors.index.json").is_file():
        pytest.skip("the bundled reference model is not in this checkout")
    monkeypatch.setattr("alexnet.reference.REFERENCE_DIR", REFERENCE)


@pytest.fixture
def with_data(tmp_path_factory, monkeypatch) -> Path:
    """ALEXNET_DATA_ROOT at the small Imagenette copy (made once per test session); returns its imagenette folder."""
    root = tmp_path_factory.getbasetemp() / "small-data"
    dataset = small_imagenette(root)
    monkeypatch.setenv("ALEXNET_DATA_ROOT", str(root))
    return dataset


@pytest.fixture
def reference(monkeypatch) -> None:
    """The bundled reference model is offered (and is the sidebar's default)."""
    use_reference(monkeypatch)


def chart(at, key: str) -> dict:
    """The first trace of the page's plotly chart with widget key ``key`` (its JSON spec, as sent to the browser)."""
    import json

    (element,) = [e for e in at.get("plotly_chart") if e.key == key]
    return json.loads(element.proto.spec)["data"][0]


def chart_keys(at) -> list[str]:
    return [e.key for e in at.get("plotly_chart")]


def on_page(script: str):
    """The app, switched to ``pages/<script>`` after its first run (as ``conftest.on_activations``)."""
    from tests.pages.conftest import app, assert_ran

    at = app()
    at.run()
    at.switch_page(f"pages/{script}").run()
    assert_ran(at)
    return at
