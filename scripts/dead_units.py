"""Share of zero outputs after each ReLU of a checkpoint's AlexNet, on validation images.

    .venv/bin/python scripts/dead_units.py runs/NAME/checkpoint.pt [--data DIR] [--images 10]

This is how the paper-bias run was diagnosed (README, "The bundled reference model"): after one
epoch with bias 1, fc7's ReLUs were all but dead, so every image got the same prediction.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from alexnet.checkpoint import load_checkpoint, model_from_checkpoint
from alexnet.data import DatasetStats, EvalPreset, find_split, load_image_folder
from alexnet.paths import data_root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--data", type=Path, default=data_root() / "imagenette", help="dataset with val/")
    parser.add_argument("--images", type=int, default=10, help="validation images, evenly spaced (default: 10)")
    args = parser.parse_args(argv)

    checkpoint = load_checkpoint(args.checkpoint)
    model = model_from_checkpoint(checkpoint)
    val = load_image_folder(find_split(args.data, "val"), progress=False)
    step = max(1, len(val) // args.images)
    x = EvalPreset(DatasetStats.from_state_dict(checkpoint["data_stats"]))(val.images[::step][: args.images])
    print(f"epoch {checkpoint.get('epoch')}, {len(x)} images: share of zeros after each ReLU")
    with torch.no_grad():
        for name, layer in [*model.features.named_children(), *model.classifier.named_children()]:
            x = layer(x)
            if name.startswith("relu"):
                print(f"  {name}: {(x == 0).float().mean().item():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
