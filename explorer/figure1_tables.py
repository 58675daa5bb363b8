"""Figure 1 tables from a results.json: runs, sweep, conditions, the headline numbers and their labels."""

from __future__ import annotations

from typing import Any


# activation -> (plotly dash, matplotlib line style, colour, legend label): the paper's solid ReLU, dashed tanh.
def curves_table(results: dict | list[dict]) -> list[dict]:
    """One row per (condition, activation, seed, epoch): both error measures, loss, lr (for CSV download)."""
    rows = []
    for res in results if isinstance(results, list) else [results]:
        groups = [("baseline", res["runs"])] + [(c["name"], c["runs"]) for c in res.get("conditions", [])]
        for cond, runs in groups:
            for r in runs:
                for i, ep in enumerate(r["epochs"] if "epochs" in r else range(1, len(r["train_error"]) + 1)):
                    rows.append({
                        "condition": cond, "activation": r["activation"], "seed": r["seed"], "lr": r.get("lr"),
                        "epoch": ep, "train_error": r["train_error"][i], "running_error": r["running_error"][i],
                        "post_epoch_error": (r.get("post_epoch_error") or [None] * (i + 1))[i],
                        "loss": (r.get("loss") or [None] * (i + 1))[i],
                    })
    return rows


def decision_measure(results: dict[str, Any]) -> str:
    """The error measure the results decide "reached 25%" by: "running" or "post_epoch"."""
    measure = results.get("error_measure") or {}
    return measure.get("decision", "running") if isinstance(measure, dict) else str(measure)


def measure_label(results: dict[str, Any], measure: str, short: bool = False) -> str:
    """What a measure measured, from the results' own config: the post-epoch error is a pass over a fixed
    10,000-image training subset by default (and in the committed results), not over all 50,000 images.

    ``short`` gives axis-sized labels such as "post-epoch, 10,000-image subset".
    """
    if measure == "running":
        return "running" if short else "running error during each epoch (every training image)"
    k = (results.get("config") or {}).get("eval_train_images", 10000)
    n = (results.get("data") or {}).get("train_images")
    if k == 0:
        return "post-epoch, not measured" if short else "not measured (eval_train_images = 0)"
    if k is None or (n is not None and k >= n):
        every = f"all {n:,}" if n else "all"
        return f"post-epoch, {every} images" if short else f"pass over {every} training images after each epoch"
    if short:
        return f"post-epoch, {k:,}-image subset"
    return f"pass over a fixed {k:,}-image training subset after each epoch" + (f" (of {n:,})" if n else "")


def figure1_summary(results: dict[str, Any]) -> dict[str, Any]:
    """The headline of a Figure 1 result: status, the tanh/ReLU ratio (mean, min, max, seeds) and provenance."""
    ratio = results.get("ratio") or {}
    data = results.get("data") or {}
    return {
        "status": results.get("status", "complete"),
        "ratio_mean": ratio.get("mean"),
        "ratio_min": ratio.get("min"),
        "ratio_max": ratio.get("max"),
        "seeds": ratio.get("n"),
        "error_measure": decision_measure(results),
        "command": results.get("command"),
        "wall_time_s": results.get("wall_time_s"),
        "device": results.get("device"),
        "train_images": data.get("train_images"),
        "created_utc": results.get("created_utc"),
    }


def figure1_run_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per final run: activation, seed, lr, epochs to 25% (whole and interpolated), last errors."""
    decision = decision_measure(results)
    rows = []
    for run in results.get("runs", []):
        errors = run.get("train_error") or []
        rows.append({
            "activation": run.get("activation"),
            "seed": run.get("seed"),
            "lr": run.get("lr"),
            "epochs_to_25": (run.get("epochs_to_25") or {}).get(decision),
            "epochs_to_25_interpolated": (run.get("epochs_to_25_interpolated") or {}).get(decision),
            "epochs_run": len(errors),
            "last_train_error": errors[-1] if errors else None,
            "test_error": run.get("test_error"),
            "diverged": run.get("diverged"),
        })
    return rows


def figure1_sweep_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (activation, learning rate) of the sweep: its score and whether it was chosen."""
    chosen = results.get("chosen_lr") or {}
    rows = []
    for activation, sweep in (results.get("sweep") or {}).items():
        curves = sweep.get("curves") or {}
        for lr in sweep.get("lrs", []):
            key = f"{lr:g}"
            curve = curves.get(key) or {}
            rows.append({
                "activation": activation,
                "lr": lr,
                "score": (sweep.get("scores") or {}).get(key),
                "diverged": curve.get("diverged"),
                "chosen": chosen.get(activation) == lr,
            })
    return rows


def _epochs_to_25_by_seed(runs: list[dict[str, Any]], activation: str, measure: str) -> str:
    """Seed and epochs pairs such as ``0: 5, 1: 6`` (``-`` where a run stopped above 25%)."""
    return ", ".join(f"{r.get('seed')}: {(r.get('epochs_to_25') or {}).get(measure) or '-'}"
                     for r in runs if r.get("activation") == activation)


def figure1_condition_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """What moves the ratio: one row per condition (the baseline first) and error measure.

    Each row: the learning rates used, epochs to 25% per seed for ReLU and tanh (None where a run ended
    above 25%), the tanh/ReLU ratio over the seeds where both got there, and otherwise the smallest
    lower bound (tanh stopped above 25%: the ratio is at least its epochs + 1 over ReLU's) or the largest
    upper bound (ReLU stopped above 25%: at most tanh's epochs over ReLU's + 1).
    """
    groups = [("baseline", "the sweep's choices", results)] + [
        (c.get("name"), c.get("note", ""), c) for c in results.get("conditions") or []]
    rows = []
    for name, note, group in groups:
        runs = group.get("runs") or []
        for measure, ratio in (group.get("ratio_by_measure") or {}).items():
            lower = (ratio.get("lower_bound_per_seed") or {}).values()
            upper = (ratio.get("upper_bound_per_seed") or {}).values()
            rows.append({
                "condition": name,
                "note": note,
                "measure": measure,
                "relu_lr": (group.get("chosen_lr") or {}).get("relu"),
                "tanh_lr": (group.get("chosen_lr") or {}).get("tanh"),
                "relu_epochs_to_25": _epochs_to_25_by_seed(runs, "relu", measure),
                "tanh_epochs_to_25": _epochs_to_25_by_seed(runs, "tanh", measure),
                "ratio_mean": ratio.get("mean"),
                "ratio_min": ratio.get("min"),
                "ratio_max": ratio.get("max"),
                "seeds_both_reached": ratio.get("n") or 0,
                "ratio_at_least": min(lower) if lower else None,
                "ratio_at_most": max(upper) if upper else None,
            })
    return rows


def figure1_best_supported_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The row of ``figure1_condition_rows`` whose ratio rests on the most seeds (first such row; None if none).

    A display default, not a choice of result: every row stays in the table.
    """
    reached = [row for row in rows if row["seeds_both_reached"]]
    return max(reached, key=lambda row: row["seeds_both_reached"]) if reached else None


# --- what the figures draw ----------------------------------------------------------------------------------


def summary_line(results: dict, ratio: dict | None = None) -> str:
    """The tanh/ReLU ratio in one line (a lower bound while tanh is not at 25%); figure titles and the CLI."""
    ratio = (results.get("ratio") if ratio is None else ratio) or {}
    tag = "PARTIAL run. " if results.get("status") == "partial" else ""
    if ratio.get("mean") is None:
        lower = ratio.get("lower_bound_per_seed") or {}
        if lower:
            return f"{tag}tanh not at 25% yet: ratio > {min(lower.values()):.2f}x ({len(lower)} seed(s))"
        upper = ratio.get("upper_bound_per_seed") or {}
        if upper:
            return f"{tag}ReLU not at 25%: ratio < {max(upper.values()):.2f}x ({len(upper)} seed(s))"
        return f"{tag}tanh/ReLU ratio: not reached by both"
    seeds = "1 seed" if ratio["n"] == 1 else f"{ratio['n']} seeds"
    return (f"{tag}tanh/ReLU epochs to 25%: {ratio['mean']:.2f}x (range {ratio['min']:.2f}-{ratio['max']:.2f}, "
            f"{seeds})")


__all__ = [
    "curves_table",
    "decision_measure",
    "measure_label",
    "figure1_summary",
    "figure1_run_rows",
    "figure1_sweep_rows",
    "figure1_condition_rows",
    "figure1_best_supported_row",
    "summary_line",
]
