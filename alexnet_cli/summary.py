"""`alexnet summary`: the layer table (shapes, parameters, multiply-adds) computed from a model."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "summary",
        help="print the layer table (output shape, parameters, multiply-adds) of a model variant",
        description="Print each layer's output shape, parameter count and multiply-adds, "
        "computed from the model itself for one 3x227x227 image.",
    )
    p.add_argument("--towers", type=int, choices=(1, 2), default=1, help="1 = single tower, 2 = the two-GPU form")
    p.add_argument("--num-classes", type=int, default=1000, help="outputs of fc8 (default: 1000)")
    p.add_argument("--no-lrn", action="store_true", help="drop the LRN layers (paper's ablation)")
    p.add_argument("--checkpoint", help="summarise the model stored in this checkpoint (or run folder) instead")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from alexnet.checkpoint import load_checkpoint, model_from_checkpoint
    from alexnet.model import AlexNet
    from alexnet.summary import format_summary, layer_summary

    if args.checkpoint:
        model = model_from_checkpoint(load_checkpoint(args.checkpoint), strict=False)
    else:
        model = AlexNet(num_classes=args.num_classes, towers=args.towers, lrn=not args.no_lrn)
    print(format_summary(layer_summary(model)))
    return 0
