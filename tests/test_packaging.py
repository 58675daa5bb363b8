"""A wheel built from the repo carries the bundled model and works away from the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_the_reference_model_and_loads_it_outside_the_checkout(tmp_path):
    # No build isolation: setuptools comes from the test environment, so the test needs no network.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(REPO)], check=True, cwd=tmp_path, timeout=300)
    wheel = next((tmp_path / "dist").glob("alexnet_explorer-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(REPO).as_posix() for folder in ("assets", "results")
               for p in (REPO / "alexnet" / folder).rglob("*") if p.is_file()}
    assert shipped and shipped <= names, f"missing from the wheel: {sorted(shipped - names)[:5]}"
    assert any(n.startswith("explorer/samples/") for n in names)
    assert not any(n.startswith(("tests/", "pages/")) for n in names)

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                    str(wheel)], check=True, timeout=300)
    probe = (
        "import alexnet.reference as r; "
        f"assert str(r.REFERENCE_DIR).startswith({str(target)!r}), r.REFERENCE_DIR; "
        "m = r.load_reference_model(); print(r.reference_available(), m.config.num_classes); "
        # The committed Figure 1 results come from the package too, not from a checkout.
        "from alexnet.relu_tanh import RESULTS_DIR, load_results; "
        f"assert str(RESULTS_DIR).startswith({str(target)!r}), RESULTS_DIR; "
        "print(load_results()['format'])"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env={"PYTHONPATH": str(target)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "10", "alexnet-explorer/relu-tanh/1"]
