"""The `alexnet` console script: train, evaluate, summary, relu-tanh.

Each subcommand lives beside the code it drives: a module exposes
``register_cli(subparsers)`` which adds its parser and sets ``func``.
User errors (missing data, corrupt checkpoint, bad option) end as one line on
stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from alexnet.checkpoint import CheckpointError
from alexnet.pretrained import WeightsUnavailableError

USER_ERRORS: tuple[type[Exception], ...] = (CheckpointError, WeightsUnavailableError, FileNotFoundError)


def _register_summary(subparsers) -> None:
    p = subparsers.add_parser(
        "summary",
        help="print the layer table (output shape, parameters, multiply-adds) of a model variant",
        description="Print each layer's output shape, parameter count and multiply-adds, "
        "computed from the model itself for one 3x227x227 image.",
    )
    p.add_argument("--towers", type=int, choices=(1, 2), default=1, help="1 = single tower, 2 = the two-GPU form")
    p.add_argument("--num-classes", type=int, default=1000, help="outputs of fc8 (default: 1000)")
    p.add_argument("--no-lrn", action="store_true", help="drop the LRN layers (paper's ablation)")
    p.add_argument("--checkpoint", help="summarise the model stored in this checkpoint instead")
    p.set_defaults(func=_summary)


def _summary(args: argparse.Namespace) -> int:
    from alexnet.checkpoint import load_checkpoint, model_from_checkpoint
    from alexnet.model import AlexNet
    from alexnet.summary import format_summary, layer_summary

    if args.checkpoint:
        model = model_from_checkpoint(load_checkpoint(args.checkpoint), strict=False)
    else:
        model = AlexNet(num_classes=args.num_classes, towers=args.towers, lrn=not args.no_lrn)
    print(format_summary(layer_summary(model)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from alexnet import relu_tanh, train

    parser = argparse.ArgumentParser(
        prog="alexnet",
        description="AlexNet (Krizhevsky, Sutskever, Hinton 2012): train with the paper's recipe, "
        "evaluate, inspect, and reproduce Figure 1.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train.register_cli(subparsers)
    _register_summary(subparsers)
    relu_tanh.register_cli(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS + _extra_user_errors() as exc:
        print(f"alexnet: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("alexnet: interrupted", file=sys.stderr)
        return 130


def _extra_user_errors() -> tuple[type[Exception], ...]:
    from alexnet.data import DataError
    from alexnet.train import TrainError

    return (DataError, TrainError)


if __name__ == "__main__":
    sys.exit(main())
