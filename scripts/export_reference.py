"""Export a training run as the package's bundled reference model (the whole network, safetensors).

    .venv/bin/python scripts/export_reference.py RUN_DIR [--checkpoint FILE] [--data DIR] [--command "..."]

1. Scores the run's checkpoint (``--checkpoint``, default RUN_DIR/checkpoint.pt) on the validation
   split (centre crop) as stored in fp32, and with its fully connected layers in fp16, int8 (one scale
   per output row) and 4-bit (groups of 64) as ``alexnet.quantize`` stores them; ships the smallest
   whose top-1 error is within ``--tolerance`` (0.5 points) of fp32's, and scores that one with ten
   crops too.
2. Measures the paper's Figure 4 claim: the share of validation images whose 6 nearest training
   images in fc7 space are mostly of their own class.
3. Measures conv1's kernels (explorer.kernels) after every epoch the run snapshotted.
4. Writes alexnet/assets/reference/ (alexnet.reference: weight shards, conv1 of every epoch,
   metrics.jsonl, provenance.json with all of the above) and docs/reference_conv1.png.
Every number it writes comes from these measurements.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from alexnet.checkpoint import load_checkpoint
from alexnet.data import find_split, load_image_folder
from alexnet.evaluate import evaluate_classifier
from alexnet.neighbours import fc7_features, majority_agreement, training_features
from alexnet.paths import REPO_ROOT, data_root
from alexnet.predict import classifier_from_checkpoint
from alexnet.quantize import SCHEMES, stored_bytes
from alexnet.reference import (
    REFERENCE_DIR,
    checkpoint_from_tensors,
    export_metadata,
    export_reference,
    export_tensors,
)
from alexnet.runs import list_snapshots, read_metrics
from explorer.kernels import kernel_grid, kernel_scores, random_orientation_threshold, tower_summary

# A kernel counts as "oriented" when it is more oriented than 99% of random Gaussian kernels of its
# shape (explorer.kernels.oriented_share): about 1% of the initial weights pass, by construction.
ORIENTED_QUANTILE = 0.99
NEIGHBOURS = 6  # Figure 4 shows six training images per query


def kernel_report(conv1: np.ndarray, towers: int) -> dict:
    """Figure 3's measurable claims for conv1 weights (96, 3, 11, 11)."""
    scores = kernel_scores(conv1, towers, quantile=ORIENTED_QUANTILE)
    report = {
        "oriented_share": float(scores["oriented"].mean()),
        "median_orientation_selectivity": float(np.median(scores["orientation_selectivity"])),
        "mean_colour_specificity": float(scores["colour_specificity"].mean()),
    }
    if towers == 2:
        report["colour_specificity_by_tower"] = [row["mean_colour_specificity"] for row in tower_summary(scores)]
    return report


def conv1_of(path: Path) -> np.ndarray:
    return load_checkpoint(path)["model"]["features.conv1.weight"].float().numpy()


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def save_kernel_picture(initial: np.ndarray, trained: np.ndarray, towers: int, epoch: int, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), dpi=110)
    for i, (weights, title) in enumerate([(initial, "initial (paper init)"), (trained, f"after epoch {epoch}")]):
        ax = fig.add_subplot(1, 2, i + 1)
        ax.imshow(kernel_grid(weights, contrast="per-kernel", towers=towers), interpolation="nearest")
        ax.set_title(f"conv1, {title}" + ("; tower 1 | tower 2" if towers == 2 else ""))
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def compression_table(checkpoint: dict, data: Path, tolerance: float) -> tuple[list[dict], str]:
    """Size and centre-crop error of the model under each scheme; the scheme to ship."""
    rows = []
    for scheme in SCHEMES:
        tensors = export_tensors(checkpoint, scheme)
        stored = checkpoint_from_tensors(tensors, export_metadata(checkpoint, scheme))
        classifier = classifier_from_checkpoint(stored, f"{scheme} export")
        print(f"scoring the {scheme} model on {data}/val ...", flush=True)
        err = evaluate_classifier(classifier, data, crops=("centre",), device="cpu", progress=True,
                                  trained_on=classifier.classes)["centre"]
        rows.append({"scheme": scheme, "bytes": stored_bytes(tensors),
                     "fc_weight_bytes": stored_bytes({k: v for k, v in tensors.items() if k.startswith("classifier.")
                                                      and ".weight" in k}),
                     "centre_top1": err["top1_error"], "centre_top5": err["top5_error"], "images": err["images"]})
    fp32 = next(r for r in rows if r["scheme"] == "fp32")["centre_top1"]
    ok = [r for r in rows if r["centre_top1"] <= fp32 + tolerance + 1e-12]
    return rows, min(ok, key=lambda r: r["bytes"])["scheme"]


def neighbour_agreement(checkpoint: dict, data: Path) -> dict:
    """Figure 4's measurable claim on the shipped model: nearest-neighbour majority vs true class."""
    classifier = classifier_from_checkpoint(checkpoint, "shipped model")
    train = training_features(classifier, data, progress=True)
    val = load_image_folder(find_split(data, "val"), progress=False)
    queries = fc7_features(classifier, val.images)
    share = majority_agreement(train, queries, val.targets, k=NEIGHBOURS)
    return {"k": NEIGHBOURS, "train_images": len(train["paths"]), "val_images": len(val),
            "majority_is_true_class": share}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="runs/<name> folder with config.json, metrics.jsonl, snapshots/")
    parser.add_argument("--checkpoint", type=Path, help="the full checkpoint to ship (default: RUN_DIR/checkpoint.pt)")
    parser.add_argument("--data", type=Path, help="dataset folder (default: the run's own data folder)")
    parser.add_argument("--command", help="the exact command that trained the run (default: rebuilt from config.json)")
    parser.add_argument("--commit", help="the commit that trained the run (default: this checkout's HEAD)")
    parser.add_argument("--tolerance", type=float, default=0.005,
                        help="largest top-1 error above fp32's that a compression may add (default: 0.005)")
    parser.add_argument("--note", action="append", default=[], help="a sentence for provenance's notes (repeatable)")
    parser.add_argument("--out", type=Path, default=REFERENCE_DIR, help="where to write (default: %(default)s)")
    parser.add_argument("--picture", type=Path, default=REPO_ROOT / "docs" / "reference_conv1.png",
                        help="conv1 kernels before/after, for the README (default: %(default)s)")
    args = parser.parse_args(argv)

    config = json.loads((args.run_dir / "config.json").read_text())
    final = load_checkpoint(args.checkpoint or args.run_dir / "checkpoint.pt")
    epoch = int(final["epoch"])
    data = args.data or Path(config.get("data") or data_root() / "imagenette")
    rows, scheme = compression_table(final, data, args.tolerance)
    shipped = checkpoint_from_tensors(export_tensors(final, scheme), export_metadata(final, scheme))
    print(f"shipping {scheme}; scoring it with ten crops ...", flush=True)
    classifier = classifier_from_checkpoint(shipped, "shipped model")
    errors = evaluate_classifier(classifier, data, crops=("centre", "ten_crop"), device="cpu", progress=True,
                                 trained_on=classifier.classes)
    print("fc7 nearest neighbours ...", flush=True)
    neighbours = neighbour_agreement(shipped, data)

    snapshots = {e: p for e, p in list_snapshots(args.run_dir).items() if e <= epoch}
    towers = int(config["towers"])
    conv1_by_epoch = {e: conv1_of(path) for e, path in snapshots.items()}
    initial = conv1_by_epoch[0]
    trained = final["model"]["features.conv1.weight"].float().numpy()
    metrics = [r for r in read_metrics(args.run_dir) if r["epoch"] <= epoch]
    provenance = {
        "command": args.command or "alexnet train " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in config.items()
            if k in ("data", "towers", "init_bias", "epochs", "seed", "name", "runs_dir")),
        "commit": args.commit or git_commit(),
        "data": {"path": str(data), "train_images": metrics[-1].get("train_images") if metrics else None,
                 "val_images": errors["centre"]["images"], "classes": final.get("class_names")},
        "epochs_completed": epoch,
        "epochs_planned": config["epochs"],
        "device": f"cpu ({platform.processor() or platform.machine()}), torch {torch.__version__}, "
                  f"{torch.get_num_threads()} threads",
        "train_wall_time_s": round(sum(r.get("epoch_seconds", 0.0) for r in metrics), 1),
        "final_val_error": {
            "centre_top1": errors["centre"]["top1_error"], "centre_top5": errors["centre"]["top5_error"],
            "ten_crop_top1": errors["ten_crop"]["top1_error"], "ten_crop_top5": errors["ten_crop"]["top5_error"],
        },
        "chance_top1_error": 1 - 1 / len(final.get("class_names") or [0] * 10),
        "fc_scheme": scheme,
        "compression": {"tolerance_top1": args.tolerance, "rows": rows},
        "fc7_neighbours": neighbours,
        "conv1_kernels": {
            "oriented_rule": f"orientation selectivity above the {ORIENTED_QUANTILE:.0%} quantile of random "
                             "Gaussian kernels of the same shape",
            "oriented_threshold": random_orientation_threshold(tuple(initial.shape[1:]), ORIENTED_QUANTILE),
            "initial": kernel_report(initial, towers),
            "trained": kernel_report(trained, towers),
            "by_snapshot_epoch": {str(e): kernel_report(conv1_by_epoch[e], towers) for e in sorted(snapshots)},
        },
        "init_bias": config.get("init_bias", 1.0),
        "notes": args.note,
        "exported": datetime.now(UTC).isoformat(timespec="seconds"),
        "export_command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    snapshot_states = {e: load_checkpoint(path)["model"] for e, path in snapshots.items()}
    metrics_text = "".join(json.dumps(r) + "\n" for r in metrics)
    export_reference(final, snapshot_states, metrics_text, provenance, fc_scheme=scheme, directory=args.out)
    save_kernel_picture(initial, trained, towers, epoch, args.picture)
    print(json.dumps({k: provenance[k] for k in ("final_val_error", "fc_scheme", "compression", "fc7_neighbours")},
                     indent=2))
    print(f"wrote {args.out} and {args.picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
