"""ReLU vs tanh (paper, section 3.1 and Figure 1): the committed result, live quick runs, overlays."""

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
from pages.widgets import download_buttons, show_notice

SESSION_RUNS = "relu_tanh_session_runs"  # list of {"label": str, "results": dict}, this session only
COMMITTED_LABEL = "committed result"
OVERLAY_KEY = "relu_tanh_overlay"

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


def _ratio_text(summary: dict) -> str:
    return "not yet" if summary["ratio_mean"] is None else f"{summary['ratio_mean']:.2f}x"


def _spread_text(summary: dict) -> str:
    if summary["ratio_mean"] is None:
        return "-"
    return f"{summary['ratio_min']:.2f}x to {summary['ratio_max']:.2f}x ({summary['seeds']} seeds)"


def _show_result(results: dict, key: str) -> None:
    summary = figure1_summary(results)
    if summary["status"] != "complete":
        missing = len(results.get("missing_units") or [])
        st.warning(f"This result is {summary['status']}: {missing} planned run(s) were not made (still running, or "
                   "stopped; results.json lists them under missing_units). The headline below uses the sweep's "
                   "learning rates; other conditions follow under 'What moves the ratio'.")
    c1, c2, c3 = st.columns(3)
    c1.metric("tanh / ReLU epochs to 25% training error", _ratio_text(summary),
              help="Mean over seeds of (tanh's epochs to 25%) / (ReLU's), at the sweep's learning rates and by "
              "the error measure the experiment decides with. The paper: about 6x. 'not yet' until both "
              "activations reach 25% with the same seed.")
    c2.metric("spread over seeds (min to max)", _spread_text(summary))
    c3.metric("chosen learning rates",
              ", ".join(f"{a} {lr:g}" for a, lr in (results.get("chosen_lr") or {}).items()) or "-")
    wall = summary["wall_time_s"]
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
        return
    rows = figure1_condition_rows(results)
    st.subheader("What moves the ratio")
    st.markdown(
        "The same machinery rerun with one thing changed. `ratio_at_least` is a lower bound where tanh stopped "
        "above 25% (at the epoch cap, or interrupted): tanh needs more than its epochs so far."
    )
    best = figure1_best_supported_row(rows)
    if best is not None:
        st.metric(
            f"tanh / ReLU where both reached 25% in the most seeds ({best['condition']}, "
            f"{measure_label(results, best['measure'], short=True)})",
            f"{best['ratio_mean']:.2f}x",
            help=f"{best['ratio_min']:.2f}x to {best['ratio_max']:.2f}x over {best['seeds_both_reached']} seed(s); "
            f"ReLU lr {best['relu_lr']:g}, tanh lr {best['tanh_lr']:g}. Every condition is in the table below.",
        )
    st.dataframe(rows, hide_index=True)
    download_buttons(csv_rows=rows, name="relu_tanh_conditions")
    names = list(dict.fromkeys(row["condition"] for row in rows))
    left, right = st.columns(2)
    name = left.selectbox("Condition", names, key="relu_tanh_condition",
                          index=names.index(best["condition"]) if best else 0)
    measures = ["running", "post_epoch"]
    measure = right.radio("Training error measure", measures, horizontal=True, key="relu_tanh_measure",
                          format_func=lambda m: measure_label(results, m, short=True),
                          index=measures.index(best["measure"]) if best else 0)
    st.plotly_chart(plotly_figure(results, measure=measure, condition=name), key="relu_tanh_condition_fig")
    download_buttons(fig=lambda: matplotlib_figure(results, measure, name),
                     name=f"relu_tanh_{name}_{measure}")


def _show_why() -> None:
    """Why tanh is slow: the ratio per condition side by side, tanh saturation per layer, one sentence from the data."""
    st.subheader("Why tanh is slow here")
    st.markdown(
        "Each activation at its fastest learning rate of a small grid, every rate trained in full (to 25% or 60 "
        "epochs), under the current recipe and with the input scale or the initialisation changed. A tanh unit "
        "counts as saturated at |tanh| > 0.9, where less than a fifth of the gradient gets through."
    )
    why, problem = _committed("WHY_DIR")
    if why is None and relu_tanh is not None and not (relu_tanh.WHY_DIR / "results.json").is_file():
        problem = f"No why-study results yet ({relu_tanh.WHY_DIR / 'results.json'} does not exist)"
    missing = why_panel.why_missing(why)
    if missing:
        shown = "\n".join(f"- {line}" for line in missing[:12])
        more = f"\n- and {len(missing) - 12} more" if len(missing) > 12 else ""
        st.info(f"{problem + '. ' if problem else ''}Missing for this panel:\n{shown}{more}\n\nThe command that "
                f"makes them (resume-safe; hours of CPU; a two-process split and time estimates are in "
                f"results/relu_tanh/COMMAND.txt):\n\n`{why_panel.WHY_COMMAND}`", icon=":material/pending:")
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
    curves = why_panel.why_mechanism_curves(why)
    if curves:
        right.plotly_chart(why_panel.why_mechanism_figure(curves), key="relu_tanh_why_mechanism")
    else:
        right.info("No saturation record in these runs yet.")
    columns = ("label", "relu_lr", "tanh_lr", "relu_epochs_to_25", "tanh_epochs_to_25", "ratio", "lower_bound", "note")
    st.dataframe([{k: row[k] for k in columns} for row in rows], hide_index=True)
    download_buttons(fig=lambda: why_panel.why_figure(why), csv_rows=why_panel.why_mechanism_rows(why),
                     name="relu_tanh_why")


loaded = current_model()
st.title("ReLU vs tanh (Figure 1)")
show_notice(loaded)
st.markdown(
    "The paper (section 3.1, Figure 1): *a four-layer convolutional network with ReLUs reaches a 25% "
    "training error rate on CIFAR-10 six times faster than an equivalent network with tanh neurons*, "
    "each with its own learning rate chosen to train as fast as possible, and no regularisation. The paper "
    "does not give the network; this project uses the closest published configuration of the authors' own "
    "code (cuda-convnet's layers-19pct). This page does not use the model chosen in the sidebar."
)

committed, problem = _committed()
st.subheader("Committed result")
if committed is None:
    st.info(f"No committed result yet: {problem}. Run the quick experiment below to see one here.",
            icon=":material/info:")
else:
    _show_result(committed, "committed")
    _show_conditions(committed)
_show_why()

session_runs: list[dict] = st.session_state.setdefault(SESSION_RUNS, [])

st.subheader("Run the quick experiment")
if relu_tanh is None:
    st.info("The experiment code is not available in this installation.")
else:
    st.markdown(
        "A small version of the experiment on a subset of CIFAR-10: a short learning-rate sweep per "
        "activation, then one run per activation and seed. Runs you make here are kept for this browser "
        "session and drawn together with the committed result below."
    )
    with st.form("relu_tanh_quick"):
        f1, f2, f3 = st.columns(3)
        train_images = f1.select_slider("training images", (500, 1000, 2000, 5000, 10000), value=2000,
                                        key="relu_tanh_images")
        max_epochs = f2.slider("epochs at most", 1, 10, 4, key="relu_tanh_epochs")
        seeds = f3.slider("seeds", 1, 3, 1, key="relu_tanh_seeds")
        submitted = st.form_submit_button("Run", icon=":material/play_arrow:")
    if submitted:
        config = relu_tanh.ReluTanhConfig.quick(
            train_images=train_images, max_epochs=max_epochs, seeds=tuple(range(seeds)),
            sweep_train_images=min(1000, train_images), eval_train_images=min(1000, train_images),
        )
        bar = st.progress(0.0, text="Loading CIFAR-10 ...")
        try:
            results = relu_tanh.run_experiment(
                config, progress=lambda fraction, message: bar.progress(min(1.0, fraction), text=message or "..."),
                command=f"dashboard quick run: {train_images} images, {max_epochs} epochs, {seeds} seed(s)",
            )
        except DataError as exc:
            bar.empty()
            st.error(f"The experiment could not start: {exc}")
        else:
            bar.progress(1.0, text="done")
            label = f"session run {len(session_runs) + 1} ({train_images} images, {max_epochs} epochs, {seeds} seed(s))"
            session_runs.append({"label": label, "results": results})
            # draw the new run straight away, next to whatever was already chosen
            st.session_state[OVERLAY_KEY] = [*st.session_state.get(OVERLAY_KEY, [COMMITTED_LABEL]), label]
            st.success(f"Finished {label} in {results.get('wall_time_s', 0):.0f} s.")

st.subheader("Training error per epoch")
available = ([{"label": COMMITTED_LABEL, "results": committed}] if committed is not None else []) + session_runs
if not available:
    st.info("Nothing to draw yet: no committed result and no run in this session.")
    st.stop()
labels = [entry["label"] for entry in available]
if OVERLAY_KEY not in st.session_state:
    st.session_state[OVERLAY_KEY] = labels
# keep only choices that still exist (e.g. no committed result any more)
st.session_state[OVERLAY_KEY] = [label for label in st.session_state[OVERLAY_KEY] if label in labels]
chosen = st.multiselect("Results to draw", labels, key=OVERLAY_KEY)
selected = [entry for entry in available if entry["label"] in chosen]
if not selected:
    st.info("Choose at least one result to draw.")
    st.stop()
fig = plotly_figure([entry["results"] for entry in selected] if len(selected) > 1
                    else selected[0]["results"])
st.plotly_chart(fig, key="relu_tanh_figure")
if len(selected) > 1:
    st.caption("Overlay: " + "; ".join(f"run {i + 1} = {entry['label']}" for i, entry in enumerate(selected))
               + ". The PNG download is the first of them in the paper's style.")
first = selected[0]["results"]
download_buttons(fig=lambda: matplotlib_figure(first),
                 csv_rows=curves_table([entry["results"] for entry in selected]), name="relu_tanh_figure1")

for entry in session_runs:
    if entry["label"] in chosen:
        with st.expander(entry["label"]):
            _show_result(entry["results"], entry["label"].split(" (")[0].replace(" ", "_"))
