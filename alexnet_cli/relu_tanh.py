"""`alexnet relu-tanh`: the Figure 1 experiment (ReLU vs tanh on CIFAR-10) from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any


def register(subparsers) -> None:
    # The torch-free config module, so that `alexnet relu-tanh --help` answers without loading torch.
    from alexnet.relu_tanh.config import (
        INITS,
        INPUT_NORMS,
        KNOWN_CONDITIONS,
        MEASURES,
        RESULTS_DIR,
        WHY_CONDITIONS,
        WHY_DIR,
        WHY_FULL_GRID,
        WHY_SEEDS,
    )

    p = subparsers.add_parser(
        "relu-tanh",
        help="reproduce Figure 1: epochs to 25%% training error on CIFAR-10, ReLU vs tanh",
        description="Train the four-layer CIFAR-10 network (cuda-convnet layers-19pct) with ReLU and with tanh, "
        "each at its own swept learning rate, until 25% training error; write results.json, then draw "
        "figure1.png, figure1_<condition>.png and conditions.png from it.",
    )
    p.add_argument("--data-root", help="CIFAR-10 folder: WebP sheets or a torchvision root "
                   "(default: $ALEXNET_DATA_ROOT/cifar10)")
    p.add_argument("--download", action="store_true", help="let torchvision download CIFAR-10 into --data-root")
    p.add_argument("--out", default=None, help=f"output folder (default: {RESULTS_DIR}; --quick: a temporary one)")
    p.add_argument("--quick", action="store_true", help="small subset, one seed, 4 epochs: well under a minute")
    grids = " ".join(f"{a}={','.join(f'{lr:g}' for lr in rates)}" for a, rates in WHY_FULL_GRID)
    p.add_argument("--why", action="store_true",
                   help=f"the why-study (is tanh slow, or saturated?): --full-grid {grids} with seed 0, the chosen "
                   f"rates with --seeds {' '.join(map(str, WHY_SEEDS))}, --study {' '.join(WHY_CONDITIONS)} with "
                   f"seed 0; default --out {WHY_DIR} (other options still apply)")
    p.add_argument("--seeds", type=int, nargs="+", help="seeds (default 0 1 2)")
    p.add_argument("--threads", type=int, help="torch threads (default: the faster of 1 and 2)")
    p.add_argument("--max-epochs", type=int, help="cap per run (default 60; the committed results used 40)")
    p.add_argument("--lr-grid", type=float, nargs="+", help="learning rates to sweep")
    p.add_argument("--sweep-epochs", type=int, help="epochs per sweep run (default 2)")
    p.add_argument("--sweep-images", type=int, help="training images in the sweep (default 10000)")
    p.add_argument("--lr", action="append", default=[], metavar="ACT=LR",
                   help="fix an activation's learning rate and skip its sweep, e.g. --lr relu=0.01")
    p.add_argument("--full-grid", nargs="+", default=[], metavar="ACT=LR,LR,...",
                   help="skip that activation's sweep: train every rate in full (first seed) and keep the one that "
                   "reaches 25%% in the fewest epochs, e.g. --full-grid relu=0.001,0.003,0.01 tanh=0.003,0.01,0.03")
    p.add_argument("--error-measure", choices=MEASURES, help="which training error decides 25%% (default running)")
    p.add_argument("--eval-images", type=int,
                   help="post-epoch error over this fixed training subset (default 10000; 0: all of them)")
    p.add_argument("--init", choices=INITS, help="weight initialisation (default layers-19pct)")
    p.add_argument("--input-norm", choices=INPUT_NORMS,
                   help="mean-image: pixels minus the mean image (default); unit-variance: also / each channel's std")
    p.add_argument("--mechanism-images", type=int,
                   help="images the per-epoch saturation and weight-std record is measured on (default 256; 0: off)")
    p.add_argument("--momentum", type=float, help="SGD momentum (default 0.9)")
    p.add_argument("--lrn", action="store_true", help="add local response normalisation after pools 1 and 2")
    p.add_argument("--study", nargs="+", default=[], metavar="CONDITION",
                   help="conditions to rerun with --condition-seeds to see what moves the ratio: "
                   f"{', '.join(sorted(KNOWN_CONDITIONS))}, or <relu|tanh>-lr-<rate> (that activation at that rate)")
    p.add_argument("--condition-seeds", type=int, nargs="+", help="seeds per studied condition (default 0)")
    p.add_argument("--resume", action="store_true", help="reuse finished sweep entries and runs in --out")
    p.add_argument("--merge", nargs="+", metavar="RESULTS_JSON",
                   help="with --report-only: first add the finished units of these results files (runs made in "
                   "parallel with the same training settings, e.g. other seeds or a study)")
    p.add_argument("--study-only", action="store_true",
                   help="train only the --study conditions; the baseline shows its finished units from --out")
    p.add_argument("--report-only", action="store_true",
                   help="train nothing: rebuild results.json and the figures in --out from its finished runs "
                   "(for a run that had to stop; its own config is used)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from alexnet.data.cifar10 import load_cifar10
    from alexnet.errors import DataError
    from alexnet.relu_tanh.config import (
        QUICK_FIELDS,
        RESULTS_DIR,
        WHY_CONDITIONS,
        WHY_DIR,
        ReluTanhConfig,
        why_config,
    )
    from alexnet.relu_tanh.experiment import merge_units, run_experiment
    from alexnet.relu_tanh.results import load_results_raw
    from explorer.figure1 import summary_line, write_figures

    kw: dict[str, Any] = {}
    for name, attr in (("max_epochs", "max_epochs"), ("sweep_epochs", "sweep_epochs"),
                       ("sweep_train_images", "sweep_images"), ("threads", "threads"),
                       ("error_measure", "error_measure"), ("init", "init"), ("momentum", "momentum"),
                       ("data_root", "data_root"), ("input_norm", "input_norm"),
                       ("mechanism_images", "mechanism_images")):
        if getattr(args, attr) is not None:
            kw[name] = getattr(args, attr)
    if args.eval_images is not None:
        kw["eval_train_images"] = args.eval_images or None  # 0 on the command line: every training image
    if args.seeds:
        kw["seeds"] = tuple(args.seeds)
    if args.lr_grid:
        kw["lr_grid"] = tuple(args.lr_grid)
    if args.condition_seeds:
        kw["condition_seeds"] = tuple(args.condition_seeds)
    if args.study:
        kw["conditions"] = tuple(args.study)
    elif args.why:
        kw["conditions"] = WHY_CONDITIONS  # also for --report-only, whose file may hold only some of them
    if args.lrn:
        kw["lrn"] = True
    fixed = []
    for item in args.lr:
        act, _, value = item.partition("=")
        try:
            fixed.append((act, float(value)))
        except ValueError:
            raise DataError(f"--lr expects ACT=LR such as relu=0.01, got {item!r}") from None
    if fixed:
        kw["fixed_lr"] = tuple(fixed)
    if args.full_grid:
        kw["full_grid"] = tuple(_full_grid(item) for item in args.full_grid)
    out = Path(args.out) if args.out else (None if args.quick else WHY_DIR if args.why else RESULTS_DIR)
    if args.report_only:
        if out is None:
            raise DataError("--report-only needs --out (or no --quick)")
        if args.merge:  # first: the merged file may not exist yet (it then starts as the first source)
            merge_units(out / "results.json", [Path(m) for m in args.merge])
        config = ReluTanhConfig.from_dict(load_results_raw(out / "results.json")["config"])
        # Seeds and the study may change (they do not alter finished units); everything else comes from the file.
        neutral = {k: kw[k] for k in ("seeds", "conditions", "condition_seeds") if k in kw}
        try:
            config = dataclasses.replace(config, **neutral)
        except ValueError as exc:
            raise DataError(str(exc)) from None
        results = run_experiment(config, data=load_cifar10(config.data_root), out_dir=out, report_only=True)
        # The experiment writes results.json only; the figures are drawn from it here, on top of both layers.
        write_figures(results, out)
        print(f"{summary_line(results)}; status {results['status']}; missing {len(results['missing_units'])} units")
        return 0
    try:
        fields = {**(QUICK_FIELDS if args.quick else {}), **kw}
        config = why_config(**fields) if args.why else ReluTanhConfig(**fields)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    if out is None:
        import tempfile

        out = Path(tempfile.mkdtemp(prefix="alexnet-relu-tanh-"))
    data = load_cifar10(config.data_root, download=args.download)
    argv = sys.argv[sys.argv.index("relu-tanh") + 1:] if "relu-tanh" in sys.argv else sys.argv[1:]
    command = " ".join(["alexnet", "relu-tanh", *argv])
    t0 = time.perf_counter()

    def report(fraction: float, message: str) -> None:
        if message:
            print(f"[{fraction:6.1%} {time.perf_counter() - t0:7.0f}s] {message}", file=sys.stderr, flush=True)

    results = run_experiment(config, report, data=data, out_dir=out, command=command, resume=args.resume,
                             study_only=args.study_only)
    figures = write_figures(results, out)
    print(f"{summary_line(results)}; chosen lr {results['chosen_lr']}; wall time {results['wall_time_s']:.0f}s")
    for r in results["runs"]:
        print(f"  {r['activation']:4s} seed {r['seed']}: epochs to 25% {r['epochs_to_25']}, "
              f"test error {r['test_error']}")
    print("wrote " + ", ".join(str(path) for path in [out / "results.json", *figures.values()]))
    return 0


def _full_grid(item: str) -> tuple[str, tuple[float, ...]]:
    """``relu=0.001,0.003`` -> ("relu", (0.001, 0.003)); a one-line DataError for anything else."""
    from alexnet.errors import DataError

    act, _, rates = item.partition("=")
    try:
        return act, tuple(float(r) for r in rates.split(","))
    except ValueError:
        raise DataError(f"--full-grid expects ACT=LR,LR,... such as tanh=0.003,0.01, got {item!r}") from None
