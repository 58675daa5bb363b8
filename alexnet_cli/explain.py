"""`alexnet explain`: which pixels of an image a class score depends on (Grad-CAM, occlusion or saliency), as a PNG."""

from __future__ import annotations

import argparse
import sys

from alexnet_cli._common import positive_int

METHODS = ("gradcam", "occlusion", "saliency")  # explorer.attribution.METHODS, without importing torch here


def _opacity(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "explain",
        help="heat map of the pixels a class score depends on, drawn over the image (PNG)",
        description="Explain one image's classification. The image is read as in validation (shorter side to "
        "256, centre 256x256) and the network sees its centre 227x227 crop; the map covers that crop. Methods: "
        "gradcam (Grad-CAM at conv5 after its ReLU, 13x13 cells placed at their receptive fields' centres), "
        "occlusion (a patch of the training mean slid over the image; the drop in the class's probability; one "
        "forward pass per window), saliency (|gradient| of the class score per pixel, largest over colours; "
        "coloured up to its 99.5th percentile). "
        "Prints the predicted class and where the map peaks.",
    )
    p.add_argument("image", metavar="IMAGE", help="an image file (jpg, png, webp, bmp, tiff, ...)")
    p.add_argument("--method", choices=METHODS, default="gradcam", help="attribution method (default: gradcam)")
    p.add_argument("--class", dest="class_name", metavar="NAME",
                   help="the class to explain: a name (tench), a folder name (n01440764) or an index "
                   "(default: the predicted class)")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="a checkpoint.pt of `alexnet train`, or its run folder (default: the bundled reference)")
    p.add_argument("--out", required=True, metavar="FILE.png", help="where to write the picture")
    p.add_argument("--opacity", type=_opacity, default=0.5, help="of the heat map over the photo (default: 0.5)")
    p.add_argument("--patch", type=positive_int, default=32, help="occlusion: patch side in pixels (default: 32)")
    p.add_argument("--stride", type=positive_int, default=16, help="occlusion: step in pixels (default: 16)")
    p.add_argument("--fill", choices=("mean", "grey"), default="mean",
                   help="occlusion: the patch is the training mean image or plain grey (default: mean)")
    p.add_argument("--score", choices=("probability", "logit"), default="probability",
                   help="occlusion: the drop in the class's softmax probability, or in its logit (when the "
                   "probability is near 1 and barely moves) (default: probability)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar (occlusion)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from alexnet.checkpoint import atomic_write_bytes
    from alexnet.data import decode_image_file
    from alexnet.predict import load_classifier
    from explorer.attribution import class_index, gradcam, grey_fill, occlusion, overlay_png, saliency
    from explorer.dataset_examples import network_view

    image = decode_image_file(args.image)  # a bad file fails here, before the model is loaded
    classifier = load_classifier(args.checkpoint)
    model, names = classifier.model.eval(), classifier.class_names
    target = None
    if args.class_name is not None:
        try:
            target = class_index(args.class_name, classifier.classes, names)
        except KeyError as exc:
            print(f"alexnet: error: {exc.args[0]}", file=sys.stderr)
            return 2
    x = classifier.preset(image.unsqueeze(0))
    with torch.inference_mode():
        probs = model(x).softmax(dim=1)[0]
    predicted = int(probs.argmax())
    target = predicted if target is None else target
    if args.method == "gradcam":
        heat = gradcam(model, x, target)
    elif args.method == "saliency":
        heat = saliency(model, x, target)
    else:
        from tqdm.auto import tqdm

        preset = classifier.preset
        fill = grey_fill(preset.stats.mean_image, preset.crop_size) if args.fill == "grey" else 0.0
        with tqdm(desc="occlusion", unit="window", leave=False, disable=not args.progress) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            heat = occlusion(model, x, target, patch=args.patch, stride=args.stride, fill=fill, score=args.score,
                             progress=progress)
    y, xx = np.unravel_index(int(np.argmax(heat)), heat.shape)
    title = f"{args.method}: {names[target]}"
    # Saliency maps are a few very bright pixels: colour them up to the 99.5th percentile, or all else is dark.
    vmax = (float(np.percentile(heat, 99.5)) or None) if args.method == "saliency" else None
    png = overlay_png(network_view(image, classifier.preset.crop_size), heat, opacity=args.opacity, title=title,
                      vmax=vmax)
    atomic_write_bytes(png, args.out)
    side = heat.shape[0]
    print(f"predicted: {names[predicted]} ({100 * float(probs[predicted]):.1f}%)")
    if target != predicted:
        print(f"explained: {names[target]} ({100 * float(probs[target]):.1f}%)")
    print(f"{args.method} map peaks at row {y}, column {xx} of the {side}x{heat.shape[1]} crop "
          f"({_where(y, xx, side)}), value {float(heat[y, xx]):.4g}")
    print(f"wrote {args.out}")
    return 0


def _where(y: int, x: int, side: int) -> str:
    """Which ninth of the picture a pixel is in, in words."""
    rows, cols = ("top", "middle", "bottom"), ("left", "centre", "right")
    row, col = rows[min(3 * y // side, 2)], cols[min(3 * x // side, 2)]
    return "centre" if (row, col) == ("middle", "centre") else f"{row} {col}"
