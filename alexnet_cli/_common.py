"""What several commands share: argument types (argparse calls them on the raw strings) and per-image output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def epoch_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated epochs like 0,1,2,5, got {text!r}") from None


def report_per_image(rows: list[dict[str, Any]], failures: list[str], as_json: bool,
                     lines: Callable[[dict[str, Any]], Iterable[str]]) -> int:
    """Print one line per failed image on stderr, then ``rows`` as one JSON list or as text.

    Returns the exit status: 2 when any image failed (the others are still reported), else 0.
    """
    for message in failures:
        print(f"alexnet: error: {message}", file=sys.stderr)
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(row["image"])
            for line in lines(row):
                print(f"  {line}")
    return 2 if failures else 0
