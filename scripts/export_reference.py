"""Export a finished (or stopped) training run as the package's bundled reference model.

    .venv/bin/python scripts/export_reference.py RUN_DIR [--data DIR] [--command "..."]

Scores the run's last checkpoint on the validation split by centre crop and by the
paper's 10 crops, measures the conv1 kernels against the run's initial weights
(snapshot epoch 0) with explorer.kernels' scores, writes alexnet/assets/reference/
(conv weights fp16, metrics.jsonl, snapshots, provenance.json) and the README's
picture docs/reference_conv1.png. Every number it writes comes from these measurements.
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

from alexnet.checkpoint import load_checkpoint, model_from_checkpoint
from alexnet.evaluate import evaluate_checkpoint
from alexnet.paths import REPO_ROOT, data_root
from alexnet.reference import REFERENCE_DIR, export_reference
from alexnet.runs import list_snapshots, read_metrics
from explorer.kernels import kernel_grid, kernel_scores, random_orientation_threshold, tower_summary

# A kernel counts as "oriented" when it is more oriented than 99% of random Gaussian kernels of its
# shape (explorer.kernels.oriented_share): about 1% of the initial weights pass, by construction.
ORIENTED_QUANTILE = 0.99
# Snapshots small enough to ship (about 4.7 MB each for two towers) yet spanning the run.
SHIPPED_SNAPSHOTS = 5


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
    model = model_from_checkpoint(load_checkpoint(path), strict=False)
    return model.layer("conv1").weight.detach().float().numpy()


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="runs/<name> folder with checkpoint.pt, metrics.jsonl, snapshots/")
    parser.add_argument("--data", type=Path, help="dataset folder (default: the run's own data folder)")
    parser.add_argument("--command", help="the exact command that trained the run (default: rebuilt from config.json)")
    parser.add_argument("--commit", help="the commit that trained the run (default: this checkout's HEAD)")
    parser.add_argument("--started", type=float, help="UNIX time the run started, for wall time")
    parser.add_argument("--out", type=Path, default=REFERENCE_DIR, help="where to write (default: %(default)s)")
    parser.add_argument("--picture", type=Path, default=REPO_ROOT / "docs" / "reference_conv1.png",
                        help="conv1 kernels before/after, for the README (default: %(default)s)")
    args = parser.parse_args(argv)

    config = json.loads((args.run_dir / "config.json").read_text())
    checkpoint = args.run_dir / "checkpoint.pt"
    final = load_checkpoint(checkpoint)
    epoch = int(final["epoch"])
    data = args.data or Path(config.get("data") or data_root() / "imagenette")
    print(f"scoring {checkpoint} (epoch {epoch}) on {data}/val ...", flush=True)
    errors = evaluate_checkpoint(checkpoint, data, crops=("centre", "ten_crop"), device="cpu", progress=True)

    snapshots = list_snapshots(args.run_dir)
    towers = int(config["towers"])
    conv1_by_epoch = {e: conv1_of(path) for e, path in snapshots.items()}
    initial = conv1_by_epoch[0]
    trained = model_from_checkpoint(final).layer("conv1").weight.detach().float().numpy()
    metrics = read_metrics(args.run_dir)
    epochs_kept = sorted(snapshots)
    picks = sorted({epochs_kept[round(i * (len(epochs_kept) - 1) / (SHIPPED_SNAPSHOTS - 1))]
                    for i in range(SHIPPED_SNAPSHOTS)}) if len(epochs_kept) > SHIPPED_SNAPSHOTS else epochs_kept

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
        "wall_clock_s": round(datetime.now(UTC).timestamp() - args.started, 1) if args.started else None,
        "final_val_error": {
            "centre_top1": errors["centre"]["top1_error"], "centre_top5": errors["centre"]["top5_error"],
            "ten_crop_top1": errors["ten_crop"]["top1_error"], "ten_crop_top5": errors["ten_crop"]["top5_error"],
        },
        "chance_top1_error": 1 - 1 / len(final.get("class_names") or [0] * 10),
        "conv1_kernels": {
            "oriented_rule": f"orientation selectivity above the {ORIENTED_QUANTILE:.0%} quantile of random "
                             "Gaussian kernels of the same shape",
            "oriented_threshold": random_orientation_threshold(tuple(initial.shape[1:]), ORIENTED_QUANTILE),
            "initial": kernel_report(initial, towers),
            "trained": kernel_report(trained, towers),
            "by_snapshot_epoch": {str(e): kernel_report(conv1_by_epoch[e], towers) for e in epochs_kept},
        },
        "init_bias": config.get("init_bias", 1.0),
        "shipped_snapshots": picks,
        "exported": datetime.now(UTC).isoformat(timespec="seconds"),
        "export_command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    export_reference(args.run_dir, provenance, snapshot_epochs=picks, directory=args.out)
    save_kernel_picture(initial, trained, towers, epoch, args.picture)
    print(json.dumps(provenance, indent=2))
    print(f"wrote {args.out} and {args.picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
