"""Row 4: dashboard latency, server side, through streamlit.testing's AppTest.

Drives streamlit_app.py as the tests do: open the Activations page, upload an image (a new one
each repetition, so nothing is cached), then switch the layer. Timed, per repetition:

* upload -> all grids ready: the rerun after the upload (decode, one forward pass capturing every
  layer, top-5, every layer's grid (palette image) and statistics, and the shown layer's grid as
  PNG); target < 300 ms. The other layers' PNGs are written when first shown (one each);
* upload + show every layer: that plus visiting every other feature layer once (no target: it
  is the total a user pays to see all grids);
* switch layer: one rerun selecting a layer not shown before for this image (target < 50 ms),
  and switching back to a layer already shown.

The targets are the baseline: the table says met / not met for the wall-clock median, and also
gives the process CPU time (all threads, including AppTest's script thread), which is what the
steps cost without the waiting for a core on a shared machine. Runs under a temporary
ALEXNET_RUNS_DIR so local training runs do not change which model the app opens with.

    .venv/bin/python benchmarks/bench_dashboard.py
    .venv/bin/python benchmarks/bench_dashboard.py --reps 2 --threads 1 --profile
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import tempfile
import time

import _common
import numpy as np
import torch
from PIL import Image

UPLOAD_TARGET_S, SWITCH_TARGET_S = 0.300, 0.050


def photo_like_jpeg(seed: int, size: tuple[int, int] = (500, 375)) -> bytes:
    """A smooth random colour image (not noise: JPEG sizes and decode times like a photo's)."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    small.resize(size, Image.BICUBIC).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


CPU_SECONDS: list[float] = []  # process CPU time of each timed_run, in call order


def timed_run(at) -> float:
    """Wall seconds of one rerun; its process CPU seconds (all threads) go to CPU_SECONDS."""
    cpu, start = time.process_time(), time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    CPU_SECONDS.append(time.process_time() - cpu)
    if at.exception:
        raise SystemExit(f"the app raised: {[e.message for e in at.exception]}")
    return elapsed


def open_activations_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(_common.REPO_ROOT / "streamlit_app.py"), default_timeout=600)
    at.run()
    at.switch_page("pages/activations.py")
    timed_run(at)
    at.radio(key="activations_image_source").set_value("Upload")
    timed_run(at)
    return at


_PROFILE: list[cProfile.Profile | None] = [None]


def profile_script_thread() -> None:
    """Make cProfile see the page script: AppTest runs it in its own thread, not the caller's."""
    from streamlit.runtime.scriptrunner import script_runner

    original = script_runner.ScriptRunner._run_script

    def run_script(self, rerun_data):
        profile = _PROFILE[0]
        if profile is None:
            return original(self, rerun_data)
        profile.enable()
        try:
            return original(self, rerun_data)
        finally:
            profile.disable()

    script_runner.ScriptRunner._run_script = run_script


def share_script_cache() -> None:
    """Compile each page script once, as a running server does, instead of on every AppTest run.

    A Streamlit server keeps one ScriptCache for its lifetime (``Runtime._script_cache``); AppTest
    makes a new one for every ``run()``, so each rerun re-reads, magic-transforms and compiles the
    page scripts (~10 ms CPU here) that a server compiles once. Off by default.
    """
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    app_test.ScriptCache = lambda: shared
    local_script_runner.ScriptCache = lambda: shared


def measure(
    at, seed: int, profile: cProfile.Profile | None, switch_profile: cProfile.Profile | None = None
) -> dict[str, float]:
    upload = at.file_uploader(key="activations_upload")
    upload.upload(f"photo{seed}.jpg", photo_like_jpeg(seed), "image/jpeg")
    _PROFILE[0] = profile
    t_upload = timed_run(at)
    _PROFILE[0] = None
    cpu_upload = CPU_SECONDS[-1]
    layers = at.selectbox(key="activations_layer")
    default, names = layers.value, _layer_names(list(layers.options))
    first_visits, cpu_visits = [], []
    for name in names:
        if name == default:
            continue
        at.selectbox(key="activations_layer").set_value(name)
        _PROFILE[0] = switch_profile
        first_visits.append(timed_run(at))
        _PROFILE[0] = None
        cpu_visits.append(CPU_SECONDS[-1])
    at.selectbox(key="activations_layer").set_value(default)
    t_back = timed_run(at)
    wall = {
        "upload": t_upload,
        "upload + show every layer": t_upload + sum(first_visits),
        "switch (new layer)": float(np.median(first_visits)),
        "switch (seen layer)": t_back,
    }
    cpu = {
        "upload": cpu_upload,
        "upload + show every layer": cpu_upload + sum(cpu_visits),
        "switch (new layer)": float(np.median(cpu_visits)),
        "switch (seen layer)": CPU_SECONDS[-1],
    }
    return {key: (wall[key], cpu[key]) for key in wall}


def _layer_names(options: list[str]) -> list[str]:
    """Layer names behind the selectbox's labels (the page shows ``Stage.label``, sets ``Stage.name``)."""
    from torchvision.models import alexnet as torchvision_alexnet

    from alexnet import AlexNet
    from explorer.activations import feature_stages
    from explorer.units import classifier_stages

    names = {}
    for model in (AlexNet(init=False), torchvision_alexnet(weights=None)):
        names.update({s.label: s.name for s in feature_stages(model)})
        names.update({s.label: s.name for s in classifier_stages(model)})  # fc6, fc7, fc8 (models with them)
    missing = [label for label in options if label not in names]
    if missing:
        raise SystemExit(f"unknown layer labels on the Activations page: {missing}")
    return [names[label] for label in options]


def main() -> None:
    parser = _common.base_parser(__doc__.splitlines()[0], reps=5)
    parser.add_argument("--profile", action="store_true", help="cProfile the upload and new-layer switch runs")
    parser.add_argument(
        "--server-script-cache", action="store_true", help="compile page scripts once, as a server does"
    )
    args = parser.parse_args()
    if args.server_script_cache:
        share_script_cache()
    os.environ["ALEXNET_RUNS_DIR"] = tempfile.mkdtemp(prefix="bench-dashboard-runs-")
    print(_common.machine_line())
    if args.profile:
        profile_script_thread()
    rows = []
    for threads in _common.thread_counts(args.threads):
        at = open_activations_page()
        # After the pages are imported: pages/state.py sets the dashboard's own count (1) on import.
        torch.set_num_threads(threads)
        model = at.sidebar.selectbox(key="model_choice")
        cache = "one ScriptCache (as a server)" if args.server_script_cache else "AppTest's fresh ScriptCache per run"
        print(f"threads={torch.get_num_threads()}: model {model.value!r}; {cache}")
        profile = cProfile.Profile() if args.profile else None
        switch_profile = cProfile.Profile() if args.profile else None
        results = [measure(at, 1000 * threads + rep, profile, switch_profile) for rep in range(args.reps)]
        for key in results[0]:
            values = [r[key][0] for r in results]
            cpu = _common.median([r[key][1] for r in results])
            target = UPLOAD_TARGET_S if key == "upload" else SWITCH_TARGET_S if key.startswith("switch") else None
            verdict = "" if target is None else "met" if _common.median(values) < target else "**not met**"
            rows.append([
                threads, key, f"{_common.median(values) * 1e3:.0f} ({_common.spread(values)})", f"{cpu * 1e3:.0f}",
                "" if target is None else f"< {target * 1e3:.0f}", verdict,
            ])
        for what, stats in (("upload", profile), ("switch (new layer)", switch_profile)):
            if stats is None:
                continue
            out = io.StringIO()
            print(f"cProfile of the {what} runs of {args.reps} repetitions (script thread), by cumulative time:")
            pstats.Stats(stats, stream=out).sort_stats("cumulative").print_stats(40)
            print(out.getvalue())
    print(f"\nmedians of {args.reps} repetitions (a new uploaded image each), milliseconds (min..max)")
    _common.print_table(["torch threads", "step", "wall ms", "CPU ms", "target ms", "target (wall)"], rows)


if __name__ == "__main__":
    main()
