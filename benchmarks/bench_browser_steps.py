"""Issue 13: two dashboard steps as a user sees them, in headless Chromium at 1440x900.

The real server (`streamlit run streamlit_app.py`, started as bench_uploads.py starts it) and one
browser, timed per repetition:

* upload -> feature maps (Activations page): from handing a new photo-like JPEG (500x375, its own
  seed, so no cache is hit) to the upload input until the page shows that image's feature maps (its
  caption "name (WxH)" is on the page and the script run has finished; bench_uploads' definition).
  Target < 1 s;
* epoch slider step (Training page, "conv1 over training" tab, the bundled reference model's run):
  from ArrowLeft on the focused thumb of the epoch slider until the conv1 pictures of the new epoch
  are shown (caption "conv1 after epoch N") and the script run has finished. Each step goes to an
  epoch not shown before. Target < 0.5 s.

One warm-up of each is not counted; the table gives the median and every repetition, met / not met
for the median, the server's torch threads (ALEXNET_DASHBOARD_THREADS) and the load average at start
and end (on a shared machine, other processes' load shows in every number). The server runs under a
temporary ALEXNET_RUNS_DIR, so local training runs change neither the default model nor the Training
page's run. Chromium is Debian's /usr/bin/chromium driven by Playwright; every wait is bounded.

    .venv/bin/python benchmarks/bench_browser_steps.py               # 5 repetitions of each
    .venv/bin/python benchmarks/bench_browser_steps.py --reps 1      # a smoke run
    .venv/bin/python benchmarks/bench_browser_steps.py --threads 2 --repo /tmp/before
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import _common
from bench_dashboard import photo_like_jpeg
from bench_uploads import IDLE, _idle, _open_upload, _upload, start_server

from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, stop_server  # noqa: E402

UPLOAD_TARGET_S, STEP_TARGET_S = 1.0, 0.5
VIEWPORT = {"width": 1440, "height": 900}  # as scripts/screenshots.py
THUMB = '[data-testid="stSlider"] input[type="range"]'  # react-aria's thumb: a visually hidden range input


async def open_training(context, url: str):
    """The Training page on its "conv1 over training" tab, script idle; (page, the epoch slider's thumb)."""
    page = await context.new_page()
    await page.goto(f"{url}/training")
    await page.get_by_role("heading", name="Training").wait_for()
    await _idle(page)
    await page.get_by_role("tab", name="conv1 over training").click()
    thumb = page.locator(THUMB).first
    await thumb.wait_for(state="attached")
    return page, thumb


async def slider_step(page, thumb) -> tuple[float, int]:
    """Seconds from ArrowLeft on the epoch slider until the new epoch's conv1 is shown and the run is over."""
    await page.bring_to_front()
    old = await thumb.get_attribute("aria-valuetext")
    began = time.perf_counter()
    await thumb.press("ArrowLeft")  # focuses the thumb, then one option to the left
    handle = await page.wait_for_function(
        f"() => {{ const t = document.querySelector('{THUMB}'); "
        f"const v = t && t.getAttribute('aria-valuetext'); return v !== {old!r} && v; }}"
    )
    epoch = int(await handle.json_value())
    await page.get_by_text(re.compile(rf"^conv1 after epoch {epoch}(\D|$)")).first.wait_for()
    await page.wait_for_selector(IDLE, state="attached")
    return time.perf_counter() - began, epoch


async def measure(url: str, jpegs: list[Path], timeout_s: float) -> tuple[list, list, list[int], list[str]]:
    """(upload seconds, step seconds, epochs stepped to, errors): the first of each is the warm-up."""
    from playwright.async_api import async_playwright

    uploads, steps, epochs, errors = [], [], [], []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            contexts = [await browser.new_context(viewport=VIEWPORT) for _ in range(2)]
            for context in contexts:
                context.set_default_timeout(timeout_s * 1000)
            activations = await _open_upload(contexts[0], url)
            training, thumb = await open_training(contexts[1], url)
            go = asyncio.Event()
            go.set()
            for path in jpegs:  # alternate the two steps, so load from other processes hits both alike
                await activations.bring_to_front()
                seconds, error = await _upload(activations, path, go)
                uploads.append(seconds)
                if error:
                    errors.append(f"upload {path.name}: {error}")
                seconds, epoch = await slider_step(training, thumb)
                if epoch in epochs:
                    errors.append(f"slider step came back to epoch {epoch}")
                epochs.append(epoch)
                steps.append(seconds)
        finally:
            await browser.close()
    return uploads, steps, epochs, errors


def _load() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions of each step (default 5)")
    parser.add_argument("--threads", type=int, default=None,
                        help="the server's torch threads (ALEXNET_DASHBOARD_THREADS; default: its own, 1)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds any one wait may take (default 600)")
    parser.add_argument("--repo", type=Path, default=_common.REPO_ROOT, help="the tree the server runs from")
    args = parser.parse_args()
    if not 1 <= args.reps <= 20:
        raise SystemExit("--reps must be 1 to 20 (the reference run has about 30 epochs to step through)")
    if not CHROMIUM.is_file():
        raise SystemExit(f"{CHROMIUM} not found (install it with .ci/install_browser.sh)")
    if args.threads is not None:
        os.environ["ALEXNET_DASHBOARD_THREADS"] = str(args.threads)  # start_server passes os.environ on
    threads = os.environ.get("ALEXNET_DASHBOARD_THREADS", "1")

    print(_common.machine_line())
    load_start = _load()
    with tempfile.TemporaryDirectory(prefix="bench-browser-steps-") as tmp:
        folder = Path(tmp)
        jpegs = []
        for seed in range(args.reps + 1):
            jpegs.append(folder / f"photo_{seed}.jpg")
            jpegs[-1].write_bytes(photo_like_jpeg(1000 + seed))
        proc, url, _log = start_server(args.repo.resolve(), folder, None)
        try:
            uploads, steps, epochs, errors = asyncio.run(measure(url, jpegs, args.timeout))
        finally:
            stop_server(proc)
    rows = []
    for name, target, times in (("upload -> feature maps (Activations)", UPLOAD_TARGET_S, uploads),
                                ("epoch slider step -> conv1 shown (Training)", STEP_TARGET_S, steps)):
        timed = times[1:]  # the first is the warm-up
        mid = statistics.median(timed)
        rows.append([name, f"< {target:g} s", f"{mid:.2f} s", ", ".join(f"{t:.2f}" for t in timed),
                     f"{times[0]:.2f} s", "met" if mid < target else "not met"])
    _common.print_table(["step", "target", "median", "each repetition (s)", "warm-up", "median vs target"], rows)
    print(f"server: torch threads {threads} (ALEXNET_DASHBOARD_THREADS), viewport 1440x900; epochs stepped to "
          f"{', '.join(map(str, epochs))}; "
          f"load average (1/5/15 min) at start {load_start}, at end {_load()}")
    for error in errors:
        print(f"error: {error.splitlines()[0]}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
