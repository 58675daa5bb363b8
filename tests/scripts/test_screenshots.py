"""scripts/screenshots.py: the pages it visits come from streamlit_app.py's PAGES (the browser run is manual)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("screenshots", REPO / "scripts" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_app_pages_reads_the_routing_table_without_running_the_app(tmp_path):
    pages = _script().app_pages()
    assert pages[0] == ("kernels", "Kernels")
    assert ("relu-tanh", "ReLU vs tanh") in pages and ("architecture", "Architecture") in pages
    # A page whose file is missing is left out, as the app itself does.
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.py").write_text("")
    app = tmp_path / "app.py"
    app.write_text('PAGES = (("pages/a.py", "A", ":x:", "a"), ("pages/b.py", "B", ":x:", "b"))\n')
    assert _script().app_pages(app) == [("a", "A")]
