"""Figure 1 experiment: the layers-19pct network, epochs-to-25% arithmetic, results I/O, figures, `--quick`."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from alexnet import relu_tanh as rt
from alexnet.errors import DataError
from alexnet.relu_tanh import (
    FourLayerNet,
    ReluTanhConfig,
    curves_table,
    epochs_to_target,
    load_results,
    matplotlib_figure,
    plotly_figure,
    run_experiment,
)


def test_four_layer_net_keeps_layers_19pct_map_sizes_and_parameter_count():
    net = FourLayerNet("relu")
    sizes = []
    x = torch.zeros(2, 3, 32, 32)
    for m in net.features:
        x = m(x)
        if isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [(32, 16, 16), (32, 8, 8), (64, 4, 4)]  # 32 -> 16 -> 8 -> 4 as in layers-19pct
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    # conv1 3*32*25+32, conv2 32*32*25+32, conv3 32*64*25+64, fc 64*4*4*10+10 (counted by hand)
    assert sum(p.numel() for p in net.parameters()) == 2432 + 25632 + 51264 + 10250
    kinds = [type(m).__name__ for m in net.features]
    assert kinds == ["Conv2d", "MaxPool2d", "ReLU", "Conv2d", "ReLU", "AvgPool2d", "Conv2d", "ReLU", "AvgPool2d"]
    assert [type(m).__name__ for m in FourLayerNet("tanh").features].count("Tanh") == 3


def test_layers_19pct_initialisation():
    torch.manual_seed(0)
    net = FourLayerNet("tanh").init_weights_("layers-19pct")
    convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    stds = [float(m.weight.detach().std()) for m in convs]
    assert stds[0] == pytest.approx(1e-4, rel=0.05)  # conv1 initW=0.0001
    for s in stds[1:]:
        assert s == pytest.approx(1e-2, rel=0.05)  # conv2, conv3, fc10 initW=0.01
    assert all(float(m.bias.detach().abs().max()) == 0 for m in convs)
    scaled = FourLayerNet("tanh").init_weights_("layers-19pct", scale=10.0)
    assert float(scaled.features[0].weight.detach().std()) == pytest.approx(1e-3, rel=0.05)


def test_epochs_to_target_whole_and_interpolated():
    assert epochs_to_target([0.8, 0.5, 0.3, 0.2]) == (4, 3.5)  # 0.3 -> 0.2 crosses 0.25 half-way
    whole, interp = epochs_to_target([0.2])  # from the untrained 0.9 to 0.2 in the first epoch
    assert whole == 1 and interp == pytest.approx(round((0.9 - 0.25) / (0.9 - 0.2), 3))
    assert epochs_to_target([0.6, 0.25]) == (2, 2.0)  # exactly 25% counts as reached
    assert epochs_to_target([0.6, 0.4]) == (None, None)
    assert epochs_to_target([0.5, 0.3], target=0.4) == (2, 1.5)


def _run(act, seed, errors):
    row = {"activation": act, "seed": seed, "lr": 0.01, "running_error": errors, "post_epoch_error": errors}
    row["epochs_to_25"] = {m: epochs_to_target(errors)[0] for m in rt.MEASURES}
    row["epochs_to_25_interpolated"] = {m: epochs_to_target(errors)[1] for m in rt.MEASURES}
    return row


def test_ratio_is_tanh_over_relu_per_seed_with_range():
    runs = [
        _run("relu", 0, [0.5, 0.2]), _run("tanh", 0, [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]),  # 2 vs 5 epochs
        _run("relu", 1, [0.5, 0.4, 0.2]), _run("tanh", 1, [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]),  # 3 vs 5
        _run("relu", 2, [0.5, 0.4]), _run("tanh", 2, [0.3, 0.2]),  # ReLU never reached: no ratio
    ]
    r = rt._ratio(runs, "running", ("relu", "tanh"))
    assert r["whole_epochs"]["per_seed"] == {"0": 2.5, "1": round(5 / 3, 3), "2": None}
    assert r["mean"] == pytest.approx(round((2.5 + 5 / 3) / 2, 3), abs=1e-3)
    assert (r["min"], r["max"], r["n"]) == (round(5 / 3, 3), 2.5, 2)


def _synthetic_results():
    runs = []
    for seed in (0, 1):
        for act, errs in (("relu", [0.7, 0.4, 0.24, 0.2]), ("tanh", [0.8, 0.6, 0.5, 0.4, 0.3, 0.24, 0.2])):
            row = _run(act, seed, errs)
            row.update(epochs=list(range(1, len(errs) + 1)), train_error=errs, loss=[1.0] * len(errs),
                       test_error=0.4, lr=0.01 if act == "relu" else 0.003)
            runs.append(row)
    return {
        "format": rt.RESULTS_FORMAT, "config": ReluTanhConfig().to_dict(), "runs": runs,
        "chosen_lr": {"relu": 0.01, "tanh": 0.003}, "sweep": {}, "ratio": rt._ratio(runs, "running", rt.ACTIVATIONS),
        "error_measure": {"decision": "running"}, "conditions": [],
    }


def test_load_results_round_trip_and_clear_errors(tmp_path):
    res = _synthetic_results()
    (tmp_path / "results.json").write_text(json.dumps(res))
    assert load_results(tmp_path / "results.json")["ratio"]["mean"] == 2.0  # 6 / 3 epochs for both seeds
    with pytest.raises(DataError, match="no Figure 1 results"):
        load_results(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        load_results(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "x"}))
    with pytest.raises(DataError, match="missing config"):
        load_results(tmp_path / "other.json")


def test_figures_draw_solid_relu_dashed_tanh_and_the_25_percent_line():
    res = _synthetic_results()
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


def test_curves_table_has_one_row_per_epoch():
    rows = curves_table(_synthetic_results())
    assert len(rows) == 2 * (4 + 7)
    assert rows[0] == {"condition": "baseline", "activation": "relu", "seed": 0, "lr": 0.01, "epoch": 1,
                       "train_error": 0.7, "running_error": 0.7, "post_epoch_error": 0.7, "loss": 1.0}


def _learnable_cifar(n_train=256, n_test=40, seed=0):
    """Small CIFAR-shaped data whose class sets the mean colour of a few patches (a network can learn it)."""
    from alexnet.data.cifar10 import CLASSES, Cifar10

    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, 10, size=n)
        x = rng.normal(128, 30, size=(n, 3, 32, 32))
        for k in range(10):
            x[y == k, k % 3, (k // 3) * 8:(k // 3) * 8 + 8, :] += 80
        return torch.from_numpy(np.clip(x, 0, 255).astype(np.uint8)), torch.from_numpy(y.astype(np.int64))

    xtr, ytr = make(n_train)
    xte, yte = make(n_test)
    return Cifar10(xtr, ytr, xte, yte, CLASSES, "generated")


@pytest.mark.slow
def test_quick_experiment_on_generated_data_writes_everything_and_resumes(tmp_path, monkeypatch):
    cfg = ReluTanhConfig.quick(threads=1, lr_grid=(0.003, 0.03), max_epochs=2, target_error=0.5,
                               conditions=("no-momentum",), test_images=40)
    seen = []
    res = run_experiment(cfg, lambda f, m: seen.append(f), data=_learnable_cifar(), out_dir=tmp_path, command="t")
    assert res["status"] == "complete" and res["command"] == "t"
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert set(res["chosen_lr"]) == {"relu", "tanh"}
    for act in ("relu", "tanh"):
        assert set(res["sweep"][act]["curves"]) == {"0.003", "0.03"}
        assert res["chosen_lr"][act] in (0.003, 0.03)
    assert {(r["activation"], r["seed"]) for r in res["runs"]} == {("relu", 0), ("tanh", 0)}
    for r in res["runs"]:
        assert len(r["running_error"]) == len(r["post_epoch_error"]) == len(r["epochs"]) <= 2
        assert 0.0 <= r["test_error"] <= 1.0
        assert r["stopped"] in ("target", "max_epochs", "diverged")
    cond = res["conditions"][0]
    assert cond["name"] == "no-momentum" and cond["overrides"] == {"momentum": 0.0} and len(cond["runs"]) == 2
    assert (tmp_path / "figure1.png").stat().st_size > 1000
    assert json.loads((tmp_path / "figure1_plotly.json").read_text())["data"]
    assert load_results(tmp_path / "results.json")["runs"] == json.loads(json.dumps(res["runs"]))
    # Resuming with the same config trains nothing again and gives the same curves.
    monkeypatch.setattr(rt, "_train", lambda *a, **k: pytest.fail("resume retrained a finished unit"))
    again = run_experiment(cfg, data=_learnable_cifar(), out_dir=tmp_path, resume=True)
    assert again["runs"] == res["runs"] and again["sweep"] == res["sweep"]
    # A run that had to stop: report-only rebuilds results and figures from the finished units, trains nothing.
    saved = json.loads((tmp_path / "results.json").read_text())
    tanh_unit = f"baseline|run|tanh|0|{res['chosen_lr']['tanh']:g}"
    del saved["units"][tanh_unit]
    (tmp_path / "results.json").write_text(json.dumps(saved))
    (tmp_path / "figure1.png").unlink()
    part = run_experiment(cfg, data=_learnable_cifar(), out_dir=tmp_path, report_only=True)
    assert part["status"] == "partial" and part["missing_units"] == [tanh_unit]
    assert [r["activation"] for r in part["runs"]] == ["relu"] and part["ratio"]["n"] == 0
    assert (tmp_path / "figure1.png").is_file() and load_results(tmp_path / "results.json")["status"] == "partial"


@pytest.mark.slow
def test_training_on_learnable_data_reaches_the_target_and_stops(tmp_path):
    cfg = ReluTanhConfig.quick(threads=1, activations=("relu",), fixed_lr=(("relu", 0.003),), max_epochs=8,
                               target_error=0.3, epochs_after_target=1, init="pytorch", eval_train_images=None)
    res = run_experiment(cfg, data=_learnable_cifar(n_train=400, seed=1))
    (run,) = res["runs"]
    assert res["sweep"] == {} and run["lr"] == 0.003
    reached = run["epochs_to_25"]["running"]
    assert reached is not None and run["stopped"] == "target"
    assert len(run["epochs"]) == reached + 1  # one epoch past the target, then stop
    assert run["running_error"][reached - 1] <= 0.3 and run["running_error"][0] > run["running_error"][-1]


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="activations"):
        ReluTanhConfig(activations=("sigmoid",))
    with pytest.raises(ValueError, match="unknown condition"):
        ReluTanhConfig(conditions=("bigger-batch",))
    with pytest.raises(ValueError, match="post_epoch"):
        ReluTanhConfig(error_measure="post_epoch", eval_train_images=0)
    c = ReluTanhConfig(fixed_lr=(("relu", 0.01),))
    assert ReluTanhConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_cli_quick_on_generated_torchvision_folder(tmp_path, capsys):
    from tests.alexnet.data.test_cifar10 import make_torchvision_root

    make_torchvision_root(tmp_path / "data", per_batch=20)
    out = tmp_path / "out"
    code = rt.main(["--quick", "--data-root", str(tmp_path / "data"), "--out", str(out), "--threads", "1",
                    "--max-epochs", "1", "--lr-grid", "0.01"])
    assert code == 0
    res = load_results(out / "results.json")
    assert res["command"].startswith("alexnet relu-tanh") and res["config"]["max_epochs"] == 1
    assert res["data"]["train_images"] == 100 and "ratio" in capsys.readouterr().out


def test_cli_missing_data_is_one_line_error(tmp_path, capsys):
    assert rt.main(["--quick", "--data-root", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("alexnet: error: CIFAR-10 folder not found") and "\n" not in err


@pytest.mark.slow
def test_cli_quick_on_real_cifar10(shared_data, tmp_path):
    out = tmp_path / "out"
    code = rt.main(["--quick", "--data-root", str(shared_data / "cifar10"), "--out", str(out), "--threads", "1"])
    assert code == 0
    res = load_results(out / "results.json")
    assert res["data"] == {"source": str(shared_data / "cifar10"), "train_images": 2000,
                           "sweep_train_images": 1000, "test_images": 500}
    for r in res["runs"]:
        # Four epochs on 2,000 real images: far from 25%, but clearly below chance (90%).
        assert all(math.isfinite(e) for e in r["running_error"])
        assert min(r["post_epoch_error"]) < 0.85
    assert (out / "figure1.png").is_file()


def test_plotly_measure_condition_and_sweep_views():
    res = _synthetic_results()
    res["runs"][0]["post_epoch_error"] = [0.6, 0.3, 0.2, 0.1]
    post = rt.plotly_figure(res, measure="post_epoch")
    assert list(post.data[0].y) == [0.6, 0.3, 0.2, 0.1]
    cond_runs = [dict(r, lr=0.1) for r in res["runs"][:2]]
    res["conditions"] = [{"name": "no-momentum", "runs": cond_runs}]
    assert len(rt.plotly_figure(res, condition="no-momentum").data) == 2
    with pytest.raises(ValueError, match="no condition"):
        rt.plotly_figure(res, condition="absent")
    # The matplotlib figure takes the same measure and condition.
    line = rt.matplotlib_figure(res, measure="post_epoch").axes[0].lines[0]
    assert list(line.get_ydata()) == [0.6, 0.3, 0.2, 0.1]
    assert rt.matplotlib_figure(res, condition="no-momentum").axes[0].get_title().startswith("no-momentum\n")
    with pytest.raises(ValueError, match="measure"):
        rt.matplotlib_figure(res, measure="test")
    assert [ax.get_ylabel() for ax in rt.measures_figure(res).axes] == [
        "Training error rate (running)", "Training error rate (post-epoch)"]
    res["sweep"] = {"relu": {"scores": {"0.001": 0.7, "0.01": 0.5}, "criterion": "c"},
                    "tanh": {"scores": {"0.001": 0.8, "0.01": 0.6}, "criterion": "c"}}
    sw = rt.sweep_figure(res)
    assert [list(t.x) for t in sw.data] == [[0.001, 0.01], [0.001, 0.01]]
    assert list(sw.data[0].y) == [0.7, 0.5] and sw.data[1].line.dash == "dash"


def test_resume_reuses_units_across_seed_and_study_changes_only():
    base = ReluTanhConfig()
    saved = json.loads(json.dumps(base.to_dict()))
    assert rt._same_training(saved, dataclasses.replace(base, seeds=(0, 1, 2, 3), conditions=("pytorch-init",)))
    assert rt._same_training(saved, dataclasses.replace(base, threads=2))
    assert not rt._same_training(saved, dataclasses.replace(base, momentum=0.5))
    assert not rt._same_training(saved, dataclasses.replace(base, lr_grid=(0.1,)))


def test_sweep_choice_grid_extension_and_unit_reuse(monkeypatch):
    """Orchestration with a stand-in trainer: which lr wins, when the grid grows, what a condition reuses."""
    calls = []
    best = {"relu": 0.01, "tanh": 0.6}  # tanh's best lies beyond the grid's top (0.1): the grid must grow

    def fake_train(d, config, act, lr, seed, epochs, stop_at_target, tick, measure_test=True, on_epoch=None):
        calls.append((act, lr, seed, epochs, config.momentum))
        err = min(0.9, 0.2 + abs(math.log10(lr / best[act])) / 4)
        return {"running_error": [err] * epochs, "post_epoch_error": [err] * epochs, "loss": [1.0] * epochs,
                "seconds": [0.1] * epochs, "diverged": False, "stopped": "max_epochs", "test_error": 0.5}

    monkeypatch.setattr(rt, "_train", fake_train)
    cfg = ReluTanhConfig.quick(threads=1, lr_grid=(0.001, 0.01, 0.1), lr_grid_extensions=2, seeds=(0, 1),
                               conditions=("shared-lr", "no-momentum", "tanh-lr-0.05"))
    res = run_experiment(cfg, data=_learnable_cifar(n_train=64, n_test=8))
    assert res["chosen_lr"] == {"relu": 0.01, "tanh": 1.0}  # 0.1 -> 1 (one extension), then 1 beats 10
    assert res["sweep"]["tanh"]["lrs"] == [0.001, 0.01, 0.1, 1.0, 10.0]
    assert res["sweep"]["relu"]["lrs"] == [0.001, 0.01, 0.1]
    shared = next(c for c in res["conditions"] if c["name"] == "shared-lr")
    assert shared["chosen_lr"] == {"relu": 0.01, "tanh": 0.01} and shared["sweep"].keys() == {"relu"}
    # shared-lr trains like the baseline: its ReLU sweep and ReLU run come from the baseline's units;
    # only its tanh run at ReLU's lr is new. no-momentum sweeps and runs everything again.
    # "tanh-lr-0.05" likewise trains only tanh at 0.05 (ReLU keeps its swept rate and its baseline run).
    base_sweeps = 3 + 5
    base_runs = 2 * 2
    shared_new = 1
    lr_new = 1
    nomom = [c for c in calls if c[4] == 0.0]
    assert len(calls) == base_sweeps + base_runs + shared_new + lr_new + len(nomom)
    assert ("tanh", 0.01, 0, cfg.max_epochs, 0.9) in calls and ("tanh", 0.05, 0, cfg.max_epochs, 0.9) in calls
    lr_cond = next(c for c in res["conditions"] if c["name"] == "tanh-lr-0.05")
    assert lr_cond["chosen_lr"] == {"relu": 0.01, "tanh": 0.05}
    assert lr_cond["overrides"] == {"fixed_lr": [["tanh", 0.05]]}
    with pytest.raises(ValueError, match="unknown condition"):
        ReluTanhConfig(conditions=("tanh-lr-fast",))
    assert len([c for c in nomom if c[3] == cfg.max_epochs]) == 2  # condition_seeds=(0,): one run per activation


def test_ratio_table_rows_per_condition_and_measure():
    res = _synthetic_results()
    res["ratio_by_measure"] = {m: res["ratio"] for m in rt.MEASURES}
    res["conditions"] = [{"name": "no-momentum", "note": "n", "chosen_lr": {"relu": 0.1, "tanh": 0.1},
                          "runs": [dict(r, lr=0.1) for r in res["runs"][:2]],
                          "ratio_by_measure": {m: res["ratio"] for m in rt.MEASURES}}]
    rows = rt.ratio_table(res)
    assert [(r["condition"], r["error_measure"]) for r in rows] == [
        ("baseline", "running"), ("baseline", "post_epoch"), ("no-momentum", "running"), ("no-momentum", "post_epoch")]
    assert rows[0]["epochs_to_25_relu"] == [3, 3] and rows[0]["epochs_to_25_tanh"] == [6, 6]
    assert rows[0]["ratio_mean"] == 2.0 and rows[2]["lr_tanh"] == 0.1
    # The conditions figure draws the baseline's 4 runs and the condition's 2 runs (their lr differs).
    assert len(rt.conditions_figure(res).axes[0].get_lines()) == 4 + 2 + 1  # + the 25% line


def test_parallel_seed_file_merges_into_the_main_results(tmp_path, monkeypatch, capsys):
    def fake_train(d, config, act, lr, seed, epochs, stop_at_target, tick, measure_test=True, on_epoch=None):
        errs = [0.5, 0.2] if act == "relu" else [0.6, 0.5, 0.4, 0.2]  # 2 vs 4 epochs: ratio 2
        return {"running_error": errs, "post_epoch_error": errs, "loss": [1.0] * len(errs),
                "seconds": [0.1] * len(errs), "diverged": False, "stopped": "target", "test_error": 0.5}

    monkeypatch.setattr(rt, "_train", fake_train)
    data = _learnable_cifar(n_train=64, n_test=8)
    main_dir, side_dir = tmp_path / "main", tmp_path / "side"
    cfg = ReluTanhConfig.quick(threads=1, seeds=(0,))
    run_experiment(cfg, data=data, out_dir=main_dir, command="first")
    side_dir.mkdir()
    (side_dir / "results.json").write_text((main_dir / "results.json").read_text())
    side = run_experiment(dataclasses.replace(cfg, seeds=(1,)), data=data, out_dir=side_dir, resume=True,
                          command="second")
    assert [r["seed"] for r in side["runs"]] == [1, 1]
    assert rt.merge_units(main_dir / "results.json", [side_dir / "results.json"]) == 2  # seed 1's two runs
    import alexnet.data.cifar10 as c10

    monkeypatch.setattr(c10, "load_cifar10", lambda *a, **k: data)
    assert rt.main(["--report-only", "--out", str(main_dir), "--seeds", "0", "1"]) == 0
    merged = load_results(main_dir / "results.json")
    assert merged["status"] == "complete" and merged["ratio"]["n"] == 2 and merged["ratio"]["mean"] == 2.0
    assert [i["command"] for i in merged["invocations"]] == ["first", "second"]
    other = tmp_path / "other"
    other.mkdir()
    run_experiment(dataclasses.replace(cfg, momentum=0.5), data=data, out_dir=other)
    with pytest.raises(DataError, match="other training settings"):
        rt.merge_units(main_dir / "results.json", [other / "results.json"])


def test_study_only_trains_the_conditions_and_leaves_the_baseline_to_the_main_run(tmp_path, monkeypatch):
    calls = []

    def fake_train(d, config, act, lr, seed, epochs, stop_at_target, tick, measure_test=True, on_epoch=None):
        calls.append((act, lr, seed, epochs))
        errs = [0.5, 0.2]
        return {"running_error": errs, "post_epoch_error": errs, "loss": [1.0, 1.0], "seconds": [0.1, 0.1],
                "diverged": False, "stopped": "target", "test_error": 0.5}

    monkeypatch.setattr(rt, "_train", fake_train)
    data = _learnable_cifar(n_train=64, n_test=8)
    cfg = ReluTanhConfig.quick(threads=1, seeds=(0, 1), lr_grid=(0.001, 0.01, 0.1))
    run_experiment(cfg, data=data, out_dir=tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    for key in [k for k in saved["units"] if "|run|" in k and "|1|" in k]:
        del saved["units"][key]  # the main run has not done seed 1 yet
    (tmp_path / "results.json").write_text(json.dumps(saved))
    calls.clear()
    res = run_experiment(dataclasses.replace(cfg, conditions=("tanh-lr-0.05",)), data=data, out_dir=tmp_path,
                         resume=True, study_only=True)
    assert calls == [("tanh", 0.05, 0, cfg.max_epochs)]  # only the condition's new run
    assert res["status"] == "partial" and sorted(res["missing_units"]) == [
        "baseline|run|relu|1|0.001", "baseline|run|tanh|1|0.001"]  # equal scores: the smaller lr wins


def test_a_run_stopped_from_outside_keeps_its_curve_and_a_lower_bound(tmp_path, monkeypatch):
    def fake_train(d, config, act, lr, seed, epochs, stop_at_target, tick, measure_test=True, on_epoch=None):
        errs = [0.5, 0.2] if act == "relu" else [0.6, 0.5, 0.45]
        curve = {"running_error": [], "post_epoch_error": [], "loss": [], "seconds": []}
        for e in errs:
            for k in curve:
                curve[k].append(e if "error" in k else 1.0)
            if on_epoch is not None:
                on_epoch({**curve, "diverged": False, "stopped": "interrupted", "test_error": None})
        if act == "tanh" and stop_at_target:
            raise KeyboardInterrupt  # the run is killed after its third epoch
        return {**curve, "diverged": False, "stopped": "target", "test_error": 0.5}

    monkeypatch.setattr(rt, "_train", fake_train)
    data = _learnable_cifar(n_train=64, n_test=8)
    cfg = ReluTanhConfig.quick(threads=1, lr_grid=(0.01,))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, data=data, out_dir=tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert list(saved["in_progress"]) == ["baseline|run|tanh|0|0.01"]
    res = run_experiment(cfg, data=data, out_dir=tmp_path, report_only=True)
    tanh = next(r for r in res["runs"] if r["activation"] == "tanh")
    assert tanh["stopped"] == "interrupted" and tanh["running_error"] == [0.6, 0.5, 0.45]
    assert res["ratio"]["n"] == 0 and res["ratio"]["lower_bound_per_seed"] == {"0": 2.0}  # (3 + 1) / 2
    assert "ratio > 2.00x" in rt._summary_line(res)
