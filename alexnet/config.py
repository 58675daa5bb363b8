"""The training recipe as one frozen dataclass whose defaults are the paper's.

Krizhevsky, Sutskever, Hinton, "ImageNet Classification with Deep Convolutional
Neural Networks", NIPS 2012, section 5 ("Details of learning") and section 4
(data augmentation). Each default below names its source; the ones the paper
does not fix (patience of the plateau rule, snapshot schedule, seed ...) say
why they were chosen. A run saves its config as ``config.json`` and inside
every checkpoint (``"train_config"``), so ``--resume`` continues with it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from alexnet.config_io import dataclass_from_dict

UpdateRule = Literal["paper", "torch"]
UPDATE_RULES: tuple[str, ...] = ("paper", "torch")

# Epochs at which the conv layers are snapshotted for the dashboard's training
# scrubber: roughly log-spaced, because filters change fastest early on; all
# conv layers of the two-tower net are ~4.7 MB in fp16, so 13 snapshots cost
# ~60 MB instead of ~420 MB for all 90 epochs. The last epoch is always added.
DEFAULT_SNAPSHOT_EPOCHS: tuple[int, ...] = (0, 1, 2, 3, 5, 8, 12, 18, 25, 35, 50, 70, 90)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (model, data, optimiser, schedule, bookkeeping)."""

    # --- data ---
    data: str | None = None  # folder with train/ and val/ (ImageFolder); None = <data root>/imagenette
    train_subset: int | None = None  # use a fixed, seeded subset of N training images (short runs)
    val_subset: int | None = None  # same for validation images
    stream: bool = False  # read images through DataLoader workers instead of holding them in memory
    workers: int = 4  # DataLoader worker processes for --stream
    # Real ImageNet trees hold a few files no decoder reads (truncated downloads, empty files); off, the
    # first stops the run with one line naming it; on, they are left out, listed in the run folder's
    # skipped.txt and counted in every epoch's line, so a 90-epoch run is not lost to one bad JPEG.
    skip_unreadable: bool = False
    crop_size: int = 227  # paper: 224 in the text; 227 is what makes conv1 produce 55x55 (alexnet.model)
    pca_std: float = 0.1  # paper sec. 4.1: PCA colour noise a_i ~ N(0, 0.1)
    flip: bool = True  # paper sec. 4.1: random horizontal reflections

    # --- model ---
    towers: int = 1  # 1 = single tower; the paper's own network is the two-GPU form (--towers 2)
    # Paper sec. 5: bias 1 on conv2/4/5 and fc6/7. On Imagenette at batch 128 and lr 0.01 that
    # init killed fc7's ReLUs within the first epoch (99.9% zeros, chance accuracy); Caffe's
    # bvlc_alexnet met the same flat loss and used 0.1. Kept at the paper's value by default.
    init_bias: float = 1.0

    # --- optimiser (paper sec. 5) ---
    batch_size: int = 128  # paper sec. 5: "batch size of 128 examples"
    lr: float = 0.01  # paper sec. 5: "initialized at 0.01"
    momentum: float = 0.9  # paper sec. 5: "momentum of 0.9"
    weight_decay: float = 5e-4  # paper sec. 5: "weight decay of 0.0005"
    update_rule: UpdateRule = "paper"  # paper sec. 5's exact rule (optim.PaperSGD); "torch" = torch SGD

    # --- learning-rate schedule (paper sec. 5) ---
    epochs: int = 90  # paper sec. 5: "roughly 90 cycles through the training set"
    lr_drop_factor: float = 10.0  # paper sec. 5: "divide the learning rate by 10"
    max_lr_drops: int = 3  # paper sec. 5: "reduced three times prior to termination"
    # Paper: drop "when the validation error rate stopped improving with the current
    # learning rate"; it gives no window. Validation error on a small set is noisy
    # from epoch to epoch, so one flat epoch is not a plateau; 5 epochs still lets
    # the three drops happen inside 90 epochs (ImageNet runs of the time dropped
    # about every 20-30 epochs).
    plateau_patience: int = 5

    # --- evaluation ---
    ten_crop_every: int = 0  # also report 10-crop error every K epochs (0 = only after the last epoch)
    eval_batch_size: int = 128  # images per evaluation batch (10-crop uses a tenth of it)

    # --- hardware ---
    device: str = "auto"  # "auto" = cuda when available, else cpu
    bf16: bool = False  # CUDA only: bfloat16 autocast for forward/backward (weights stay fp32)
    channels_last: bool = False  # CUDA only: NHWC memory layout, faster convolutions on tensor cores

    # --- bookkeeping ---
    name: str = "alexnet"  # run folder: <runs_dir>/<name>/
    runs_dir: str | None = None  # None = alexnet.paths.runs_root() ($ALEXNET_RUNS_DIR or ./runs)
    seed: int = 0  # seeds init, shuffling, augmentation and dropout (a run is reproducible on CPU)
    snapshot_epochs: tuple[int, ...] = DEFAULT_SNAPSHOT_EPOCHS  # see DEFAULT_SNAPSHOT_EPOCHS
    progress: bool = True  # tqdm progress bars (images/s)

    def __post_init__(self) -> None:
        # Tuples arrive as lists from JSON; normalise so configs compare and hash equal.
        object.__setattr__(self, "snapshot_epochs", tuple(sorted({int(e) for e in self.snapshot_epochs})))
        problems = []
        if self.towers not in (1, 2):
            problems.append(f"towers must be 1 or 2, got {self.towers}")
        if self.update_rule not in UPDATE_RULES:
            problems.append(f"update_rule must be one of {UPDATE_RULES}, got {self.update_rule!r}")
        for name in ("batch_size", "epochs", "eval_batch_size", "crop_size"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("train_subset", "val_subset"):
            value = getattr(self, name)
            if value is not None and value < 1:
                problems.append(f"{name} must be at least 1, got {value}")
        if self.lr <= 0:
            problems.append(f"lr must be positive, got {self.lr}")
        if not 0 <= self.momentum < 1:
            problems.append(f"momentum must be in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            problems.append(f"weight_decay must be non-negative, got {self.weight_decay}")
        if self.lr_drop_factor <= 1:
            problems.append(f"lr_drop_factor must be above 1, got {self.lr_drop_factor}")
        for name in ("max_lr_drops", "plateau_patience", "ten_crop_every", "workers"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be non-negative, got {getattr(self, name)}")
        if self.pca_std < 0:
            problems.append(f"pca_std must be non-negative, got {self.pca_std}")
        if any(e < 0 for e in self.snapshot_epochs):
            problems.append("snapshot_epochs must be non-negative")
        if not self.name or "/" in self.name or "\\" in self.name or self.name in (".", ".."):
            problems.append(f"name must be a plain folder name, got {self.name!r}")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (str, int, float, bool, None, tuple): fit for JSON and weights_only loads."""
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a saved dict, refusing keys this version does not know."""
        return dataclass_from_dict(cls, values, what="training config")

    def replace(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)

    def should_snapshot(self, epoch: int) -> bool:
        """Whether the conv layers are snapshotted after ``epoch`` (0 = initial weights; last always)."""
        return epoch in self.snapshot_epochs or epoch == self.epochs

    def ten_crop_due(self, epoch: int) -> bool:
        """Whether ``epoch``'s validation also runs the 10-crop test (every K epochs, and the last)."""
        return epoch == self.epochs or (self.ten_crop_every > 0 and epoch % self.ten_crop_every == 0)
