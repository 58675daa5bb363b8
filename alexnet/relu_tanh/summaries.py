"""What results.json says about runs: epochs to 25%, a run's summary row, the tanh/ReLU ratio, lr ranks; no torch."""

from __future__ import annotations

from typing import Any

from alexnet.relu_tanh.config import MEASURES, ReluTanhConfig

# Per-epoch keys of a training curve copied into a run's summary row ("mechanism" only where it was recorded).
_RUN_KEYS = ("running_error", "post_epoch_error", "loss", "seconds", "test_error", "diverged", "stopped")


def epochs_to_target(errors: list[float | None], target: float = 0.25) -> tuple[int | None, float | None]:
    """(first epoch, 1-based, whose error is <= target; the same with linear interpolation between epochs).

    Epoch 0 is the untrained network at error 0.9 (ten classes), which anchors the interpolation of epoch 1.
    """
    prev = 0.9
    for i, e in enumerate(errors):
        if e is not None and e <= target:
            frac = (prev - target) / (prev - e) if prev > e else 1.0
            return i + 1, round(i + min(1.0, max(0.0, frac)), 3)
        if e is not None:
            prev = e
    return None, None


def decision_errors(curve: dict, config: ReluTanhConfig) -> list[float | None]:
    """The curve's errors under the measure that decides (running or post-epoch)."""
    return curve["running_error"] if config.error_measure == "running" else curve["post_epoch_error"]


def sweep_score(curve: dict, config: ReluTanhConfig) -> float:
    """A sweep run's score: its last training error (diverged: 1.0); the lowest wins."""
    if curve["diverged"]:
        return 1.0
    return float(decision_errors(curve, config)[-1])


def full_run_rank(curve: dict, config: ReluTanhConfig) -> tuple[int, float, float]:
    """How a rate trained in full ranks (lowest wins): reached 25% first by whole then interpolated epochs,
    then runs that never got there by their last error, diverged runs last."""
    if curve["diverged"]:
        return 2, 1.0, 1.0
    errors = decision_errors(curve, config)
    whole, interpolated = epochs_to_target(errors, config.target_error)
    if whole is not None:
        return 0, float(whole), float(interpolated)
    last = next((e for e in reversed(errors) if e is not None), 1.0)
    return 1, float(last), 0.0


def full_grid_entry(grid: list[float], curves: dict[float, dict], config: ReluTanhConfig, seed: int) -> dict:
    """The sweep entry of a rate grid trained in full: per rate its epochs to 25% (the score) and how it ended."""
    out: dict[str, Any] = {"kind": "full", "lrs": grid, "curves": {}, "scores": {}}
    for lr in grid:
        c = curves[lr]
        errors = decision_errors(c, config)
        whole, interpolated = epochs_to_target(errors, config.target_error)
        out["scores"][f"{lr:g}"] = interpolated  # None: never reached
        out["curves"][f"{lr:g}"] = {"diverged": c["diverged"], "stopped": c["stopped"], "epochs_run": len(errors),
                                    "epochs_to_25": whole, "last_error": errors[-1] if errors else None}
    out["criterion"] = (
        f"each rate trained in full with seed {seed} (to {config.target_error:.0%} or {config.max_epochs} epochs); "
        f"fewest epochs to {config.target_error:.0%} {config.error_measure} training error wins (score: "
        "interpolated epochs); if none got there, the lowest last error; ties go to the smaller lr")
    return out


def summarise_run(act: str, seed: int, lr: float, curve: dict, config: ReluTanhConfig) -> dict:
    """A run's row in results.json: its curves, epochs to 25% under both measures, and its mechanism record."""
    row = {"activation": act, "seed": seed, "lr": lr, "epochs": list(range(1, len(curve["running_error"]) + 1))}
    row.update({k: curve[k] for k in _RUN_KEYS})
    if "mechanism" in curve:  # units made before the record existed have none
        row["mechanism"] = curve["mechanism"]
    row["train_error"] = decision_errors(curve, config)
    row["epochs_to_25"] = {}
    row["epochs_to_25_interpolated"] = {}
    for m in MEASURES:
        whole, interp = epochs_to_target(curve[f"{m}_error"], config.target_error)
        row["epochs_to_25"][m] = whole
        row["epochs_to_25_interpolated"][m] = interp
    return row


def ratio(runs: list[dict], measure: str, activations: tuple[str, ...]) -> dict:
    """tanh / ReLU epochs to 25% per seed (whole epochs and interpolated), with mean, min and max over seeds."""
    out: dict[str, Any] = {"measure": measure}
    if "relu" not in activations or "tanh" not in activations:
        return out
    for kind, field_ in (("whole_epochs", "epochs_to_25"), ("interpolated", "epochs_to_25_interpolated")):
        per_seed = {}
        for r in runs:
            if r["activation"] != "relu":
                continue
            t = next((x for x in runs if x["activation"] == "tanh" and x["seed"] == r["seed"]), None)
            if t is None:
                continue
            a, b = r[field_][measure], t[field_][measure]
            per_seed[str(r["seed"])] = None if (a is None or b is None or a == 0) else round(b / a, 3)
        vals = [v for v in per_seed.values() if v is not None]
        out[kind] = {
            "per_seed": per_seed,
            "mean": round(sum(vals) / len(vals), 3) if vals else None,
            "min": min(vals) if vals else None,
            "max": max(vals) if vals else None,
            "n": len(vals),
        }
    # Top-level numbers: whole epochs, as the paper counts them on its per-epoch plot.
    out.update({k: out["whole_epochs"][k] for k in ("mean", "min", "max", "n")})
    # Bounds where one activation reached 25% and the other had not when its run ended (cap, stall or
    # interrupted; a diverged run gives none): tanh short of it -> the ratio is at least (tanh's epochs so far
    # + 1) / ReLU's; ReLU short of it (a poor rate, or stalled) -> at most tanh's / (ReLU's epochs so far + 1).
    lower, upper = {}, {}
    for r in runs:
        t = next((x for x in runs if x["activation"] == "tanh" and x["seed"] == r["seed"]), None)
        if r["activation"] != "relu" or t is None:
            continue
        relu_at, tanh_at = r["epochs_to_25"][measure], t["epochs_to_25"][measure]
        if relu_at and tanh_at is None and not t.get("diverged"):
            lower[str(r["seed"])] = round((len(t["running_error"]) + 1) / relu_at, 3)
        if tanh_at and relu_at is None and not r.get("diverged"):
            upper[str(r["seed"])] = round(tanh_at / (len(r["running_error"]) + 1), 3)
    out["lower_bound_per_seed"] = lower
    out["upper_bound_per_seed"] = upper
    return out
