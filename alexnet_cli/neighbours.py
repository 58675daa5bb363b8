"""`alexnet neighbours`: the training images nearest each image in fc7 space (the paper's Figure 4)."""

from __future__ import annotations

import argparse

from alexnet_cli._common import positive_int, report_per_image


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "neighbours",
        help="the training images whose fc7 vectors are nearest each image's (Figure 4, right)",
        description="For each image, the K training images whose fc7 activations (4,096 numbers after the ReLU, "
        "centre crop) are nearest in Euclidean distance, as in the paper's Figure 4. The training set's vectors "
        "are computed once with a progress bar and cached (keyed by the model's weights and the folder's "
        "files), so later queries take one forward pass.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--data", default=None,
                   help="dataset folder with train/ (ImageFolder layout) (default: <ALEXNET_DATA_ROOT>/imagenette)")
    p.add_argument("--split", default="train", help="subfolder searched (default: train)")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="a checkpoint.pt of `alexnet train`, or its run folder (default: the bundled reference)")
    p.add_argument("--k", type=positive_int, default=6, help="neighbours per image (default: 6, as Figure 4)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON list: [{"image", "neighbours": [{"image", "class", "distance"}, ...]}, ...]')
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from alexnet.data import decode_image_file
    from alexnet.errors import DataError
    from alexnet.neighbours import fc7_features, nearest, neighbour_rows, training_features
    from alexnet.paths import data_root
    from alexnet.predict import load_classifier

    classifier = load_classifier(args.checkpoint)
    train = training_features(classifier, args.data or data_root() / "imagenette", split=args.split,
                              progress=args.progress)
    decoded, failures = [], []
    for path in args.images:
        try:
            decoded.append((path, decode_image_file(path)))
        except DataError as exc:
            failures.append(str(exc))
    rows = []
    if decoded:
        queries = fc7_features(classifier, torch.stack([image for _, image in decoded]))
        distances, indices = nearest(train["features"], queries, args.k, sq_norms=train["sq_norms"])
        for (path, _), found in zip(decoded, neighbour_rows(train, distances, indices), strict=True):
            rows.append({"image": str(path), "neighbours": found})
    return report_per_image(
        rows, failures, args.json,
        lambda row: (f"{rank}. {n['class']}  distance {n['distance']:8.2f}  {n['image']}"
                     for rank, n in enumerate(row["neighbours"], start=1)),
    )
