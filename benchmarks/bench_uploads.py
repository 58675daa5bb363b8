"""Row 8: concurrent uploads. The real server (`streamlit run streamlit_app.py`) and headless Chromium
sessions that all upload a large image to the Activations page at the same moment.

What it measures: the server process's peak resident memory (the kernel's high-water mark, VmHWM,
plus its resident size just before the uploads), and per session the latency from handing the file to
the browser's upload input until the page shows that image's feature maps (the image's caption is on
the page and the script run has finished). Target: the server stays under 2 GiB and every session is
answered.

Each session uploads its own image (same size, different stripes, so no cache is shared): by default
7,700 x 7,700 PNGs (59.3 megapixels, just under the 60-megapixel limit; about 190 kB each on disk, as
in the issue). Chromium is Debian's /usr/bin/chromium driven by Playwright (no browser download); every
request goes to 127.0.0.1, and every wait is bounded (``--timeout`` for the whole run).

    .venv/bin/python benchmarks/bench_uploads.py                       # 8 sessions, 7700x7700 PNGs
    .venv/bin/python benchmarks/bench_uploads.py --sessions 2 --side 600   # a tiny smoke run
    .venv/bin/python benchmarks/bench_uploads.py --repo /tmp/before        # the server from another tree

``--budget-pixels N`` sets the server's decode budget (ALEXNET_DECODE_BUDGET_PIXELS, see
explorer/images.py); ``--repo`` runs the server from another checkout (e.g. the code before a change)
with this script and this Python.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _common
import numpy as np
from PIL import Image

# The browser test's way of starting and driving the app: the same Chromium, flags and health check.
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, _free_port, _wait_healthy, stop_server  # noqa: E402

TARGET_BYTES = 2 * 2**30
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def stripes_png(side: int, seed: int) -> bytes:
    """A ``side`` x ``side`` RGB PNG of stripes (period and colours from ``seed``): large, yet small on disk."""
    period = 32 + 8 * seed
    line = (np.arange(side) // period % 2).astype(np.uint8)
    array = np.empty((side, side, 3), np.uint8)
    array[..., 0] = line[None, :] * (255 - seed)
    array[..., 1] = line[:, None] * 200
    array[..., 2] = 40 + 20 * seed % 200
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _status_kib(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` memory field in KiB (0 once the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _rss_bytes(pid: int) -> int:
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss
    except ImportError:
        return _status_kib(pid, "VmRSS") * 1024
    except Exception:  # noqa: BLE001 - the process has gone
        return 0


class RssSampler(threading.Thread):
    """Samples the server's resident size every ``interval`` seconds until stopped; keeps the largest."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, _rss_bytes(self.pid))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)


def start_server(repo: Path, folder: Path, budget_pixels: int | None) -> tuple[subprocess.Popen, str, Path]:
    port = _free_port()
    log = folder / "streamlit.log"
    env = dict(os.environ, ALEXNET_RUNS_DIR=str(folder / "runs"), ALEXNET_DATA_ROOT=str(folder / "no-data"))
    if budget_pixels is not None:
        env["ALEXNET_DECODE_BUDGET_PIXELS"] = str(budget_pixels)
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
    except AssertionError as exc:
        proc.kill()
        raise SystemExit(str(exc)) from None
    return proc, url, log


async def _idle(page) -> None:
    await page.wait_for_selector(IDLE, state="attached")
    await page.wait_for_timeout(300)  # a rerun started by the first run may follow; settle
    await page.wait_for_selector(IDLE, state="attached")


async def _open_upload(context, url: str):
    page = await context.new_page()
    await page.goto(f"{url}/activations")
    await page.get_by_role("heading", name="Activations").wait_for()
    await _idle(page)
    await page.locator('[data-testid="stRadio"] label').filter(has_text="Upload").click()
    await _idle(page)
    return page


async def _upload(page, path: Path, start: asyncio.Event) -> tuple[float, str | None]:
    """Seconds from handing ``path`` to the upload input until its feature maps are shown; error text if any."""
    await start.wait()
    began = time.perf_counter()
    await page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    await page.get_by_text(f"{path.name} (").first.wait_for()  # the image's caption: "name (WxH)"
    await page.wait_for_selector(IDLE, state="attached")
    elapsed = time.perf_counter() - began
    await page.get_by_text("feature maps of").first.wait_for()
    errors = page.locator('[data-testid="stAlertContentError"], [data-testid="stException"]')
    return elapsed, (await errors.first.inner_text()) if await errors.count() else None


async def run_sessions(url: str, paths: list[Path], chromium: Path, timeout_s: float, ready) -> list:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            contexts = [await browser.new_context(viewport={"width": 1200, "height": 1600}) for _ in paths]
            for context in contexts:
                context.set_default_timeout(timeout_s * 1000)
            first = await _open_upload(contexts[0], url)  # warms the server (model, samples) once
            pages = [first, *await asyncio.gather(*(_open_upload(c, url) for c in contexts[1:]))]
            ready()
            start = asyncio.Event()
            tasks = [asyncio.create_task(_upload(page, path, start)) for page, path in zip(pages, paths, strict=True)]
            start.set()  # every session uploads at once
            return await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout_s)
        finally:
            await browser.close()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8, help="browser sessions uploading at once (default 8)")
    parser.add_argument("--side", type=int, default=7700, help="image side in pixels (default 7700: 59.3 MP)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds the whole run may take (default 600)")
    parser.add_argument("--budget-pixels", type=int, default=None,
                        help="the server's decode budget in pixels (default: explorer.images' own)")
    parser.add_argument("--repo", type=Path, default=_common.REPO_ROOT, help="the tree the server runs from")
    parser.add_argument("--chromium", type=Path, default=CHROMIUM, help=f"Chromium binary (default {CHROMIUM})")
    args = parser.parse_args()
    if not 1 <= args.sessions <= 32:
        raise SystemExit("--sessions must be 1 to 32")
    if not args.chromium.is_file():
        raise SystemExit(f"{args.chromium} not found (install it with .ci/install_browser.sh)")

    print(_common.machine_line())
    deadline = time.monotonic() + args.timeout
    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as tmp:
        folder = Path(tmp)
        paths = []
        for i in range(args.sessions):
            paths.append(folder / f"upload_{i}.png")
            paths[-1].write_bytes(stripes_png(args.side, i))
        file_kb = paths[0].stat().st_size / 1000
        proc, url, log = start_server(args.repo.resolve(), folder, args.budget_pixels)
        sampler = RssSampler(proc.pid)
        sampler.start()
        before: dict[str, int] = {}

        def ready() -> None:
            before["rss"] = _rss_bytes(proc.pid)

        try:
            remaining = max(10.0, deadline - time.monotonic())
            results = asyncio.run(run_sessions(url, paths, args.chromium, remaining, ready))
            hwm = _status_kib(proc.pid, "VmHWM") * 1024
        finally:
            sampler.stop()
            stop_server(proc)
        peak = max(hwm, sampler.peak)
        latencies = [r[0] for r in results if isinstance(r, tuple) and r[1] is None]
        failures = [r if isinstance(r, BaseException) else r[1] for r in results
                    if not (isinstance(r, tuple) and r[1] is None)]
    mib = 2**20
    _common.print_table(
        ["sessions", "image", "server RSS before uploads", "server peak RSS", "p50 upload -> maps",
         "p95", "max", "answered", "target (< 2 GiB, all answered)"],
        [[args.sessions, f"{args.side}x{args.side} PNG ({args.side**2 / 1e6:.1f} MP, {file_kb:.0f} kB)",
          f"{before.get('rss', 0) / mib:.0f} MiB", f"{peak / mib:.0f} MiB",
          f"{percentile(latencies, 50):.1f} s", f"{percentile(latencies, 95):.1f} s",
          f"{max(latencies, default=float('nan')):.1f} s", f"{len(latencies)}/{args.sessions}",
          "met" if peak < TARGET_BYTES and len(latencies) == args.sessions else "not met"]],
    )
    if latencies:
        print(f"latencies (s): {', '.join(f'{x:.1f}' for x in sorted(latencies))}; "
              f"mean {statistics.fmean(latencies):.1f}")
    for failure in failures:
        print(f"session failed: {str(failure).splitlines()[0] if str(failure) else type(failure).__name__}")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
