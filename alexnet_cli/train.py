"""`alexnet train`: the paper's recipe on an ImageFolder dataset (options map onto TrainConfig)."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from typing import Any

from alexnet.config import UPDATE_RULES, TrainConfig  # torch-free: the defaults shown in --help
from alexnet_cli._common import epoch_list, positive_int


def register(subparsers) -> None:
    d = TrainConfig()
    p = subparsers.add_parser(
        "train",
        help="train AlexNet with the paper's recipe on an ImageFolder dataset",
        description=(
            "Train AlexNet with the recipe of Krizhevsky et al. 2012, section 5: SGD, batch 128, momentum 0.9, "
            "weight decay 0.0005 (the paper's own update rule), learning rate 0.01 divided by 10 when "
            "validation error stops improving (at most 3 times), 90 epochs; random 227x227 crops, mirrors "
            "and PCA colour noise (section 4.1). Writes <runs-dir>/<name>/: config.json, metrics.jsonl (one "
            "line per epoch), checkpoint.pt (last completed epoch) and snapshots/ (conv layers, fp16). "
            "Options given with --resume override the run's saved config (e.g. --epochs to extend it). "
            "Data parallel: torchrun --nproc_per_node=N -m alexnet_cli train ..."
        ),
    )
    # Every option defaults to None (shown as the TrainConfig default in --help) so that with --resume
    # only the options actually given override the run's saved config.
    g = p.add_argument_group("data")
    g.add_argument("--data", default=None,
                   help="dataset folder with train/ and val/ in ImageFolder layout "
                        "(default: <ALEXNET_DATA_ROOT>/imagenette)")
    g.add_argument("--train-subset", type=positive_int, metavar="N",
                   help="train on a fixed seeded subset of N images (default: all)")
    g.add_argument("--val-subset", type=positive_int, metavar="N",
                   help="validate on a fixed seeded subset of N images (default: all)")
    g.add_argument("--stream", action="store_true", default=None,
                   help="read images with DataLoader workers instead of holding the set in memory "
                        "(datasets too big for memory)")
    g.add_argument("--workers", type=int, metavar="N", help=f"DataLoader workers for --stream (default: {d.workers})")
    g.add_argument("--skip-unreadable", action="store_true", default=None,
                   help="leave out image files that cannot be decoded (listed in <run>/skipped.txt, counted "
                        "in each epoch's line) instead of stopping at the first")
    g = p.add_argument_group("recipe (defaults: the paper, section 5)")
    g.add_argument("--towers", type=int, choices=(1, 2),
                   help=f"1 = single tower, 2 = the paper's two-GPU network (default: {d.towers})")
    g.add_argument("--epochs", type=positive_int, help=f"epochs (default: {d.epochs}, paper: 'roughly 90 cycles')")
    g.add_argument("--batch-size", type=positive_int, help=f"global batch size (default: {d.batch_size}, paper)")
    g.add_argument("--lr", type=float, help=f"initial learning rate (default: {d.lr}, paper)")
    g.add_argument("--momentum", type=float, help=f"momentum (default: {d.momentum}, paper)")
    g.add_argument("--weight-decay", type=float, help=f"weight decay (default: {d.weight_decay}, paper)")
    g.add_argument("--update-rule", choices=UPDATE_RULES,
                   help="paper: v <- 0.9v - 0.0005*lr*w - lr*grad, w <- w + v (section 5); torch: "
                        "torch.optim.SGD, equal while lr is constant (default: paper)")
    g.add_argument("--plateau-patience", type=int, metavar="EPOCHS",
                   help="divide the learning rate by 10 after this many epochs without a better validation "
                        f"top-1 error (default: {d.plateau_patience}; the paper gives no number)")
    g.add_argument("--max-lr-drops", type=int, metavar="N",
                   help=f"at most this many learning-rate drops (default: {d.max_lr_drops}, paper)")
    g.add_argument("--init-bias", type=float,
                   help=f"initial bias of conv2/4/5 and fc6/7 (default: {d.init_bias}, paper; "
                        "Caffe used 0.1 because 1 gave a flat loss)")
    g.add_argument("--pca-std", type=float,
                   help=f"standard deviation of the PCA colour noise (default: {d.pca_std}, paper; 0 = off)")
    g.add_argument("--seed", type=int, help=f"seed for init, subsets, shuffling, augmentation (default: {d.seed})")
    g = p.add_argument_group("evaluation")
    g.add_argument("--ten-crop-every", type=int, metavar="K",
                   help="also measure 10-crop validation error every K epochs "
                        "(default: 0 = only after the last epoch)")
    g.add_argument("--eval-batch-size", type=positive_int,
                   help=f"images per validation batch (default: {d.eval_batch_size})")
    g = p.add_argument_group("hardware")
    g.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: auto = cuda when available)")
    g.add_argument("--bf16", action="store_true", default=None, help="bfloat16 autocast (CUDA)")
    g.add_argument("--channels-last", action="store_true", default=None,
                   help="channels-last memory layout (CUDA)")
    g = p.add_argument_group("run")
    g.add_argument("--name", help=f"run name: the folder under --runs-dir (default: {d.name})")
    g.add_argument("--runs-dir", help="where runs are written (default: $ALEXNET_RUNS_DIR or ./runs)")
    g.add_argument("--resume", action="store_true",
                   help="continue the run from its last completed epoch (starts fresh if it has no checkpoint)")
    g.add_argument("--snapshot-epochs", type=epoch_list, metavar="E,E,...",
                   help="epochs after which the conv layers are saved for the dashboard, plus the last "
                        f"(default: {','.join(map(str, d.snapshot_epochs))})")
    g.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                   help="no progress bars (per-epoch lines are still printed)")
    p.set_defaults(run=run)


_CONFIG_FIELDS = {f.name for f in fields(TrainConfig)}


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, bool]:
    """The TrainConfig an ``alexnet train`` command line asks for, and whether to resume.

    With ``--resume`` and an existing run, the run's saved config.json is the base and
    only the options given on the command line change it.
    """
    from alexnet.errors import TrainError
    from alexnet.runs import CONFIG_FILE, run_dir_for

    given = {k: v for k, v in vars(args).items() if k in _CONFIG_FIELDS and v is not None}
    base: dict[str, Any] = {}
    if args.resume:
        probe = TrainConfig(**{k: v for k, v in given.items() if k in ("name", "runs_dir")})
        saved = run_dir_for(probe) / CONFIG_FILE
        if saved.is_file():
            try:
                base = json.loads(saved.read_text(encoding="utf-8"))
                TrainConfig.from_dict(base)
            except (ValueError, TypeError) as exc:
                raise TrainError(f"cannot resume: {saved} is not a valid run config ({exc})") from None
    try:
        return TrainConfig.from_dict({**base, **given}), bool(args.resume)
    except (ValueError, TypeError) as exc:
        raise TrainError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from alexnet.train import fit

    config, resume = config_from_args(args)
    fit(config, resume=resume)
    return 0


