"""`alexnet units`: the dataset patches that drive a channel hardest (top 9), and its feature visualisation, as PNGs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alexnet_cli._common import positive_int

LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7")  # the paper network's; checked in run()


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "units",
        help="top-9 dataset patches of a layer's channels (and a channel's feature visualisation) as PNGs",
        description="One pass over the dataset's train and val images (5,000 for Imagenette; a few minutes on a "
        "CPU, then cached per model and files) finds, for every channel of conv1..conv5 and every fc6/fc7 unit, "
        "the 9 images where it responds most; each is shown as the receptive field around that place (the whole "
        "227x227 crop for fc units). Writes <out>/<layer>_chNNN_top9.png for --channel or for every channel of "
        "the layer, and with --channel also <out>/<layer>_chNNN_vis.png: an image optimised to excite the "
        "channel (conv layers; about 10-30 s).",
    )
    p.add_argument("--data", default=None,
                   help="dataset folder with train/ and val/ (ImageFolder layout) "
                   "(default: <ALEXNET_DATA_ROOT>/imagenette)")
    p.add_argument("--layer", default="conv5", help=f"one of {', '.join(LAYERS)} (default: conv5)")
    p.add_argument("--channel", type=int, default=None, metavar="N",
                   help="one channel (default: every channel of the layer)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the PNGs (created if missing)")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="a checkpoint.pt of `alexnet train`, or its run folder (default: the bundled reference)")
    p.add_argument("--steps", type=positive_int, default=256,
                   help="feature visualisation: optimisation steps (default: 256)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm.auto import tqdm

    from alexnet.checkpoint import atomic_write_bytes
    from alexnet.paths import data_root
    from alexnet.predict import load_classifier
    from explorer.dataset_examples import DecodedImages, build_unit_examples, top_patches, unit_layers
    from explorer.figures import png_bytes
    from explorer.grids import tile

    classifier = load_classifier(args.checkpoint)
    known = unit_layers(classifier.model)
    if args.layer not in known:
        return _fail(f"unknown layer {args.layer!r}; known: {', '.join(known)}")
    if args.channel is not None and not 0 <= args.channel < known[args.layer]:
        return _fail(f"{args.layer} has channels 0..{known[args.layer] - 1}, not {args.channel}")
    index = build_unit_examples(classifier, args.data or data_root() / "imagenette", show_progress=args.progress)
    layer = index.layers[args.layer]
    out = Path(args.out)
    channels = range(layer.channels) if args.channel is None else [args.channel]
    images = DecodedImages(index, progress=args.progress) if len(channels) > 1 else None
    for channel in tqdm(channels, desc=f"{args.layer} patches", unit="channel", leave=False,
                        disable=not args.progress or len(channels) == 1):
        grid = tile(top_patches(index, args.layer, channel, images=images), cols=3, pad=2)
        png = png_bytes(grid)
        atomic_write_bytes(png, out / f"{args.layer}_ch{channel:03d}_top9.png")
    print(f"{args.layer}: top {layer.values.shape[1]} of {len(index.paths)} images; "
          f"wrote {len(channels)} grid{'s' if len(channels) > 1 else ''} to {out}")
    if args.channel is None:
        return 0
    c = args.channel
    names = [index.classes[int(index.labels[i])] for i in layer.images[c]]
    print(f"channel {c}: maxima {', '.join(f'{v:.3g}' for v in layer.values[c])}")
    print(f"  from classes: {', '.join(_readable(classifier, n) for n in names)}")
    if layer.field is None:
        print("feature visualisation: conv layers only (fc units see the whole image)")
        return 0
    from explorer.feature_vis import visualise_channel

    mean = classifier.preset.stats.mean_image.mean(dim=(1, 2))
    with tqdm(total=args.steps, desc="feature visualisation", unit="step", leave=False,
              disable=not args.progress) as bar:
        vis = visualise_channel(classifier.model.eval(), args.layer, c, mean_rgb=mean, steps=args.steps,
                                progress=lambda done, total: bar.update(done - bar.n))
    path = out / f"{args.layer}_ch{c:03d}_vis.png"
    atomic_write_bytes(png_bytes(np.ascontiguousarray(vis)), path)
    print(f"wrote {path}")
    return 0


def _readable(classifier, folder_name: str) -> str:
    """A class folder's readable name (tench for n01440764) when the model knows it."""
    if folder_name in classifier.classes:
        return classifier.class_names[classifier.classes.index(folder_name)]
    return folder_name


def _fail(message: str) -> int:
    print(f"alexnet: error: {message}", file=sys.stderr)
    return 2
