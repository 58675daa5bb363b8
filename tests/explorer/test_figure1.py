"""Figure 1 from a results dict: tables, the curves both backends draw, matplotlib and plotly figures, PNGs."""

from __future__ import annotations

import pytest

from explorer.figure1 import (
    conditions_figure,
    curves_table,
    figure1_best_supported_row,
    figure1_condition_rows,
    figure1_curves,
    figure1_run_rows,
    figure1_summary,
    figure1_sweep_rows,
    matplotlib_figure,
    measures_figure,
    plotly_figure,
    summary_line,
    write_figures,
)
from tests.alexnet.relu_tanh.synthetic import synthetic_results


def test_figures_draw_solid_relu_dashed_tanh_and_the_25_percent_line():
    res = synthetic_results()
    fig = matplotlib_figure(res)
    ax = fig.axes[0]
    styles = {line.get_label(): line.get_linestyle() for line in ax.get_lines() if not line.get_label().startswith("_")}
    assert styles == {"ReLU (lr 0.01)": "-", "tanh (lr 0.003)": "--"}
    assert any(list(line.get_ydata()) == [0.25, 0.25] for line in ax.get_lines())
    pf = plotly_figure(res)
    dashes = {t.name.split()[0]: t.line.dash for t in pf.data}
    assert dashes == {"ReLU": "solid", "tanh": "dash"} and len(pf.data) == 4
    assert any(s.y0 == 0.25 for s in pf.layout.shapes)
    both = plotly_figure([res, res])  # a list overlays several results
    assert len(both.data) == 8 and both.data[0].name.startswith("run 1")


def test_both_backends_draw_the_same_curves():
    res = synthetic_results()
    res["runs"][0]["post_epoch_error"] = [None, 0.5, 0.3, 0.2]  # an epoch without a post-epoch pass
    measure, curves = figure1_curves(res, "post_epoch")
    assert measure == "post_epoch" and [(c.activation, c.seed) for c in curves] == [
        ("relu", 0), ("tanh", 0), ("relu", 1), ("tanh", 1)]
    assert curves[0].epochs == [1, 2, 3, 4] and curves[0].reached == 3
    assert curves[0].errors == [None, 0.5, 0.3, 0.2] and curves[0].drawn_errors == [1.0, 0.5, 0.3, 0.2]
    plotted = plotly_figure(res, measure="post_epoch").data
    assert [list(t.x) for t in plotted] == [c.epochs for c in curves]
    assert [list(t.y) for t in plotted] == [c.errors for c in curves]  # plotly leaves the gap
    lines = matplotlib_figure(res, measure="post_epoch").axes[0].lines[:4]
    assert [list(line.get_xdata()) for line in lines] == [c.epochs for c in curves]
    assert [list(line.get_ydata()) for line in lines] == [c.drawn_errors for c in curves]


def test_curves_table_has_one_row_per_epoch():
    rows = curves_table(synthetic_results())
    assert len(rows) == 2 * (4 + 7)
    assert rows[0] == {"condition": "baseline", "activation": "relu", "seed": 0, "lr": 0.01, "epoch": 1,
                       "train_error": 0.7, "running_error": 0.7, "post_epoch_error": 0.7, "loss": 1.0}


def test_plotly_and_matplotlib_measure_and_condition_views():
    res = synthetic_results()
    res["runs"][0]["post_epoch_error"] = [0.6, 0.3, 0.2, 0.1]
    post = plotly_figure(res, measure="post_epoch")
    assert list(post.data[0].y) == [0.6, 0.3, 0.2, 0.1]
    cond_runs = [dict(r, lr=0.1) for r in res["runs"][:2]]
    res["conditions"] = [{"name": "no-momentum", "runs": cond_runs}]
    assert len(plotly_figure(res, condition="no-momentum").data) == 2
    with pytest.raises(ValueError, match="no condition"):
        plotly_figure(res, condition="absent")
    # The matplotlib figure takes the same measure and condition.
    line = matplotlib_figure(res, measure="post_epoch").axes[0].lines[0]
    assert list(line.get_ydata()) == [0.6, 0.3, 0.2, 0.1]
    assert matplotlib_figure(res, condition="no-momentum").axes[0].get_title().startswith("no-momentum\n")
    with pytest.raises(ValueError, match="measure"):
        matplotlib_figure(res, measure="test")
    # The post-epoch error is labelled with what it measured: a 10,000-image subset (the config's default).
    assert [ax.get_ylabel() for ax in measures_figure(res).axes] == [
        "Training error rate (running)", "Training error rate (post-epoch, 10,000-image subset)"]
    assert post.layout.yaxis.title.text == "Training error rate (post-epoch, 10,000-image subset)"


def test_conditions_figure_draws_a_run_shared_with_the_baseline_once():
    res = synthetic_results()
    res["conditions"] = [{"name": "no-momentum", "note": "n", "chosen_lr": {"relu": 0.1, "tanh": 0.1},
                          "runs": [dict(r, lr=0.1) for r in res["runs"][:2]] + res["runs"][2:]}]
    # The baseline's 4 runs and the condition's 2 runs whose lr differs (its other 2 are the baseline's).
    assert len(conditions_figure(res).axes[0].get_lines()) == 4 + 2 + 1  # + the 25% line


def test_summary_line_gives_the_ratio_or_a_lower_bound():
    res = synthetic_results()
    assert summary_line(res) == "tanh/ReLU epochs to 25%: 2.00x (range 2.00-2.00, 2 seeds)"
    partial = {"status": "partial", "ratio": {"mean": None, "lower_bound_per_seed": {"0": 4.2, "1": 3.5}}}
    assert summary_line(partial) == "PARTIAL run. tanh not at 25% yet: ratio > 3.50x (2 seed(s))"
    assert summary_line({"ratio": {}}) == "tanh/ReLU ratio: not reached by both"


def test_write_figures_draws_every_png_and_no_plotly_json(tmp_path):
    res = synthetic_results()
    res["conditions"] = [{"name": "no-momentum", "runs": [dict(r, lr=0.1) for r in res["runs"][:2]]}]
    written = write_figures(res, tmp_path / "out")
    assert {k: p.name for k, p in written.items()} == {
        "png": "figure1.png", "figure1_baseline": "figure1_baseline.png",
        "figure1_no-momentum": "figure1_no-momentum.png", "conditions_png": "conditions.png"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in written.values())
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in written.values())


def figure1_results() -> dict:
    """A results dict shaped like alexnet.relu_tanh's (two activations, one seed), numbers chosen by hand."""
    return {
        "status": "complete", "command": "alexnet relu-tanh", "wall_time_s": 12.0, "device": "CPU",
        "data": {"train_images": 500}, "error_measure": {"decision": "running", "running": "during the epoch"},
        "chosen_lr": {"relu": 0.01, "tanh": 0.001},
        "sweep": {
            "relu": {"lrs": [0.001, 0.01], "scores": {"0.001": 0.6, "0.01": 0.4},
                     "curves": {"0.001": {"diverged": False}, "0.01": {"diverged": False}}},
            "tanh": {"lrs": [0.001, 0.01], "scores": {"0.001": 0.5, "0.01": 1.0},
                     "curves": {"0.001": {"diverged": False}, "0.01": {"diverged": True}}},
        },
        "runs": [
            {"activation": "relu", "seed": 0, "lr": 0.01, "train_error": [0.5, 0.2],
             "epochs_to_25": {"running": 2}, "epochs_to_25_interpolated": {"running": 1.83}, "test_error": 0.4},
            {"activation": "tanh", "seed": 0, "lr": 0.001, "train_error": [0.7, 0.5, 0.3, 0.2],
             "epochs_to_25": {"running": 4}, "epochs_to_25_interpolated": {"running": 3.5}, "test_error": 0.45},
        ],
        "ratio": {"mean": 2.0, "min": 2.0, "max": 2.0, "n": 1},
    }


def test_figure1_tables():
    results = figure1_results()
    summary = figure1_summary(results)
    assert (summary["ratio_mean"], summary["seeds"], summary["error_measure"]) == (2.0, 1, "running")
    runs = figure1_run_rows(results)
    assert [(r["activation"], r["epochs_to_25"], r["epochs_run"], r["last_train_error"]) for r in runs] == [
        ("relu", 2, 2, 0.2), ("tanh", 4, 4, 0.2)]
    sweep = figure1_sweep_rows(results)
    assert [(r["activation"], r["lr"], r["chosen"], r["diverged"]) for r in sweep] == [
        ("relu", 0.001, False, False), ("relu", 0.01, True, False),
        ("tanh", 0.001, True, False), ("tanh", 0.01, False, True)]
    # a partial file (the experiment still running) has no runs or ratio yet
    partial = {"status": "partial", "runs": [], "ratio": {}, "sweep": {}, "error_measure": {"decision": "running"}}
    assert figure1_summary(partial)["ratio_mean"] is None
    assert figure1_run_rows(partial) == [] and figure1_sweep_rows(partial) == []


def test_figure1_condition_rows_give_ratio_or_lower_bound_per_condition_and_measure():
    relu = {"activation": "relu", "seed": 0, "epochs_to_25": {"running": 5, "post_epoch": 4}}
    tanh_slow = {"activation": "tanh", "seed": 0, "epochs_to_25": {"running": None, "post_epoch": 30}}
    results = {
        "chosen_lr": {"relu": 0.003, "tanh": 0.03},
        "runs": [relu, {"activation": "tanh", "seed": 0, "epochs_to_25": {"running": None, "post_epoch": None}}],
        "ratio_by_measure": {
            "running": {"mean": None, "n": 0, "lower_bound_per_seed": {"0": 4.2}},
            "post_epoch": {"mean": None, "n": 0, "lower_bound_per_seed": {"0": 5.25}},
        },
        "conditions": [{
            "name": "tanh-lr-0.01", "note": "tanh at 0.01", "chosen_lr": {"relu": 0.003, "tanh": 0.01},
            "runs": [relu, tanh_slow],
            "ratio_by_measure": {
                "running": {"mean": None, "n": 0, "lower_bound_per_seed": {"0": 8.2}},
                "post_epoch": {"mean": 7.5, "min": 7.5, "max": 7.5, "n": 1, "lower_bound_per_seed": {}},
            },
        }],
    }
    rows = figure1_condition_rows(results)
    assert [(r["condition"], r["measure"], r["tanh_lr"]) for r in rows] == [
        ("baseline", "running", 0.03), ("baseline", "post_epoch", 0.03),
        ("tanh-lr-0.01", "running", 0.01), ("tanh-lr-0.01", "post_epoch", 0.01)]
    assert [(r["ratio_mean"], r["ratio_at_least"], r["seeds_both_reached"]) for r in rows] == [
        (None, 4.2, 0), (None, 5.25, 0), (None, 8.2, 0), (7.5, None, 1)]
    assert (rows[3]["relu_epochs_to_25"], rows[3]["tanh_epochs_to_25"]) == ("0: 4", "0: 30")
    assert rows[2]["tanh_epochs_to_25"] == "0: -"
    assert figure1_best_supported_row(rows) is rows[3]
    assert figure1_best_supported_row(rows[:3]) is None
    assert figure1_condition_rows({"runs": []}) == []
