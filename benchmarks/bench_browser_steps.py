"""Issue 13: dashboard steps as a user sees them, in headless Chromium at 1440x900.

The real server (`streamlit run streamlit_app.py`, started as bench_uploads.py starts it) and one
browser, timed per repetition:

* upload -> feature maps (Activations page): from handing a new photo-like JPEG (500x375, its own
  seed, so no cache is hit) to the upload input until the page shows that image's feature maps (its
  caption "name (WxH)" is on the page and the script run has finished; bench_uploads' definition).
  Target < 1 s;
* channel switch (Activations, the uploaded photo): a click on another channel in the strip of the
  image's most active channels, and (where the page has it) a click on another map in the layer's
  grid, until that channel's map over the photo is shown and the run has finished. Target < 0.5 s;
* layer switch (Activations): choosing the other of relu1 / relu2 in the Layer list until its grid's
  heading is shown and the run has finished. Target < 0.5 s;
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

UPLOAD_TARGET_S, STEP_TARGET_S = 1.0, 0.5  # the targets: an upload; any switch or slider step
LAYERS = ("relu1 (conv1 + ReLU)", "relu2 (conv2 + ReLU)")  # the layer switch alternates between these
HEADING = re.compile(r"^(\w+) \(.*\): (\d+) feature maps of (\d+)x(\d+)$")  # the layer grid's subheader
PICTURE = 'iframe[src*="streamlit_image_coordinates"]'  # pages.widgets.clickable_png
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


async def _shown_layer(page) -> tuple[str, tuple[int, int, int]]:
    """The Activations page's layer and its (C, H, W), read from the grid's subheader."""
    for text in await page.locator("h3").all_inner_texts():
        if match := HEADING.match(text.strip()):
            return match[1], (int(match[2]), int(match[3]), int(match[4]))
    raise RuntimeError("no layer grid on the page")


async def _channel_shown(page, layer: str, channel: int, began: float) -> float:
    await page.get_by_text(f"{layer}, channel {channel} over the photo").first.wait_for()
    await page.wait_for_selector(IDLE, state="attached")
    return time.perf_counter() - began


async def channel_by_pill(page) -> float:
    """Seconds from a click on another channel of the top-channels strip until its map over the photo is shown."""
    layer, _ = await _shown_layer(page)
    current = await page.locator('[data-testid="stNumberInput"] input').input_value()
    pills = page.locator('[data-testid="stButtonGroup"] button')
    for i in range(await pills.count()):
        channel = (await pills.nth(i).inner_text()).strip().removeprefix("ch ")
        if channel != current:
            began = time.perf_counter()
            await pills.nth(i).click()
            return await _channel_shown(page, layer, int(channel), began)
    raise RuntimeError("the strip offers no other channel")


async def channel_by_map(page, rep: int) -> float | None:
    """Seconds from a click on another map of the layer's grid until its map over the photo is shown (None:
    the page's grid is not clickable, as before session 5)."""
    from explorer.display import grid_channel_centre

    if not await page.locator(PICTURE).count():
        return None
    layer, (channels, height, width) = await _shown_layer(page)
    current = int(await page.locator('[data-testid="stNumberInput"] input').input_value())
    channel = (17 + 7 * rep) % channels
    channel = channel if channel != current else (channel + 1) % channels
    x, y = grid_channel_centre((channels, height, width), channel)
    picture = page.frame_locator(PICTURE).first.locator("img#image")
    natural, shown = await picture.evaluate("img => [img.naturalWidth, img.width]")
    began = time.perf_counter()
    await picture.click(position={"x": x * shown / natural, "y": y * shown / natural})
    return await _channel_shown(page, layer, channel, began)


async def layer_switch(page) -> float:
    """Seconds from choosing the other of LAYERS in the Layer list until its grid's heading is shown."""
    layer, _ = await _shown_layer(page)
    label = LAYERS[1] if layer == LAYERS[0].split()[0] else LAYERS[0]
    option = page.get_by_role("option", name=label, exact=True)
    for attempt in range(3):  # a rerun that lands just after the click closes the list again: open it anew
        await page.wait_for_selector(IDLE, state="attached")
        await page.locator('[data-testid="stSelectbox"]').filter(has_text="Layer").locator("input").click()
        try:
            await option.wait_for(timeout=3000)
            break
        except Exception:
            if attempt == 2:
                raise
    began = time.perf_counter()
    await option.click()
    await page.get_by_role("heading", name=re.compile(rf"^{re.escape(label)}: \d+ feature maps")).wait_for()
    await page.wait_for_selector(IDLE, state="attached")
    return time.perf_counter() - began


async def measure(url: str, jpegs: list[Path], timeout_s: float) -> tuple[dict[str, list], list[int], list[str]]:
    """({step: seconds per repetition}, epochs stepped to, errors): the first of each step is the warm-up."""
    from playwright.async_api import async_playwright

    times: dict[str, list] = {"upload": [], "pill": [], "map": [], "layer": [], "slider": []}
    epochs, errors = [], []
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
            for rep, path in enumerate(jpegs):  # the steps in turn, so load from elsewhere hits them alike
                await activations.bring_to_front()
                seconds, error = await _upload(activations, path, go)
                times["upload"].append(seconds)
                if error:
                    errors.append(f"upload {path.name}: {error}")
                times["pill"].append(await channel_by_pill(activations))
                times["map"].append(await channel_by_map(activations, rep))
                times["layer"].append(await layer_switch(activations))
                seconds, epoch = await slider_step(training, thumb)
                if epoch in epochs:
                    errors.append(f"slider step came back to epoch {epoch}")
                epochs.append(epoch)
                times["slider"].append(seconds)
        finally:
            await browser.close()
    return times, epochs, errors


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
            times, epochs, errors = asyncio.run(measure(url, jpegs, args.timeout))
        finally:
            stop_server(proc)
    rows = []
    for key, name, target in (("upload", "upload -> feature maps (Activations)", UPLOAD_TARGET_S),
                              ("pill", "channel switch: top-channels strip -> map over photo", STEP_TARGET_S),
                              ("map", "channel switch: click on the grid -> map over photo", STEP_TARGET_S),
                              ("layer", "layer switch relu1 <-> relu2 -> grid shown", STEP_TARGET_S),
                              ("slider", "epoch slider step -> conv1 shown (Training)", STEP_TARGET_S)):
        if None in times[key]:
            rows.append([name, f"< {target:g} s", "n/a", "(this tree's grid is not clickable)", "", ""])
            continue
        timed = times[key][1:]  # the first is the warm-up
        mid = statistics.median(timed)
        rows.append([name, f"< {target:g} s", f"{mid:.2f} s", ", ".join(f"{t:.2f}" for t in timed),
                     f"{times[key][0]:.2f} s", "met" if mid < target else "not met"])
    _common.print_table(["step", "target", "median", "each repetition (s)", "warm-up", "median vs target"], rows)
    print(f"server: torch threads {threads} (ALEXNET_DASHBOARD_THREADS), viewport 1440x900; epochs stepped to "
          f"{', '.join(map(str, epochs))}; "
          f"load average (1/5/15 min) at start {load_start}, at end {_load()}")
    for error in errors:
        print(f"error: {error.splitlines()[0]}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
