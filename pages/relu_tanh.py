"""ReLU vs tanh (paper, section 3.1 and Figure 1): the best-supported result first, then details, live quick runs."""

from __future__ import annotations

import streamlit as st

from alexnet.errors import DataError
from explorer import figure1_why as why_panel
from explorer.figure1 import (
    curves_table,
    figure1_best_supported_row,
    figure1_condition_rows,
    figure1_run_rows,
    figure1_summary,
    figure1_sweep_rows,
    matplotlib_figure,
    measure_label,
    plotly_figure,
)
from pages.state import current_model
from pages.widgets import download_buttons

SESSION_RUNS = "relu_tanh_session_runs"  # list of {"label": str, "results": dict}, this session only
COMMITTED_LABEL = "committed result"
OVERLAY_KEY = "relu_tanh_overlay"
PAPER_RATIO = 6.0
# The experiment's training rate on this project's 2-core CPU: the median per-epoch rate (625 img/s, 54 epochs)
# in alexnet/results/relu_tanh/logs/main.log. The estimate counts every image pass (sweep, runs, evaluation passes) at
# this rate, so evaluation (forward only) makes it an upper bound on a machine as fast as that one.
MEASURED_IMAGES_PER_S = 625.0
STARTUP_S = 5.0  # loading CIFAR-10 (cached) and building the networks

try:
    from alexnet import relu_tanh
except ImportError as exc:  # the experiment module is optional for the rest of the dashboard
    relu_tanh = None
    import_problem = str(exc)


def _committed(folder: str = "RESULTS_DIR") -> tuple[dict | None, str | None]:
    """The committed results.json in ``relu_tanh.<folder>`` (RESULTS_DIR, WHY_DIR), or None and the reason."""
    if relu_tanh is None:
        return None, f"the experiment code (alexnet.relu_tanh) is not available: {import_problem}"
    try:
        # The folder read at call time, so tests (and a moved checkout) can point elsewhere.
        return relu_tanh.load_results(getattr(relu_tanh, folder) / "results.json"), None
    except DataError as exc:
        return None, str(exc)


def _cifar10_missing() -> str | None:
    """Why the quick run cannot start (no CIFAR-10 where the experiment looks), or None when the data is there."""
    from alexnet.data.cifar10 import SHEET_FILES, TORCHVISION_FOLDER, default_cifar10_root

    root = default_cifar10_root()
    if (root / SHEET_FILES[0]).is_file() or (root / "labels.npz").is_file() or (root / TORCHVISION_FOLDER).is_dir():
        return None
    return (f"CIFAR-10 is not on this machine (looked in `{root}`), so the quick run is off. Put the data set "
            "there (the WebP sheets, or torchvision's `cifar-10-batches-py/`) or point `ALEXNET_DATA_ROOT` at the "
            "folder holding `cifar10/`, then reload this page.")


def _estimate_s(config) -> float:
    """Seconds the quick run takes at most: every image pass it plans, at the measured training rate."""
    sweep = 2 * len(config.lr_grid) * config.sweep_epochs * (config.sweep_train_images or config.train_images)
    per_epoch = config.train_images + (config.eval_train_images or 0)
    runs = 2 * len(config.seeds) * (config.max_epochs * per_epoch + (config.test_images or 0))
    return STARTUP_S + (sweep + runs) / MEASURED_IMAGES_PER_S


def _quick_config(train_images: int, max_epochs: int, seeds: int):
    return relu_tanh.ReluTanhConfig.quick(
        train_images=train_images, max_epochs=max_epochs, seeds=tuple(range(seeds)),
        sweep_train_images=min(1000, train_images), eval_train_images=min(1000, train_images),
    )


def _ratio_text(summary: dict) -> str:
    return "not yet" if summary["ratio_mean"] is None else f"{summary['ratio_mean']:.2f}x"


def _spread_text(summary: dict) -> str:
    if summary["ratio_mean"] is None:
        return "—"
    return f"{summary['ratio_min']:.2f}x to {summary['ratio_max']:.2f}x ({summary['seeds']} seeds)"


def _headline(results: dict, why: dict | None) -> None:
    """The best-supported ratio, its Figure 1 in the paper's form, and one line on what it means and how."""
    best = figure1_best_supported_row(figure1_condition_rows(results))
    if best is None:  # no condition where both reached 25%: the baseline's summary (or its lower bound)
        summary = figure1_summary(results)
        st.metric("tanh / ReLU epochs to 25%", _ratio_text(summary),
                  help=f"Paper: about {PAPER_RATIO:g}x. 'not yet' until both activations reach 25% with one seed.")
        st.plotly_chart(plotly_figure(results), key="relu_tanh_headline_fig")
        st.caption("What to notice: where the solid ReLU curves cross the 25% line, and how much later the dashed "
                   "tanh curves do (if at all yet).")
        return
    measure = best["measure"]
    seeds = best["seeds_both_reached"]
    left, right = st.columns([1, 3])
    left.metric("tanh / ReLU epochs to 25%", f"{best['ratio_mean']:.1f}x",
                f"paper: about {PAPER_RATIO:g}x", delta_color="off",
                help=f"{best['ratio_min']:.2f}x to {best['ratio_max']:.2f}x over {seeds} seed(s); the condition "
                     "where both activations reached 25% in the most seeds. Every condition is under 'What moves "
                     "the ratio'.")
    left.metric("seeds", f"{seeds}", f"{best['ratio_min']:.1f}x to {best['ratio_max']:.1f}x", delta_color="off")
    left.markdown(
        f"**What it means:** ReLU reaches 25% training error about {best['ratio_mean']:.0f} times sooner than tanh, "
        "as the paper found; that is why AlexNet uses ReLUs.")
    sentence = why_panel.why_conclusion(why) if why is not None else None
    if sentence:  # the lead result's caveat, from the data (details in the "Why tanh is slow" tab)
        left.warning(f"But: {sentence} See 'Why tanh is slow'.", icon=":material/science:")
    left.caption(
        f"How it was measured: the four-layer CIFAR-10 network, ReLU at lr {best['relu_lr']:g} and tanh at lr "
        f"{best['tanh_lr']:g} ({best['condition']}), epochs until the training error "
        f"({measure_label(results, measure)}) is at 25%, mean over {seeds} seeds.")
    with right:
        st.plotly_chart(plotly_figure(results, measure=measure, condition=best["condition"]),
                        key="relu_tanh_headline_fig")
        st.caption("What to notice: the solid ReLU curves cross the dotted 25% line within a few epochs; the "
                   "dashed tanh curves need several times as many.")
        download_buttons(fig=lambda: matplotlib_figure(results, measure, best["condition"]),
                         name=f"relu_tanh_figure1_{best['condition']}_{measure}")


def _show_result(results: dict, key: str) -> None:
    summary = figure1_summary(results)
    if summary["status"] != "complete":
        missing = len(results.get("missing_units") or [])
        st.warning(f"This result is {summary['status']}: {missing} planned run(s) were not made (still running, or "
                   "stopped; results.json lists them under missing_units). These numbers use the sweep's "
                   "learning rates; other conditions are under 'What moves the ratio'.")
    c1, c2, c3 = st.columns(3)
    c1.metric("tanh / ReLU epochs to 25% (sweep's rates)", _ratio_text(summary),
              help="Mean over seeds of (tanh's epochs to 25%) / (ReLU's), at the sweep's learning rates and by "
              "the error measure the experiment decides with. The paper: about 6x. 'not yet' until both "
              "activations reach 25% with the same seed.")
    c2.metric("spread over seeds (min to max)", _spread_text(summary))
    c3.metric("chosen learning rates",
              ", ".join(f"{a} {lr:g}" for a, lr in (results.get("chosen_lr") or {}).items()) or "—")
    wall = summary["wall_time_s"]
    with st.expander("How this result was made (command, machine, error measures)"):
        st.caption(
            f"Command: `{summary['command']}` · wall time {wall:.0f} s · {summary['device']} · "
            f"{summary['train_images']} training images · error measure: {summary['error_measure']} "
            f"({measure_label(results, summary['error_measure'])}); the post-epoch error is a "
            f"{measure_label(results, 'post_epoch')}"
            if wall is not None else f"Command: `{summary['command']}`"
        )
    runs = figure1_run_rows(results)
    if runs:
        st.markdown("**Runs** (epochs to 25% counted in whole epochs, as on the paper's per-epoch plot)")
        st.dataframe(runs, hide_index=True)
        download_buttons(csv_rows=runs, name=f"relu_tanh_runs_{key}")
    sweep = figure1_sweep_rows(results)
    if sweep:
        with st.expander("Learning-rate sweep (each activation gets the rate that trains fastest)"):
            criteria = {a: s.get("criterion", "") for a, s in (results.get("sweep") or {}).items()}
            for activation, criterion in criteria.items():
                st.caption(f"{activation}: {criterion}")
            st.dataframe(sweep, hide_index=True)
            download_buttons(csv_rows=sweep, name=f"relu_tanh_sweep_{key}")


def _show_conditions(results: dict) -> None:
    """What moves the ratio: every studied condition under both error measures, and its curves."""
    if not results.get("conditions"):
        st.info("This result studies no other conditions.")
        return
    rows = figure1_condition_rows(results)
    st.caption("The same experiment rerun with one thing changed. `ratio_at_least` is a lower bound where tanh "
               "stopped above 25% (at the epoch cap, or interrupted): tanh needs more than its epochs so far; "
               "`ratio_at_most` an upper bound where ReLU did.")
    best = figure1_best_supported_row(rows)
    names = list(dict.fromkeys(row["condition"] for row in rows))
    left, right = st.columns(2)
    name = left.selectbox("Condition", names, key="relu_tanh_condition",
                          index=names.index(best["condition"]) if best else 0)
    measures = ["running", "post_epoch"]
    measure = right.radio("Training error measure", measures, horizontal=True, key="relu_tanh_measure",
                          format_func=lambda m: measure_label(results, m, short=True),
                          index=measures.index(best["measure"]) if best else 0)
    st.plotly_chart(plotly_figure(results, measure=measure, condition=name), key="relu_tanh_condition_fig")
    st.caption("What to notice: how far right the dashed tanh curves cross 25% under each condition; a tanh "
               "curve that never crosses gives only a lower bound.")
    download_buttons(fig=lambda: matplotlib_figure(results, measure, name),
                     name=f"relu_tanh_{name}_{measure}")
    with st.expander("Every condition as a table"):
        st.dataframe(rows, hide_index=True)
        download_buttons(csv_rows=rows, name="relu_tanh_conditions")


def _show_why(why: dict | None, problem: str | None) -> None:
    """Why tanh is slow: the ratio per condition side by side, tanh saturation per layer, one sentence from the data."""
    st.subheader("Why tanh is slow here")
    st.caption(
        "Each activation at its fastest learning rate of a small grid, every rate trained in full (to 25% or 60 "
        "epochs; seed 0), under the current recipe (whose chosen rates then ran with seeds 1 and 2 as well) and "
        "with the input scale or the initialisation changed. A tanh unit "
        "counts as saturated at |tanh| > 0.9, where less than a fifth of the gradient gets through."
    )
    if why is None and relu_tanh is not None and not (relu_tanh.WHY_DIR / "results.json").is_file():
        problem = f"No why-study results yet ({relu_tanh.WHY_DIR / 'results.json'} does not exist)"
    missing = why_panel.why_missing(why)
    if missing:
        shown = "\n".join(f"- {line}" for line in missing[:12])
        more = f"\n- and {len(missing) - 12} more" if len(missing) > 12 else ""
        st.info(f"{problem + '. ' if problem else ''}Missing for this panel:\n{shown}{more}\n\nThe command that "
                f"makes them (resume-safe; hours of CPU; a two-process split and time estimates are in "
                f"alexnet/results/relu_tanh/COMMAND.txt):\n\n`{why_panel.WHY_COMMAND}`", icon=":material/pending:")
    if why is None:
        return
    sentence = why_panel.why_conclusion(why)
    if sentence:
        st.markdown(f"**{sentence}**")
    else:
        st.caption("No conclusion yet: it needs a ratio (or a lower bound) for both the current recipe and "
                   "unit-variance input, so ReLU must reach 25% under both.")
    rows = why_panel.why_ratio_rows(why)
    left, right = st.columns([2, 3])
    left.plotly_chart(why_panel.why_ratio_figure(rows), key="relu_tanh_why_ratio")
    left.caption("What to notice: which conditions bring the ratio down towards 1 (a bar coloured as a bound: tanh "
                 "or ReLU never reached 25%, so the ratio is at least or at most that; whiskers: the range over "
                 "seeds).")
    curves = why_panel.why_mechanism_curves(why)
    if curves:
        right.plotly_chart(why_panel.why_mechanism_figure(curves), key="relu_tanh_why_mechanism")
        right.caption("What to notice: the conditions whose tanh units saturate early are the ones where tanh "
                      "is slow.")
    else:
        right.info("No saturation record in these runs yet.")
    columns = ("label", "relu_lr", "tanh_lr", "relu_epochs_to_25", "tanh_epochs_to_25", "ratio", "bound", "note")
    shown = {"lower": "at least", "upper": "at most"}
    st.dataframe([{k: shown.get(row[k], "") if k == "bound" else row[k] for k in columns} for row in rows],
                 hide_index=True)
    download_buttons(fig=lambda: why_panel.why_figure(why), csv_rows=why_panel.why_mechanism_rows(why),
                     name="relu_tanh_why")


def _quick_run(session_runs: list[dict]) -> None:
    """The quick experiment: its estimated time before it starts, off with a reason when CIFAR-10 is missing."""
    if relu_tanh is None:
        st.info("The experiment code is not available in this installation.")
        return
    st.caption("A small version of the experiment on a subset of CIFAR-10: a short learning-rate sweep per "
               "activation, then one run per activation and seed, kept for this browser session and drawn below.")
    st.warning("Tiny runs are noisy: a few thousand images and a few epochs can put tanh level with ReLU, or ahead, "
               "and so contradict the paper; the committed result above is the one to trust.",
               icon=":material/casino:")
    missing = _cifar10_missing()
    if missing:
        st.info(missing, icon=":material/folder_off:")
    f1, f2, f3 = st.columns(3)
    train_images = f1.select_slider("training images", (500, 1000, 2000, 5000, 10000), value=2000,
                                    key="relu_tanh_images")
    max_epochs = f2.slider("epochs at most", 1, 10, 4, key="relu_tanh_epochs")
    seeds = f3.slider("seeds", 1, 3, 1, key="relu_tanh_seeds")
    estimate = _estimate_s(_quick_config(train_images, max_epochs, seeds))
    go, note = st.columns([1, 5], vertical_alignment="center")
    submitted = go.button("Run", icon=":material/play_arrow:", key="relu_tanh_run", disabled=missing is not None,
                          type="primary")
    note.caption(f"Estimated time: at most about {estimate:.0f} s (every image pass these settings plan, at "
                 f"{MEASURED_IMAGES_PER_S:.0f} images/s: the committed run's median training rate on 2 CPU cores; "
                 "a busy machine is slower).")
    if not submitted or missing:
        return
    config = _quick_config(train_images, max_epochs, seeds)
    bar = st.progress(0.0, text=f"Loading CIFAR-10 ... (about {estimate:.0f} s in all)")
    try:
        results = relu_tanh.run_experiment(
            config, progress=lambda fraction, message: bar.progress(min(1.0, fraction), text=message or "..."),
            command=f"dashboard quick run: {train_images} images, {max_epochs} epochs, {seeds} seed(s)",
        )
    except DataError as exc:
        bar.empty()
        st.error(f"The experiment could not start: {exc}")
        return
    bar.progress(1.0, text="done")
    label = f"session run {len(session_runs) + 1} ({train_images} images, {max_epochs} epochs, {seeds} seed(s))"
    session_runs.append({"label": label, "results": results})
    # draw the new run straight away, next to whatever was already chosen
    st.session_state[OVERLAY_KEY] = [*st.session_state.get(OVERLAY_KEY, [COMMITTED_LABEL]), label]
    st.success(f"Finished {label} in {results.get('wall_time_s', 0):.0f} s (estimated {estimate:.0f} s).")


def _overlay(committed: dict | None, session_runs: list[dict]) -> None:
    """The committed result and this session's runs drawn together (ReLU and tanh keep their colours)."""
    available = ([{"label": COMMITTED_LABEL, "results": committed}] if committed is not None else []) + session_runs
    if not available:
        st.info("Nothing to draw yet: no committed result and no run in this session.")
        return
    labels = [entry["label"] for entry in available]
    if OVERLAY_KEY not in st.session_state:
        st.session_state[OVERLAY_KEY] = labels
    # keep only choices that still exist (e.g. no committed result any more)
    st.session_state[OVERLAY_KEY] = [label for label in st.session_state[OVERLAY_KEY] if label in labels]
    chosen = st.multiselect("Results to draw", labels, key=OVERLAY_KEY)
    selected = [entry for entry in available if entry["label"] in chosen]
    if not selected:
        st.info("Choose at least one result to draw.")
        return
    fig = plotly_figure([entry["results"] for entry in selected] if len(selected) > 1
                        else selected[0]["results"])
    st.plotly_chart(fig, key="relu_tanh_figure")
    if len(selected) > 1:
        st.caption("Overlay: ReLU is always blue and solid, tanh red and dashed; the marker tells the runs apart: "
                   + "; ".join(f"run {i + 1} = {entry['label']}" for i, entry in enumerate(selected))
                   + ". The PNG download is the first of them in the paper's style.")
    first = selected[0]["results"]
    download_buttons(fig=lambda: matplotlib_figure(first),
                     csv_rows=curves_table([entry["results"] for entry in selected]), name="relu_tanh_figure1")
    for entry in session_runs:
        if entry["label"] in chosen:
            with st.expander(entry["label"]):
                _show_result(entry["results"], entry["label"].split(" (")[0].replace(" ", "_"))


current_model()  # the sidebar's picker; this page trains its own small networks, not the chosen model
st.title("ReLU vs tanh (Figure 1)")
st.caption(
    "The paper (section 3.1): *a four-layer convolutional network with ReLUs reaches a 25% training error rate on "
    "CIFAR-10 six times faster than an equivalent network with tanh neurons*. The network here is the closest "
    "published configuration of the authors' own code (cuda-convnet's layers-19pct); the sidebar's model is not used."
)

committed, problem = _committed()
why, why_problem = _committed("WHY_DIR")  # read once: the headline's caveat and the "Why tanh is slow" tab
if committed is None:
    st.info(f"No committed result yet: {problem}. Run the quick experiment below to see one here.",
            icon=":material/info:")
else:
    _headline(committed, why)

session_runs: list[dict] = st.session_state.setdefault(SESSION_RUNS, [])
tabs = st.tabs(["What moves the ratio", "Sweep and runs", "Why tanh is slow", "Run it yourself"])
with tabs[0]:
    if committed is None:
        st.info("No committed result to compare conditions in.")
    else:
        _show_conditions(committed)
with tabs[1]:
    if committed is None:
        st.info("No committed result yet.")
    else:
        _show_result(committed, "committed")
with tabs[2]:
    _show_why(why, why_problem)
with tabs[3]:
    _quick_run(session_runs)
    _overlay(committed, session_runs)
