"""Print the README's tables about the bundled reference model from its provenance.json.

    .venv/bin/python scripts/reference_report.py [--reference DIR]

Every number comes from alexnet/assets/reference/provenance.json, which scripts/export_reference.py
wrote from its own measurements (rerun that to measure again); this script only formats them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alexnet.reference import REFERENCE_DIR, reference_provenance

SCHEME_LABELS = {"fp32": "fp32 (as trained)", "fp16": "fp16", "int8": "int8, one scale per row",
                 "int4": "4-bit, groups of 64", "int2": "2-bit, groups of 64 (4 levels, rms scale)"}


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def report(provenance: dict) -> str:
    errors = provenance["final_val_error"]
    lines = [
        f"Shipped: epoch {provenance['epochs_completed']} of {provenance['epochs_planned']} planned, fully "
        f"connected layers stored as {SCHEME_LABELS[provenance['fc_scheme']]}.",
        "",
        "| validation error (Imagenette val, 1,000 images) | top-1 | top-5 |",
        "|---|---|---|",
        f"| shipped model, centre crop | {_pct(errors['centre_top1'])} | {_pct(errors['centre_top5'])} |",
        f"| shipped model, 10 crops | {_pct(errors['ten_crop_top1'])} | {_pct(errors['ten_crop_top5'])} |",
        f"| chance (10 classes) | {_pct(provenance['chance_top1_error'])} | 50.0% |",
        "",
        "| fully connected layers stored as | whole model on disk | fc weights | centre-crop top-1 error | top-5 |",
        "|---|---|---|---|---|",
    ]
    rows = provenance["compression"]["rows"]
    for row in rows:
        chosen = " **(shipped)**" if row["scheme"] == provenance["fc_scheme"] else ""
        lines.append(f"| {SCHEME_LABELS[row['scheme']]}{chosen} | {row['bytes'] / 1e6:.1f} MB | "
                     f"{row['fc_weight_bytes'] / 1e6:.1f} MB | {_pct(row['centre_top1'])} | "
                     f"{_pct(row['centre_top5'])} |")
    nn = provenance["fc7_neighbours"]
    lines += [
        "",
        f"Figure 4's claim, measured: for {_pct(nn['majority_is_true_class'])} of the {nn['val_images']:,} "
        f"validation images, most of the {nn['k']} training images nearest in fc7 space (of "
        f"{nn['train_images']:,}) are of the image's own class; the model's centre-crop top-1 accuracy is "
        f"{_pct(1 - errors['centre_top1'])}.",
    ]
    kernels = provenance["conv1_kernels"]
    initial, trained = kernels["initial"], kernels["trained"]
    lines += [
        "",
        "| conv1 | initial weights | after the shipped epoch |",
        "|---|---|---|",
        f"| oriented kernels (more oriented than 99% of random kernels of the same shape) | "
        f"{initial['oriented_share']:.0%} | **{trained['oriented_share']:.0%}** |",
    ]
    if "colour_specificity_by_tower" in trained:
        a, b = initial["colour_specificity_by_tower"], trained["colour_specificity_by_tower"]
        lines.append(f"| mean colour specificity, tower 1 / tower 2 (0 = grey, about 2/3 = random) | "
                     f"{a[0]:.2f} / {a[1]:.2f} | **{b[0]:.2f} / {b[1]:.2f}** |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=REFERENCE_DIR, help="the reference folder (default: bundled)")
    args = parser.parse_args(argv)
    print(report(reference_provenance(args.reference)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
