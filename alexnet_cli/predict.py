"""`alexnet predict`: the top-K classes of image files, by the bundled reference model or a checkpoint."""

from __future__ import annotations

import argparse

from alexnet_cli._common import positive_int, report_per_image


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="top-K classes with probabilities for image files (default model: the bundled reference)",
        description="Classify image files. Each image is read as in validation (shorter side to 256, centre "
        "256x256, minus the training set's mean image) and scored on its centre 227x227 crop, or on the paper's "
        "ten crops with their softmax averaged (--ten-crop). The bundled reference model knows the 10 "
        "Imagenette classes only: a photo of anything else still gets the nearest of those ten. An image that "
        "cannot be read gets a one-line error and the others are still classified; the exit status is then 2.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (jpg, png, webp, bmp, tiff, ...)")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="a checkpoint.pt of `alexnet train`, or its run folder (default: the bundled reference)")
    p.add_argument("--top", type=positive_int, default=5, metavar="K", help="classes per image (default: 5)")
    p.add_argument("--ten-crop", action="store_true", help="average the softmax over the paper's ten crops")
    p.add_argument("--json", action="store_true",
                   help='print one JSON list: [{"image", "top": [{"class", "name", "probability"}, ...]}, ...]')
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from alexnet.predict import load_classifier, predict_files

    classifier = load_classifier(args.checkpoint)
    results = predict_files(classifier, args.images, k=args.top, ten_crop=args.ten_crop)
    return report_per_image(
        [r for r in results if "error" not in r], [r["error"] for r in results if "error" in r], args.json,
        lambda row: (f"{rank}. {t['name']:<20s} {100 * t['probability']:5.1f}%  ({t['class']})"
                     for rank, t in enumerate(row["top"], start=1)),
    )
