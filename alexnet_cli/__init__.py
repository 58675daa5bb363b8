"""The `alexnet` console script: one module per command, parsers built without importing torch.

Each command module in this package defines ``register(subparsers)``, which adds its parser using
only argparse (so ``alexnet --help`` and ``alexnet COMMAND --help`` answer without loading torch),
and ``run(args) -> int``, which imports the library it drives. The library modules know nothing
of the command line (torchvision's references/classification keep the same split).

User errors (missing data, corrupt checkpoint, bad option) end as one line on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Command name -> module in this package, in the order `alexnet --help` lists them.
COMMANDS: dict[str, str] = {
    "train": "alexnet_cli.train",
    "evaluate": "alexnet_cli.evaluate",
    "predict": "alexnet_cli.predict",
    "neighbours": "alexnet_cli.neighbours",
    "explain": "alexnet_cli.explain",
    "units": "alexnet_cli.units",
    "summary": "alexnet_cli.summary",
    "relu-tanh": "alexnet_cli.relu_tanh",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alexnet",
        description="AlexNet (Krizhevsky, Sutskever, Hinton 2012): train with the paper's recipe, "
        "evaluate, classify images, find their nearest training images, inspect, and reproduce Figure 1.",
        epilog="`alexnet COMMAND --help` describes each command's options and defaults.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS.values():
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from alexnet.errors import USER_ERRORS  # torch-free, but only needed once a command runs

    try:
        return int(args.run(args) or 0)
    except USER_ERRORS as exc:
        print(f"alexnet: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("alexnet: interrupted", file=sys.stderr)
        return 130


__all__ = ["COMMANDS", "build_parser", "main"]
