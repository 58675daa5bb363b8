"""The experiment: the tanh/ReLU ratio, sweeps and grid extension, unit reuse, resume, merge, study-only, stops."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from alexnet.errors import DataError
from alexnet.relu_tanh import experiment
from alexnet.relu_tanh.config import ReluTanhConfig
from alexnet.relu_tanh.experiment import _ratio, merge_units, run_experiment
from alexnet.relu_tanh.results import load_results
from tests.alexnet.relu_tanh.synthetic import learnable_cifar, make_run


def test_ratio_is_tanh_over_relu_per_seed_with_range():
    runs = [
        make_run("relu", 0, [0.5, 0.2]), make_run("tanh", 0, [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]),  # 2 vs 5 epochs
        make_run("relu", 1, [0.5, 0.4, 0.2]), make_run("tanh", 1, [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]),  # 3 vs 5
        make_run("relu", 2, [0.5, 0.4]), make_run("tanh", 2, [0.3, 0.2]),  # ReLU never reached: no ratio
    ]
    r = _ratio(runs, "running", ("relu", "tanh"))
    assert r["whole_epochs"]["per_seed"] == {"0": 2.5, "1": round(5 / 3, 3), "2": None}
    assert r["mean"] == pytest.approx(round((2.5 + 5 / 3) / 2, 3), abs=1e-3)
    assert (r["min"], r["max"], r["n"]) == (round(5 / 3, 3), 2.5, 2)


@pytest.mark.slow
def test_quick_experiment_on_generated_data_writes_everything_and_resumes(tmp_path, monkeypatch):
    from explorer.figure1 import write_figures

    cfg = ReluTanhConfig.quick(threads=1, lr_grid=(0.003, 0.03), max_epochs=2, target_error=0.5,
                               conditions=("no-momentum",), test_images=40)
    seen = []
    res = run_experiment(cfg, lambda f, m: seen.append(f), data=learnable_cifar(), out_dir=tmp_path, command="t")
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
    # The experiment writes results.json only; the figures are drawn from it (by the command line).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
    figures = write_figures(res, tmp_path)
    assert set(figures) == {"png", "figure1_baseline", "figure1_no-momentum", "conditions_png", "why_png"}
    assert all(r["mechanism"]["epochs"][0] == 0 for r in res["runs"])  # final runs carry the mechanism record
    assert (tmp_path / "figure1.png").stat().st_size > 1000
    assert load_results(tmp_path / "results.json")["runs"] == json.loads(json.dumps(res["runs"]))
    # Resuming with the same config trains nothing again and gives the same curves.
    monkeypatch.setattr(experiment, "_train", lambda *a, **k: pytest.fail("resume retrained a finished unit"))
    again = run_experiment(cfg, data=learnable_cifar(), out_dir=tmp_path, resume=True)
    assert again["runs"] == res["runs"] and again["sweep"] == res["sweep"]
    # A run that had to stop: report-only rebuilds the results from the finished units, trains nothing,
    # and the partial results still draw.
    saved = json.loads((tmp_path / "results.json").read_text())
    tanh_unit = f"baseline|run|tanh|0|{res['chosen_lr']['tanh']:g}"
    del saved["units"][tanh_unit]
    (tmp_path / "results.json").write_text(json.dumps(saved))
    (tmp_path / "figure1.png").unlink()
    part = run_experiment(cfg, data=learnable_cifar(), out_dir=tmp_path, report_only=True)
    assert part["status"] == "partial" and part["missing_units"] == [tanh_unit]
    assert [r["activation"] for r in part["runs"]] == ["relu"] and part["ratio"]["n"] == 0
    write_figures(part, tmp_path)
    assert (tmp_path / "figure1.png").is_file() and load_results(tmp_path / "results.json")["status"] == "partial"


def test_sweep_choice_grid_extension_and_unit_reuse(monkeypatch):
    """Orchestration with a stand-in trainer: which lr wins, when the grid grows, what a condition reuses."""
    calls = []
    best = {"relu": 0.01, "tanh": 0.6}  # tanh's best lies beyond the grid's top (0.1): the grid must grow

    def fake_train(d, config, act, lr, seed, epochs, stop_at_target, tick, **_):
        calls.append((act, lr, seed, epochs, config.momentum))
        err = min(0.9, 0.2 + abs(math.log10(lr / best[act])) / 4)
        return {"running_error": [err] * epochs, "post_epoch_error": [err] * epochs, "loss": [1.0] * epochs,
                "seconds": [0.1] * epochs, "diverged": False, "stopped": "max_epochs", "test_error": 0.5}

    monkeypatch.setattr(experiment, "_train", fake_train)
    cfg = ReluTanhConfig.quick(threads=1, lr_grid=(0.001, 0.01, 0.1), lr_grid_extensions=2, seeds=(0, 1),
                               conditions=("shared-lr", "no-momentum", "tanh-lr-0.05"))
    res = run_experiment(cfg, data=learnable_cifar(n_train=64, n_test=8))
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


def test_parallel_seed_file_merges_into_the_main_results(tmp_path, monkeypatch, capsys):
    from alexnet_cli import main

    def fake_train(d, config, act, lr, seed, epochs, stop_at_target, tick, **_):
        errs = [0.5, 0.2] if act == "relu" else [0.6, 0.5, 0.4, 0.2]  # 2 vs 4 epochs: ratio 2
        return {"running_error": errs, "post_epoch_error": errs, "loss": [1.0] * len(errs),
                "seconds": [0.1] * len(errs), "diverged": False, "stopped": "target", "test_error": 0.5}

    monkeypatch.setattr(experiment, "_train", fake_train)
    data = learnable_cifar(n_train=64, n_test=8)
    main_dir, side_dir = tmp_path / "main", tmp_path / "side"
    cfg = ReluTanhConfig.quick(threads=1, seeds=(0,))
    run_experiment(cfg, data=data, out_dir=main_dir, command="first")
    side_dir.mkdir()
    (side_dir / "results.json").write_text((main_dir / "results.json").read_text())
    side = run_experiment(dataclasses.replace(cfg, seeds=(1,)), data=data, out_dir=side_dir, resume=True,
                          command="second")
    assert [r["seed"] for r in side["runs"]] == [1, 1]
    assert merge_units(main_dir / "results.json", [side_dir / "results.json"]) == 2  # seed 1's two runs
    import alexnet.data.cifar10 as c10

    monkeypatch.setattr(c10, "load_cifar10", lambda *a, **k: data)
    assert main(["relu-tanh", "--report-only", "--out", str(main_dir), "--seeds", "0", "1"]) == 0
    merged = load_results(main_dir / "results.json")
    assert merged["status"] == "complete" and merged["ratio"]["n"] == 2 and merged["ratio"]["mean"] == 2.0
    assert [i["command"] for i in merged["invocations"]] == ["first", "second"]
    assert (main_dir / "figure1.png").is_file()  # `--report-only` draws the figures from the rebuilt results
    other = tmp_path / "other"
    other.mkdir()
    run_experiment(dataclasses.replace(cfg, momentum=0.5), data=data, out_dir=other)
    with pytest.raises(DataError, match="other training settings"):
        merge_units(main_dir / "results.json", [other / "results.json"])


def test_study_only_trains_the_conditions_and_leaves_the_baseline_to_the_main_run(tmp_path, monkeypatch):
    calls = []

    def fake_train(d, config, act, lr, seed, epochs, stop_at_target, tick, **_):
        calls.append((act, lr, seed, epochs))
        errs = [0.5, 0.2]
        return {"running_error": errs, "post_epoch_error": errs, "loss": [1.0, 1.0], "seconds": [0.1, 0.1],
                "diverged": False, "stopped": "target", "test_error": 0.5}

    monkeypatch.setattr(experiment, "_train", fake_train)
    data = learnable_cifar(n_train=64, n_test=8)
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
    from explorer.figure1 import summary_line

    def fake_train(d, config, act, lr, seed, epochs, stop_at_target, tick, on_epoch=None, **_):
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

    monkeypatch.setattr(experiment, "_train", fake_train)
    data = learnable_cifar(n_train=64, n_test=8)
    cfg = ReluTanhConfig.quick(threads=1, lr_grid=(0.01,))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, data=data, out_dir=tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert list(saved["in_progress"]) == ["baseline|run|tanh|0|0.01"]
    res = run_experiment(cfg, data=data, out_dir=tmp_path, report_only=True)
    tanh = next(r for r in res["runs"] if r["activation"] == "tanh")
    assert tanh["stopped"] == "interrupted" and tanh["running_error"] == [0.6, 0.5, 0.45]
    assert res["ratio"]["n"] == 0 and res["ratio"]["lower_bound_per_seed"] == {"0": 2.0}  # (3 + 1) / 2
    assert "ratio > 2.00x" in summary_line(res)


def test_full_grid_trains_every_rate_in_full_and_keeps_the_fastest(tmp_path, monkeypatch):
    calls = []
    reach = {("relu", 0.001): 6, ("relu", 0.003): 3, ("tanh", 0.01): 8, ("tanh", 0.03): 5, ("tanh", 0.09): 7}

    def fake_train(d, config, act, lr, seed, epochs, stop_at_target, tick, mechanism=False, **_):
        calls.append((act, lr, seed, epochs, mechanism, d.inv_std is not None))
        r = reach.get((act, lr))  # None: never at 25% within the cap
        n = epochs if r is None else min(epochs, r + 1)
        errs = [0.24 if r is not None and i + 1 >= r else 0.5 for i in range(n)]
        return {"running_error": errs, "post_epoch_error": errs, "loss": [1.0] * n, "seconds": [0.1] * n,
                "diverged": False, "stopped": "target" if r and r + 1 <= epochs else "max_epochs", "test_error": 0.5}

    monkeypatch.setattr(experiment, "_train", fake_train)
    cfg = ReluTanhConfig.quick(threads=1, seeds=(0, 1), max_epochs=10, lr_grid_extensions=1,
                               full_grid=(("relu", (0.001, 0.003, 0.01)), ("tanh", (0.003, 0.01, 0.03))),
                               conditions=("unit-variance-input", "relu-lr-0.01"))
    data = learnable_cifar(n_train=64, n_test=8)
    res = run_experiment(cfg, data=data, out_dir=tmp_path)
    # tanh's fastest (0.03, 5 epochs) sat at the grid's top: the grid grew to 0.09 (7 epochs), and 0.03 stays.
    assert res["chosen_lr"] == {"relu": 0.003, "tanh": 0.03}
    tanh = res["sweep"]["tanh"]
    assert tanh["kind"] == "full" and tanh["lrs"] == [0.003, 0.01, 0.03, 0.09]
    # Middle rate first; a later rate that has not reached 25% by the best one's epochs stops there, beaten.
    assert tanh["scores"]["0.003"] is None and tanh["curves"]["0.003"]["stopped"] == "beaten"
    assert tanh["curves"]["0.09"]["stopped"] == "beaten" and tanh["curves"]["0.09"]["epochs_run"] == 5
    assert tanh["curves"]["0.03"]["epochs_to_25"] == 5 and "fewest epochs" in tanh["criterion"]
    assert res["ratio"]["mean"] == round(5 / 3, 3) and res["ratio"]["n"] == 2
    baseline = [c for c in calls if not c[5]]
    # Every grid rate once for seed 0 (3 + 4), then seed 1 at the chosen rates; the chosen seed-0 runs are the
    # grid's own (not trained twice). relu-lr-0.01 trains like the baseline, but its rate was stopped "beaten" in
    # the grid, so the condition trains it again in full (to the cap), once.
    assert len(baseline) == 3 + 4 + 2 + 1 and len({c[:3] for c in baseline}) == len(baseline) - 1
    assert baseline[-1][:4] == ("relu", 0.01, 0, 10)
    assert all(c[4] for c in calls)  # with the mechanism record
    # ReLU: 0.003 in full (25% at epoch 3), then 0.001 and 0.01 capped at 3; tanh: 0.01 in full (8), 0.003 and
    # 0.03 capped at 8 (0.03 gets there at 5), then the extension 0.09 capped at 5.
    assert [(c[0], c[1], c[3]) for c in baseline[:7]] == [
        ("relu", 0.003, 10), ("relu", 0.001, 3), ("relu", 0.01, 3),
        ("tanh", 0.01, 10), ("tanh", 0.003, 8), ("tanh", 0.03, 8), ("tanh", 0.09, 5)]
    # unit-variance-input trains on its own (unit-variance) data: its whole grid again, seed 0 only.
    assert len([c for c in calls if c[5]]) == 3 + 4
    lr_cond = next(c for c in res["conditions"] if c["name"] == "relu-lr-0.01")
    assert lr_cond["chosen_lr"] == {"relu": 0.01, "tanh": 0.03} and lr_cond["ratio"]["n"] == 0
    relu_01 = next(r for r in lr_cond["runs"] if r["activation"] == "relu")
    assert relu_01["stopped"] == "max_epochs" and len(relu_01["running_error"]) == 10
    # A rerun trains nothing, and its grid shows the full run in place of the beaten one.
    n_calls = len(calls)
    again = run_experiment(cfg, data=data, out_dir=tmp_path, resume=True)
    assert len(calls) == n_calls and again["sweep"]["relu"]["curves"]["0.01"]["epochs_run"] == 10
    assert res["error_measure"]["post_epoch"] == "pass after each epoch over all 64 training images"  # 64 < 1,000
    # Report-only lists every missing unit of a grid (not only the first), each once.
    saved = json.loads((tmp_path / "results.json").read_text())
    gone = ["baseline|run|tanh|0|0.003", "baseline|run|tanh|0|0.01"]
    for key in gone:
        del saved["units"][key]
    (tmp_path / "results.json").write_text(json.dumps(saved))
    part = run_experiment(cfg, data=data, out_dir=tmp_path, report_only=True)
    assert sorted(part["missing_units"]) == gone and part["chosen_lr"] == {"relu": 0.003}


def test_merge_into_a_new_file_starts_from_the_first_source(tmp_path, monkeypatch):
    def fake_train(d, config, act, lr, seed, epochs, stop_at_target, tick, **_):
        errs = [0.5, 0.2] if act == "relu" else [0.6, 0.5, 0.4, 0.2]
        return {"running_error": errs, "post_epoch_error": errs, "loss": [1.0] * len(errs),
                "seconds": [0.1] * len(errs), "diverged": False, "stopped": "target", "test_error": 0.5}

    monkeypatch.setattr(experiment, "_train", fake_train)
    data = learnable_cifar(n_train=64, n_test=8)
    cfg = ReluTanhConfig.quick(threads=1, lr_grid=(0.01,))
    run_experiment(dataclasses.replace(cfg, conditions=("init-x10",)), data=data, out_dir=tmp_path / "a")
    run_experiment(dataclasses.replace(cfg, conditions=("pytorch-init",)), data=data, out_dir=tmp_path / "b",
                   study_only=True)
    target = tmp_path / "merged" / "results.json"
    # a: baseline + init-x10 (2 sweeps + 2 runs each); b adds pytorch-init's 4 units (its baseline was skipped).
    assert merge_units(target, [tmp_path / "a" / "results.json", tmp_path / "b" / "results.json"]) == 12
    res = run_experiment(dataclasses.replace(cfg, conditions=("init-x10", "pytorch-init")), data=data,
                         out_dir=target.parent, report_only=True)
    assert res["status"] == "complete" and [c["name"] for c in res["conditions"]] == ["init-x10", "pytorch-init"]
