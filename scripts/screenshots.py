"""Screenshot every dashboard page at 1440x900 in headless Chromium; print each page's height and time to render.

    .venv/bin/python scripts/screenshots.py [--repeats 5] [--out docs/screenshots] [--pages lrn relu-tanh]
    .venv/bin/python scripts/screenshots.py --repo ../before --out /tmp/before   # an older checkout, for "before"

Starts `streamlit run streamlit_app.py` on a free port with this machine's settings (models, data folder),
drives Debian's /usr/bin/chromium through Playwright (no browser is downloaded), opens each page once to warm
the caches, saves a viewport screenshot as <out>/<url path>.png, then moves between the pages by the sidebar's
links `--repeats` times and times each visit from the click until the page has rendered: the script has run
to the end, no spinner shows, and that has held for 0.3 s. Prints a Markdown table (median, min, max seconds;
page height in pixels) for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1440, "height": 900}
SETTLE_S = 0.3  # the page must stay rendered this long to count as rendered (a widget default may rerun it)
POLL_S = 0.05
RENDERED_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const idle = app && app.getAttribute('data-test-script-state') === 'notRunning';
  const busy = document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]');
  return Boolean(idle && !busy && document.querySelector('h1'));
}"""
HEIGHT_JS = """() => Math.max(...['[data-testid="stMainBlockContainer"]', '[data-testid="stMain"]']
  .map(s => document.querySelector(s)).filter(Boolean).map(e => e.scrollHeight), document.body.scrollHeight)"""


def app_pages(app_file: Path = REPO / "streamlit_app.py") -> list[tuple[str, str]]:
    """(url path, title) of every page the app routes to, read from its PAGES table without running it."""
    for node in ast.walk(ast.parse(app_file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PAGES" for t in node.targets):
            return [(url, title) for path, title, _icon, url in ast.literal_eval(node.value)
                    if (app_file.parent / path).is_file()]
    raise SystemExit(f"{app_file} defines no PAGES table")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log: Path, repo: Path = REPO) -> tuple[subprocess.Popen, str]:
    """The dashboard on a free local port, once it answers its health check (or SystemExit with its log)."""
    port = _port()
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=repo, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while not _healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()
            raise SystemExit(f"streamlit did not start (exit status {proc.poll()}):\n{log.read_text(errors='replace')}")
        time.sleep(0.3)
    return proc, url


def _stop(proc: subprocess.Popen) -> None:
    """Ask the server to stop; kill it if it still runs 20 s later."""
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=20)
    if proc.poll() is None:
        proc.kill()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


def wait_rendered(page, start: float, timeout_s: float = 300.0) -> float:
    """Seconds from ``start`` (time.monotonic) until the page is rendered and stays so for SETTLE_S (nan: never)."""
    page.wait_for_timeout(100)  # let the click reach the server before the old page's idle state is read
    since = None
    while time.monotonic() - start < timeout_s:
        if page.evaluate(RENDERED_JS):
            since = since or time.monotonic()
            if time.monotonic() - since >= SETTLE_S:
                return since - start
        else:
            since = None
        time.sleep(POLL_S)
    print(f"  warning: {page.url} did not finish rendering in {timeout_s:.0f} s", flush=True)
    return float("nan")


def _visit(page, url: str, title: str) -> float:
    start = time.monotonic()
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    return wait_rendered(page, start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="where the screenshots go (default: docs/screenshots; with "
                        "--repo, a temporary folder, so an older tree never overwrites this one's)")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose streamlit_app.py is served "
                        "(default: this one); a sibling of this one finds the same data folder")
    parser.add_argument("--repeats", type=int, default=5, help="timed visits per page (the median is reported)")
    parser.add_argument("--pages", nargs="*", help="url paths to include (default: every page)")
    args = parser.parse_args(argv)
    if not CHROMIUM.is_file():
        raise SystemExit(f"{CHROMIUM} not found (install it with .ci/install_browser.sh)")
    from playwright.sync_api import sync_playwright

    repo = args.repo.resolve()
    if args.out is None:
        args.out = REPO / "docs" / "screenshots" if repo == REPO else Path(tempfile.mkdtemp(prefix="screenshots-"))
    all_pages = app_pages(repo / "streamlit_app.py")
    pages = [(url, title) for url, title in all_pages if not args.pages or url in args.pages]
    print(f"serving {repo}; screenshots to {args.out}")
    args.out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPU cores, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    log = Path(tempfile.mkdtemp(prefix="screenshots-")) / "streamlit.log"
    proc, base = start_server(log, repo)
    heights: dict[str, int] = {}
    times: dict[str, list[float]] = {url: [] for url, _ in pages}
    first: dict[str, float] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(300_000)
            start = time.monotonic()
            page.goto(f"{base}/")
            page.wait_for_selector('[data-testid="stSidebarNav"]')
            landing = wait_rendered(page, start)  # the default page, at the app's root
            default_url = all_pages[0][0]
            for url, title in pages:  # the first visit fills the caches; its time is reported apart
                first[url] = landing if url == default_url else _visit(page, url, title)
                page.wait_for_timeout(500)  # images and charts paint after the script ends
                heights[url] = int(page.evaluate(HEIGHT_JS))
                page.screenshot(path=str(args.out / f"{url}.png"))
                print(f"  {url}: first visit {first[url]:.2f} s, height {heights[url]} px", flush=True)
            for _ in range(args.repeats):
                for url, title in pages:
                    times[url].append(_visit(page, url, title))
            browser.close()
    finally:
        _stop(proc)
    print(f"\n| page | render, median of {args.repeats} (s) | min - max (s) | first visit (s) | height (px) |")
    print("|---|---|---|---|---|")
    for url, title in pages:
        t = times[url]
        print(f"| {title} | {statistics.median(t):.2f} | {min(t):.2f} - {max(t):.2f} | {first[url]:.2f} "
              f"| {heights[url]:,} |")
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
