"""End to end in a real browser: `streamlit run streamlit_app.py` driven by headless Chromium.

Uses Debian's /usr/bin/chromium (installed in CI by .ci/install_browser.sh) through Playwright's
Python API; no browser is downloaded. Screenshots of every page go to $ALEXNET_E2E_SCREENSHOTS
when set, else to pytest's temporary folder (never into the repository).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
# Generous: the first forward pass of the two-tower AlexNet on a slow shared CPU takes several seconds.
WAIT_MS = 180_000


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server started for a test or benchmark: terminate, then kill if it has not gone in 20 s."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=20)


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"streamlit did not become healthy in {timeout:.0f} s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found (install it with .ci/install_browser.sh); skipping browser test")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    port = _free_port()
    folder = tmp_path_factory.mktemp("streamlit")
    log = folder / "streamlit.log"
    env = dict(os.environ)
    # A fresh machine: no training runs and no data folder (only the bundled samples and model).
    env["ALEXNET_RUNS_DIR"] = str(folder / "runs")
    env["ALEXNET_DATA_ROOT"] = str(folder / "no-data")
    command = [
        sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc, log)
        yield url
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def browser_page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.set_default_timeout(WAIT_MS)
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory) -> Path:
    folder = os.environ.get("ALEXNET_E2E_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wait_idle(page) -> None:
    """Wait until the script has run to the end (the app marks its root with the run state)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', state="attached")
    # A rerun triggered by the first run (e.g. a widget's default) may start right after; settle.
    page.wait_for_timeout(500)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', state="attached")


def _assert_no_exception(page, what: str) -> None:
    if page.get_by_text("Page not found").count():
        raise AssertionError(f"{what}: Streamlit says 'Page not found'")
    boxes = page.locator('[data-testid="stException"]')
    if boxes.count():
        raise AssertionError(f"{what}: Streamlit exception shown: {boxes.first.inner_text()[:2000]}")


def _pages() -> list[tuple[str, str]]:
    sys.path.insert(0, str(REPO))
    try:
        import ast

        tree = ast.parse((REPO / "streamlit_app.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PAGES" for t in node.targets):
                pages = ast.literal_eval(node.value)
                return [(url, title) for path, title, _icon, url in pages if (REPO / path).is_file()]
    finally:
        sys.path.remove(str(REPO))
    raise AssertionError("streamlit_app.py defines no PAGES table")


def test_upload_shows_feature_maps(browser_page, app_url, tmp_path, screenshot_dir):
    page = browser_page
    # A picture with structure (stripes and a disc), so the feature maps are not blank.
    y, x = np.mgrid[0:300, 0:400]
    array = np.stack(
        [(x * 255 // 400), ((np.sin(x / 6.0) > 0) * 200), (((x - 200) ** 2 + (y - 150) ** 2 < 90**2) * 255)], -1
    )
    path = tmp_path / "stripes_and_disc.png"
    Image.fromarray(array.astype(np.uint8)).save(path)

    page.goto(f"{app_url}/activations")
    page.get_by_role("heading", name="Activations").wait_for()
    _wait_idle(page)
    page.locator('[data-testid="stRadio"] label').filter(has_text="Upload").click()
    _wait_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.get_by_text("stripes_and_disc.png (400x300)").wait_for()
    _wait_idle(page)
    page.get_by_text("feature maps of 55x55").first.wait_for()
    _assert_no_exception(page, "Activations after upload")
    images = page.locator('[data-testid="stImage"] img')
    assert images.count() >= 3  # original, network input, kernel (+ feature visualisation button)
    assert page.locator('iframe[src*="streamlit_image_coordinates"]').count() == 2  # the grid, the map over the photo
    page.screenshot(path=str(screenshot_dir / "activations_upload.png"), full_page=True)


def test_every_page_renders(browser_page, app_url, screenshot_dir):
    page = browser_page
    pages = _pages()
    assert [url for url, _ in pages[:2]] == ["kernels", "activations"]
    for i, (url, title) in enumerate(pages):
        # The default page lives at the app's root (st.navigation ignores its url_path).
        page.goto(f"{app_url}/{url}" if i else f"{app_url}/")
        page.wait_for_selector('[data-testid="stSidebar"]')
        _wait_idle(page)
        page.locator("h1").first.wait_for()
        _assert_no_exception(page, f"page {title!r}")
        page.screenshot(path=str(screenshot_dir / f"page_{url}.png"), full_page=True)


def _click_picture(page, which: int, x: float, y: float) -> None:
    """Click pixel (x, y) of the ``which``-th clickable picture (pages.widgets.clickable_png), in its own pixels."""
    frame = page.frame_locator('iframe[src*="streamlit_image_coordinates"]').nth(which)
    picture = frame.locator("img#image")
    picture.wait_for()
    natural, shown = picture.evaluate("img => [img.naturalWidth, img.width]")
    picture.click(position={"x": x * shown / natural, "y": y * shown / natural})


def _wait_value(page, selector: str, expected: str) -> None:
    """Wait until the input ``selector`` holds ``expected``."""
    page.wait_for_function(
        "([s, v]) => { const e = document.querySelector(s); return e && e.value == v; }", arg=[selector, expected]
    )


def test_clicking_a_map_picks_its_channel_and_the_photo_picks_a_unit(browser_page, app_url):
    """The default sample's relu1 grid (96 maps of 55x55) and its map over the photo, clicked as a user does."""
    from explorer.display import grid_channel_centre
    from explorer.receptive_field import paper_fields

    page = browser_page
    page.goto(f"{app_url}/activations")
    page.get_by_role("heading", name="Activations").wait_for()
    _wait_idle(page)
    page.get_by_text("feature maps of 55x55").first.wait_for()
    _wait_idle(page)
    shown = page.locator('[data-testid="stNumberInput"] input').input_value()
    channel = 37 if shown != "37" else 38  # not the channel already shown
    _click_picture(page, 0, *grid_channel_centre((96, 55, 55), channel))
    _wait_value(page, '[data-testid="stNumberInput"] input', str(channel))
    _wait_idle(page)
    page.get_by_text(f"relu1, channel {channel} over the photo").first.wait_for()
    _assert_no_exception(page, "Activations after clicking a map")

    _click_picture(page, 1, 100, 60)  # photo pixel x=100, y=60: relu1 unit (14, 24), field centres 4 apart from 5
    row, col = paper_fields()["relu1"].unit_at(60, 100)
    assert (row, col) == (14, 24)
    page.get_by_text(f"unit ({row}, {col})'s 11x11 receptive field in red").first.wait_for()
    _wait_idle(page)
    _assert_no_exception(page, "Activations after clicking the photo")
