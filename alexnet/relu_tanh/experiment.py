"""The Figure 1 experiment: learning-rate sweeps, final runs, condition studies, resume (run_experiment), merge_units.

Each activation gets its own learning rate from a short sweep over a log grid (the paper:
"chosen independently to make training as fast as possible"): every rate trains for a few
epochs on a subset, the one with the lowest training error at the end wins; a winner at the
edge of the grid extends the grid. The whole sweep is recorded. Every finished sweep entry
and run is a "unit" kept in results.json, so a stopped experiment resumes where it was and
runs made in parallel merge. This module writes results.json only: the command line draws
the figures from it (``explorer.figure1``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from alexnet.errors import DataError
from alexnet.relu_tanh.config import (
    MEASURES,
    RESULTS_FORMAT,
    SATURATED,
    ReluTanhConfig,
    _cfg_with,
    _jsonable,
    _jsonable_overrides,
    _same_training,
    _trains_like,
    condition,
)
from alexnet.relu_tanh.grid import choose_rate
from alexnet.relu_tanh.results import device_description, images_per_s, load_results_raw, write_results
from alexnet.relu_tanh.summaries import (
    decision_errors,
    epochs_to_target,
    full_grid_entry,
    full_run_rank,
    summarise_run,
    sweep_score,
)
from alexnet.relu_tanh.summaries import ratio as _ratio
from alexnet.relu_tanh.training import _Data, _prepare, _train, pick_threads

Progress = Callable[[float, str], None]  # (fraction done, message), after each epoch


def _unit_key(*parts) -> str:
    return "|".join(str(p) for p in parts)


def _run_condition(
    name: str,
    config: ReluTanhConfig,
    seeds: tuple[int, ...],
    full: _Data,
    sweep_data: _Data,
    done: dict,
    save: Callable[[], None],
    step: Callable[[int, str], None],
    record: dict,
    missing: list[str] | None = None,
    unit_prefix: str | None = None,
    in_progress: dict | None = None,
) -> dict:
    """Each activation's learning rate (sweep, full grid, fixed or shared), then one run per activation and seed.

    ``record`` is filled in as the work goes (so a partial results file shows what is done) and returned.
    With ``missing`` (a list), nothing is trained: unfinished units are appended to it and skipped.
    ``unit_prefix`` names the units (default ``name``): conditions that train a given (activation, lr,
    seed) exactly as the baseline does (e.g. "shared-lr", which only changes the choice) reuse its units.
    """
    prefix = unit_prefix or name
    in_progress = {} if in_progress is None else in_progress
    sweep: dict[str, dict] = {}
    chosen: dict[str, float] = {}
    runs: list[dict] = []

    def refresh() -> None:
        record.update({
            "name": name, "sweep": sweep, "chosen_lr": chosen, "runs": runs,
            "ratio": _ratio(runs, config.error_measure, config.activations),
            "ratio_by_measure": {m: _ratio(runs, m, config.activations) for m in MEASURES},
        })

    def sweep_unit(act: str, lr: float) -> dict | None:
        key = _unit_key(prefix, "sweep", act, f"{lr:g}")
        if key not in done:
            if missing is not None:
                missing.append(key)
                return None
            done[key] = _train(sweep_data, config, act, lr, seeds[0], config.sweep_epochs, False,
                               lambda msg: step(1, f"[{name} sweep] {msg}"), measure_test=False)
            save()
        else:
            step(config.sweep_epochs, "")
        return done[key]

    def run_unit(act: str, lr: float, seed: int, beat: int | None = None) -> dict | None:
        """A final run (to 25% or the cap): finished, trained now, or (report-only) None and listed as missing.

        ``beat``: a rate of the same grid reached 25% in this many epochs, so this one stops there if it has
        not reached 25% by then ("beaten": it cannot be the fastest; this saves most of a grid's CPU time).
        """
        key = _unit_key(prefix, "run", act, seed, f"{lr:g}")
        # A rate stopped early as "beaten" in a grid and now asked for in full (e.g. the condition relu-lr-0.001)
        # is trained again to 25% or the cap; the same seed repeats its first epochs, so the full curve replaces it.
        wanted_in_full = beat is None and key in done and done[key].get("stopped") == "beaten"
        if key in done and not wanted_in_full:
            step(config.max_epochs, "")
            return done[key]
        if missing is not None:
            if key not in missing:  # a full grid's chosen rate is asked for again as the first seed's run
                missing.append(key)
            return None

        def keep(curve_so_far: dict) -> None:
            in_progress[key] = curve_so_far
            save()

        epochs = config.max_epochs if beat is None else min(beat, config.max_epochs)
        curve = _train(full, config, act, lr, seed, epochs, True, lambda msg: step(1, f"[{name}] {msg}"),
                       on_epoch=keep, mechanism=True)
        if epochs < config.max_epochs and curve["stopped"] == "max_epochs":
            reached, _ = epochs_to_target(decision_errors(curve, config), config.target_error)
            curve["stopped"] = "target" if reached is not None else "beaten"
        step(config.max_epochs - len(curve["running_error"]), "")  # the epochs it did not need
        done[key] = curve
        in_progress.pop(key, None)
        save()
        return curve

    refresh()
    fixed, grids = dict(config.fixed_lr), dict(config.full_grid)
    for ai, act in enumerate(config.activations):
        if act in fixed:
            chosen[act] = fixed[act]
            continue
        if config.shared_lr and ai > 0:
            if config.activations[0] in chosen:
                chosen[act] = chosen[config.activations[0]]
            continue
        if act in grids:
            found = choose_rate(grids[act], lambda lr, beat, act=act: run_unit(act, lr, seeds[0], beat),
                            lambda c: full_run_rank(c, config), config.lr_grid_extensions,
                            reached=lambda c: epochs_to_target(decision_errors(c, config), config.target_error)[0])
        else:
            found = choose_rate(config.lr_grid, lambda lr, _beat, act=act: sweep_unit(act, lr),
                            lambda c: (sweep_score(c, config),), config.lr_grid_extensions)
        if found is None:  # report-only and a unit is missing: no choice yet
            continue
        grid, curves, best = found
        sweep[act] = full_grid_entry(grid, curves, config, seeds[0]) if act in grids else {
            "lrs": grid,
            "curves": {f"{lr:g}": curves[lr] for lr in grid},
            "scores": {f"{lr:g}": sweep_score(curves[lr], config) for lr in grid},
            "criterion": f"{config.error_measure} training error after {config.sweep_epochs} epoch(s) on "
            f"{len(sweep_data.train_y)} training images, seed {seeds[0]}; diverged = 1.0; ties go to the smaller lr",
        }
        chosen[act] = best
        refresh()
    for seed in seeds:
        for act in config.activations:
            if act not in chosen:
                continue
            key = _unit_key(prefix, "run", act, seed, f"{chosen[act]:g}")
            curve = run_unit(act, chosen[act], seed)
            if curve is None and key in in_progress:  # a run stopped from outside: its curve so far, "interrupted"
                curve = in_progress[key]
            if curve is not None:
                runs.append(summarise_run(act, seed, chosen[act], curve, config))
                refresh()
            if missing is None:
                save()
    return record


def run_experiment(
    config: ReluTanhConfig,
    progress: Progress | None = None,
    *,
    data=None,
    out_dir: str | os.PathLike | None = None,
    command: str | None = None,
    resume: bool = False,
    report_only: bool = False,
    study_only: bool = False,
) -> dict:
    """Run the sweep, the runs and any condition study; return the results dict (also written if ``out_dir``).

    ``progress(fraction, message)`` is called after each epoch. ``data`` is a ``Cifar10``
    (default: loaded from ``config.data_root``). With ``out_dir`` the results are
    written atomically after every finished run (``"status": "partial"``) and at the
    end; ``resume=True`` reuses finished sweep entries and runs from a partial file
    made with the same config. ``report_only=True`` trains nothing: it rebuilds the results
    in ``out_dir`` from the finished units of its partial file (for a run that had to stop);
    ``missing_units`` lists what is not there. ``study_only=True`` trains only the studied
    conditions and reports the baseline's finished units (for a study run beside the main run).
    """
    from alexnet.data.cifar10 import load_cifar10

    t_start = time.perf_counter()
    prev_threads = torch.get_num_threads()
    out_path = Path(out_dir) / "results.json" if out_dir is not None else None
    done: dict[str, dict] = {}
    in_progress: dict[str, dict] = {}
    elapsed_before = 0.0
    invocations: list[dict] = []
    old: dict = {}
    if (resume or report_only) and out_path is not None and out_path.is_file():
        old = json.loads(out_path.read_text())
        if _same_training(old.get("config") or {}, config):
            done = old.get("units", {})
            # Runs stopped from outside: shown until the run is trained again (from the start) and finishes.
            in_progress = old.get("in_progress", {})
            elapsed_before = float(old.get("wall_time_s") or 0.0)
            invocations = list(old.get("invocations", []))
        elif report_only:
            raise DataError(f"{out_path} was made with another config; nothing to report")
    elif report_only:
        raise DataError(f"report-only needs a results file from an earlier run: {out_path} is missing")
    if not report_only:
        invocations.append({"command": command, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    missing: list[str] | None = [] if report_only else None
    baseline_skipped: list[str] = []  # baseline units a study-only run leaves to the main run
    if data is None:
        data = load_cifar10(config.data_root)
    threads = int(old.get("threads", 1)) if report_only else pick_threads(config)
    torch.set_num_threads(threads)
    try:
        prepared: dict[str, tuple[_Data, _Data]] = {}

        def data_for(cfg: ReluTanhConfig) -> tuple[_Data, _Data]:
            """(all training images, the sweep's subset) as ``cfg`` feeds them (the input scale is a condition)."""
            if cfg.input_norm not in prepared:
                whole = _prepare(data, cfg, cfg.train_images)
                sweep_n = cfg.sweep_train_images
                if sweep_n is not None and cfg.train_images is not None:
                    sweep_n = min(sweep_n, cfg.train_images)
                prepared[cfg.input_norm] = (whole, _prepare(data, cfg, sweep_n) if sweep_n != cfg.train_images
                                            else whole)
            return prepared[cfg.input_norm]

        full, sweep_data = data_for(config)
        n_eval = len(full.eval_y) if full.eval_y is not None else 0

        plan = [("baseline", config, config.seeds)] + [
            (c, _cfg_with(config, condition(c).overrides), config.condition_seeds) for c in config.conditions
        ]
        total = 0
        for _, cfg, seeds in plan:
            grids = dict(cfg.full_grid)
            chooses = [a for i, a in enumerate(cfg.activations)
                       if a not in dict(cfg.fixed_lr) and not (cfg.shared_lr and i > 0)]
            total += sum(len(grids[a]) * cfg.max_epochs if a in grids else len(cfg.lr_grid) * cfg.sweep_epochs
                         for a in chooses) + len(seeds) * len(cfg.activations) * cfg.max_epochs
        state = {"done": 0}

        def step(n_epochs: int, message: str) -> None:
            state["done"] += n_epochs
            if progress is not None and (message or n_epochs):
                progress(min(1.0, state["done"] / max(1, total)), message)

        results: dict[str, Any] = {}

        def snapshot(status: str, conditions: list[dict]) -> dict:
            base = conditions[0] if conditions else {}
            return {
                "format": RESULTS_FORMAT,
                "status": status,
                "command": command if not report_only else old.get("command"),
                "invocations": invocations,
                "missing_units": (missing or []) + baseline_skipped,
                "wall_time_s": round(elapsed_before + (0.0 if report_only else time.perf_counter() - t_start), 1),
                # What wall_time_s already held when this invocation resumed (so a merge counts only new time).
                "resumed_from_wall_time_s": (float(old.get("resumed_from_wall_time_s") or 0.0) if report_only
                                             else round(elapsed_before, 1)),
                "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "config": _jsonable(config),
                "data": {"source": data.source, "train_images": len(full.train_y),
                         "sweep_train_images": len(sweep_data.train_y), "test_images": len(full.test_y)},
                "device": device_description(),
                "threads": threads,
                "torch_version": torch.__version__,
                "error_measure": {
                    "decision": config.error_measure,
                    "running": "error of each training batch's predictions just before its update, averaged over "
                    "the epoch (what cuda-convnet reports while training)",
                    # Says "subset" unless it is every training image: the committed 7.1x rests on this measure.
                    "post_epoch": f"pass after each epoch over all {n_eval:,} training images"
                    if n_eval == len(full.train_y) else
                    f"pass after each epoch over a fixed subset of {n_eval:,} of the {len(full.train_y):,} training "
                    "images (not a full pass)",
                },
                "mechanism": {
                    "images": len(full.probe_x) if full.probe_x is not None else 0, "threshold": SATURATED,
                    "what": "in each final run's \"mechanism\": at epoch 0 (init) and after every epoch, on fixed "
                    "training images, the share of each conv layer's units with |tanh| above the threshold (tanh "
                    "runs) and every layer's weight std",
                },
                "sweep": base.get("sweep", {}),
                "chosen_lr": base.get("chosen_lr", {}),
                "runs": base.get("runs", []),
                "ratio": base.get("ratio", {}),
                "ratio_by_measure": base.get("ratio_by_measure", {}),
                "conditions": [
                    {**c, "note": condition(c["name"]).note,
                     "overrides": _jsonable_overrides(condition(c["name"]).overrides)}
                    for c in conditions[1:]
                ],
                "images_per_s": images_per_s(done, len(full.train_y)),
                "units": done,
                "in_progress": in_progress,
            }

        finished: list[dict] = []

        def save() -> None:
            if out_path is not None and not report_only:
                write_results(snapshot("partial", finished), out_path)

        for name, cfg, seeds in plan:
            finished.append({"name": name})
            prefix = "baseline" if _trains_like(cfg, config) else name
            skip = missing if (missing is not None or not (study_only and name == "baseline")) else baseline_skipped
            _run_condition(name, cfg, seeds, *data_for(cfg), done, save, step, finished[-1], skip, prefix,
                           in_progress)
            if not report_only:
                save()
        results = snapshot("partial" if (missing or baseline_skipped) else "complete", finished)
        if out_path is not None:
            write_results(results, out_path)
        if progress is not None:
            progress(1.0, "done")
        return results
    finally:
        torch.set_num_threads(prev_threads)


def merge_units(target: Path, sources: list[Path]) -> int:
    """Add the finished units (and invocations) of ``sources`` to the results file ``target``; returns how many.

    Only files made with the same training settings are merged (``DataError`` otherwise); a unit already
    in ``target`` is kept as it is. A ``target`` that does not exist yet starts as the first source.
    """
    if not target.is_file() and sources:
        # Parallel processes write to their own folders; the merged file can then live anywhere, e.g. in results/.
        main = load_results_raw(sources[0])
        added = len(main.get("units") or {})
        sources = sources[1:]
    else:
        main = load_results_raw(target)
        added = 0
    base = ReluTanhConfig.from_dict(main["config"])
    for src in sources:
        other = load_results_raw(src)
        if not _same_training(other.get("config") or {}, base):
            raise DataError(f"{src} was made with other training settings than {target}; not merged")
        for key, unit in (other.get("units") or {}).items():
            if key not in main["units"]:
                main["units"][key] = unit
                added += 1
        main.setdefault("in_progress", {})
        for key, curve in (other.get("in_progress") or {}).items():
            if key not in main["units"] and key not in main["in_progress"]:
                main["in_progress"][key] = curve
        own = float(other.get("wall_time_s") or 0) - float(other.get("resumed_from_wall_time_s") or 0)
        main["wall_time_s"] = round(float(main.get("wall_time_s") or 0) + max(0.0, own), 1)
        known = {(i.get("command"), i.get("started_utc")) for i in main.setdefault("invocations", [])}
        main["invocations"].extend(dict(inv, merged_from=str(src)) for inv in other.get("invocations", [])
                                   if (inv.get("command"), inv.get("started_utc")) not in known)
    write_results(main, target)
    return added
