"""Shared helpers for the benchmark scripts: machine description, interleaved timing, tables.

Every script measures its baseline and its candidate in the same process, alternating them
repetition by repetition, so that load from other processes on a shared machine hits both
alike; reported numbers are medians and the ratio of medians.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `python benchmarks/bench_x.py` from a plain checkout
    sys.path.insert(0, str(REPO_ROOT))


def cpu_model() -> str:
    """The CPU's model name as lscpu reports it (falls back to platform.processor())."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        text = ""
    for line in text.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """One line naming the machine and software, printed at the top of every benchmark."""
    parts = [
        f"CPU: {cpu_model()}",
        f"logical CPUs: {os.cpu_count()}",
        f"torch {torch.__version__}",
        f"python {platform.python_version()}",
    ]
    if torch.cuda.is_available():
        parts.append(f"GPU: {torch.cuda.get_device_name()}")
    try:
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        parts.append(f"load avg {load}")
    except OSError:
        pass
    return " | ".join(parts)


def base_parser(description: str, reps: int = 5) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--reps", type=int, default=reps, help=f"timed repetitions per candidate (default {reps})")
    parser.add_argument(
        "--threads",
        default="1,2",
        help="comma-separated torch thread counts to measure (default 1,2)",
    )
    return parser


def thread_counts(spec: str) -> list[int]:
    counts = [int(t) for t in spec.split(",") if t.strip()]
    if not counts or min(counts) < 1:
        raise SystemExit(f"--threads needs positive integers, got {spec!r}")
    return counts


class Timings(dict):
    """{candidate: [wall seconds per repetition]} plus ``cpu``: the same for process CPU seconds.

    On a shared machine wall time includes waiting for a core; process CPU time
    (``time.process_time``, all threads of this process) counts only the work done, so its
    ratios stay meaningful under load. With more than one torch thread it also counts OpenMP
    threads spinning at barriers, so it is the better yardstick at 1 thread.
    """

    def __init__(self, names):
        super().__init__({name: [] for name in names})
        self.cpu: dict[str, list[float]] = {name: [] for name in names}


def interleaved(candidates: dict[str, Callable[[], object]], reps: int, warmup: int = 1) -> Timings:
    """Seconds per call of each candidate, alternating candidates within every repetition."""
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    times = Timings(candidates)
    for _ in range(reps):
        for name, fn in candidates.items():
            cpu, wall = time.process_time(), time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - wall)
            times.cpu[name].append(time.process_time() - cpu)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> str:
    """min..max of a list of seconds, in ms, to show how noisy a row was."""
    return f"{min(values) * 1e3:.0f}..{max(values) * 1e3:.0f}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain Markdown table (pastes straight into BENCHMARKS.md)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(line(row))
    sys.stdout.flush()
