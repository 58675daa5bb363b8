"""`alexnet evaluate`: top-1/top-5 error of a checkpoint, centre crop and the paper's 10 crops."""

from __future__ import annotations

import argparse
import json

from alexnet_cli._common import positive_int


def register(subparsers) -> None:
    e = subparsers.add_parser(
        "evaluate",
        help="top-1/top-5 error of a checkpoint on a data folder (centre crop and/or the paper's 10 crops)",
        description=(
            "Score a training checkpoint on <data>/<split> (ImageFolder layout): top-1 and top-5 error "
            "with the centre 227x227 crop and/or the paper's ten crops (corners, centre and their mirrors, "
            "softmax averaged; section 4.1). Images are normalised with the statistics saved in the checkpoint."
        ),
    )
    e.add_argument("--checkpoint", metavar="FILE",
                   help="a checkpoint.pt written by `alexnet train`, or its run folder (default: the bundled "
                   "reference model)")
    e.add_argument("--data", default=None,
                   help="dataset folder holding the split (default: <ALEXNET_DATA_ROOT>/imagenette)")
    e.add_argument("--split", default="val", help="subfolder to score (default: val)")
    e.add_argument("--crops", choices=("centre", "ten", "both"), default="both",
                   help="centre crop, the paper's 10 crops, or both (default: both)")
    e.add_argument("--subset", type=positive_int, metavar="N", help="score a fixed seeded subset of N images")
    e.add_argument("--batch-size", type=positive_int, default=128, help="images per batch (default: 128)")
    e.add_argument("--device", default="auto", help="cpu, cuda ... (default: auto)")
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    e.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    e.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from alexnet.evaluate import evaluate_classifier
    from alexnet.paths import data_root
    from alexnet.predict import load_classifier

    crops = {"centre": ("centre",), "ten": ("ten_crop",), "both": ("centre", "ten_crop")}[args.crops]
    classifier = load_classifier(args.checkpoint)
    results = evaluate_classifier(
        classifier, args.data or data_root() / "imagenette", split=args.split, crops=crops, subset=args.subset,
        batch_size=args.batch_size, device=args.device, progress=args.progress, trained_on=classifier.classes,
    )
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for crop, r in results.items():
            label = "centre crop" if crop == "centre" else "10 crops   "
            print(f"{label}: top-1 error {100 * r['top1_error']:.2f}%, top-5 error {100 * r['top5_error']:.2f}% "
                  f"({r['images']} images)")
    return 0
