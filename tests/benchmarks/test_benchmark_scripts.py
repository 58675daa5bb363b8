"""Smoke runs of every script in benchmarks/ with its tiniest flags, so the scripts keep working.

Each script runs in this process (``runpy``, as ``__main__``, with its command line in
``sys.argv``) rather than in a subprocess: importing torch and torchvision again would cost each
run several seconds on a loaded 2-core machine. Nothing here checks speed (that is what the
scripts are for); the checks are that each finishes and prints its table with the expected rows.
"""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

# script -> (tiniest command-line flags, texts its output must contain; re.compile marks a pattern)
SMOKE_RUNS = {
    "bench_lrn.py": (["--batch", "1", "--threads", "1", "--reps", "1"], ["conv1 (1,96,55,55)", "conv2 (1,256,27,27)"]),
    "bench_inference.py": (["--batches", "1", "--threads", "1", "--reps", "1"], ["| batch | threads |"]),
    "bench_pipeline.py": (
        ["--images", "8", "--batch", "4", "--batches", "1", "--reps", "1", "--threads", "1", "--workers", "0"],
        ["| ours ", "| before: gather path ", "PIL in memory, 0 workers", "JPEG files, 0 workers"],
    ),
    "bench_relu_tanh.py": (
        ["--images", "16", "--batch-size", "16", "--reps", "1", "--threads", "1"],
        ["baseline: DataLoader + PIL", "ours: uint8 in memory, batched, channels_last", "best: threads=1"],
    ),
    "bench_gpu_training.py": (
        # One configuration (the pipeline one: it also runs TrainPreset); each costs two AlexNet builds' worth.
        ["--device", "cpu", "--steps", "1", "--warmup", "0", "--batches", "2", "--towers", "2", "--dtypes", "bf16",
         "--channels-last", "on", "--data", "pipeline", "--dataset-images", "4"],
        [re.compile(r"\|\s*2\s*\|\s*2\s*\|\s*bf16\s*\|\s*on\s*\|\s*pipeline\s*\|\s*[0-9.]+\s*\|")],
    ),
    "bench_predict.py": (
        # The bundled model; ten cached vectors to search; the import probe runs once.
        ["--threads", "1", "--reps", "1", "--train-images", "10"],
        ["| threads | forward only ms |", "GUI/plotting modules imported: none"],
    ),
    "bench_attribution.py": (
        # A random AlexNet, one occlusion window, two images per split (the index says "skipped" without data).
        ["--model", "random", "--reps", "1", "--threads", "1", "--patch", "227", "--stride", "227",
         "--index-images", "2", "--vis-steps", "1", "--vis-size", "64"],
        ["| forward pass (baseline) |", "| gradcam ", "| occlusion 227/227 ", re.compile(r"index (build|skipped)"),
         "| conv5 "],
    ),
}

# The dashboard benchmark drives the whole Streamlit app through AppTest (5-14 s with one
# repetition on the 2-core machine), so it is marked slow (it still runs in CI).
DASHBOARD = ("bench_dashboard.py", (["--reps", "1", "--threads", "1"], ["switch (new layer)"]))
# The concurrent-uploads benchmark starts the real server and drives headless Chromium (about 30 s for two
# tiny sessions): browser-only, skipped (saying so) where /usr/bin/chromium or Playwright is missing.
UPLOADS = ("bench_uploads.py", (["--sessions", "2", "--side", "600", "--timeout", "240"], ["600x600 PNG", "| 2/2 "]))
# Issue 13's steps in the real browser (about 40 s for one repetition of each): browser-only like UPLOADS.
BROWSER_STEPS = (
    "bench_browser_steps.py",
    (["--reps", "1", "--timeout", "240"],
     [re.compile(r"\| upload -> feature maps \(Activations\)\s*\| < 1 s\s*\| [0-9.]+ s \|"),
      re.compile(r"\| channel switch: top-channels strip -> map over photo\s*\| < 0.5 s\s*\| [0-9.]+ s \|"),
      re.compile(r"\| channel switch: click on the grid -> map over photo\s*\| < 0.5 s\s*\| [0-9.]+ s \|"),
      re.compile(r"\| layer switch relu1 <-> relu2 -> grid shown\s*\| < 0.5 s\s*\| [0-9.]+ s \|"),
      re.compile(r"\| epoch slider step -> conv1 shown \(Training\)\s*\| < 0.5 s\s*\| [0-9.]+ s \|"),
      "load average (1/5/15 min) at start"]),
)


def _run_script(name: str, args: list[str], monkeypatch, capsys) -> str:
    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / name), *args])
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import their sibling _common
    threads = torch.get_num_threads()
    try:
        runpy.run_path(str(BENCHMARKS / name), run_name="__main__")
    except SystemExit as exit_:  # scripts that end with `raise SystemExit(main())`
        assert exit_.code in (None, 0), f"{name} exited with {exit_.code!r}"
    finally:
        torch.set_num_threads(threads)  # the scripts set their own thread counts
    return capsys.readouterr().out


def test_every_script_has_a_smoke_run():
    scripts = {p.name for p in BENCHMARKS.glob("bench_*.py")}
    known = set(SMOKE_RUNS) | {DASHBOARD[0], UPLOADS[0], BROWSER_STEPS[0]}
    assert scripts == known, "add new benchmark scripts to SMOKE_RUNS"


@pytest.mark.parametrize("name", sorted(SMOKE_RUNS))
def test_benchmark_script_runs_with_its_tiniest_flags(name, monkeypatch, capsys):
    args, expected = SMOKE_RUNS[name]
    out = _run_script(name, args, monkeypatch, capsys)
    assert out.startswith("CPU: "), "every script starts with the machine line"
    assert "|---" in out, "every script prints a Markdown table"
    for text in expected:
        found = text.search(out) if isinstance(text, re.Pattern) else text in out
        assert found, f"{name}: {text!r} missing from its output"


@pytest.mark.slow
def test_dashboard_benchmark_runs(monkeypatch, capsys):
    pytest.importorskip("streamlit")
    name, (args, expected) = DASHBOARD
    out = _run_script(name, args, monkeypatch, capsys)
    for text in expected:
        assert text in out


@pytest.mark.slow
@pytest.mark.browser
def test_uploads_benchmark_runs(monkeypatch, capsys):
    if not Path("/usr/bin/chromium").is_file():
        pytest.skip("/usr/bin/chromium not found (install it with .ci/install_browser.sh); browser-only benchmark")
    pytest.importorskip("playwright.async_api", reason="playwright is not installed")
    name, (args, expected) = UPLOADS
    out = _run_script(name, args, monkeypatch, capsys)
    assert out.startswith("CPU: ") and "|---" in out
    for text in expected:
        assert text in out, f"{name}: {text!r} missing from its output"


@pytest.mark.slow
@pytest.mark.browser
def test_browser_steps_benchmark_runs(monkeypatch, capsys):
    if not Path("/usr/bin/chromium").is_file():
        pytest.skip("/usr/bin/chromium not found (install it with .ci/install_browser.sh); browser-only benchmark")
    pytest.importorskip("playwright.async_api", reason="playwright is not installed")
    name, (args, expected) = BROWSER_STEPS
    out = _run_script(name, args, monkeypatch, capsys)
    assert out.startswith("CPU: ") and "|---" in out
    for text in expected:
        found = text.search(out) if isinstance(text, re.Pattern) else text in out
        assert found, f"{name}: {text!r} missing from its output"
