"""Training: a run's loss, error and learning-rate curves, and its conv layers at the saved epochs."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from alexnet.errors import CheckpointError
from alexnet.paths import runs_root
from alexnet.runs import METRICS_FILE
from explorer.activations import feature_stages
from explorer.curves import (
    curve_rows,
    curves_figure,
    curves_matplotlib,
    epoch_record,
    read_metrics,
    run_folders,
    summary_numbers,
)
from explorer.figures import png_bytes
from explorer.kernels import kernel_grid, kernel_scores, tower_summary
from explorer.models import LoadedModel, ModelOption, load_model
from explorer.snapshots import conv1_at, full_snapshot, saved_epochs
from explorer.training_movie import conv1_movie
from pages.caching import cached_layer_view
from pages.state import current_model
from pages.widgets import download_buttons, image_picker, show_notice


@st.cache_data(ttl=20, show_spinner=False)
def _folders(runs_dir: str) -> list[tuple[str, str]]:
    # A short ttl: new runs and new epochs appear within seconds while a run is training.
    return [(f.label, str(f.path)) for f in run_folders(runs_dir)]


@st.cache_resource(max_entries=2, show_spinner="Loading the snapshot ...")
def _snapshot(path: str, label: str, mtime_ns: int) -> LoadedModel:
    # Through explorer.models like every other checkpoint: load_checkpoint (weights_only=True) and
    # model_from_checkpoint(strict=False), since snapshots hold the conv layers only. mtime_ns is
    # in the key so that a snapshot rewritten on disk is read again.
    return load_model(ModelOption(key=f"snapshot:{path}", label=label, kind="run", path=Path(path)))


@st.cache_data(max_entries=32, show_spinner=False)
def _epochs(run_dir: str, stamp: tuple[int, int]) -> list[int]:
    return saved_epochs(run_dir)


@st.cache_data(max_entries=64, show_spinner=False)
def _kernels_png(run_dir: str, epoch: int, contrast: str, stamp: tuple[int, int]) -> bytes:
    weight, towers = conv1_at(run_dir, epoch)
    return png_bytes(kernel_grid(weight, contrast, towers=towers))  # type: ignore[arg-type]


@st.cache_data(max_entries=4, show_spinner="Drawing one frame per epoch ...")
def _movie_gif(run_dir: str, contrast: str, stamp: tuple[int, int]) -> bytes:
    return conv1_movie(run_dir, contrast)  # type: ignore[arg-type]


@st.cache_data(max_entries=64, show_spinner=False)
def _kernel_summary(run_dir: str, epoch: int, stamp: tuple[int, int]) -> list[dict]:
    """Per tower: share of oriented conv1 kernels and mean colour specificity (explorer.kernels)."""
    weight, towers = conv1_at(run_dir, epoch)
    return tower_summary(kernel_scores(weight, towers=towers))


@st.cache_resource(max_entries=16, show_spinner=False)
def _curves_figure(run_dir: str, title: str, metrics_stamp: tuple[int, int]):
    # Building the three-panel plotly figure costs ~0.1 s; reruns that do not change the metrics file (its
    # mtime and size are in the key) reuse it. plotly_chart only reads the figure.
    return curves_figure(read_metrics(run_dir), title=title)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (0, 0)
    return (info.st_mtime_ns, info.st_size)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


current_model()  # the sidebar's picker; this page shows runs, not the chosen model
st.title("Training")
with st.expander("What a run folder holds"):
    st.caption(
        "A run folder is what `alexnet train` writes: `metrics.jsonl` (one line per epoch) and "
        "`snapshots/epoch_NNN.pt` (the conv layers at chosen epochs; epoch 0 is the initialisation). "
        "The bundled reference model ships its metrics and conv1 after every epoch."
    )

folders = _folders(str(runs_root().resolve()))
if not folders:
    st.info(
        f"No training runs found under `{runs_root()}` and no bundled reference run yet. "
        "Train one with `alexnet train --name my-run ...`; it appears here as soon as its first epoch ends.",
        icon=":material/info:",
    )
    st.stop()

labels = [label for label, _ in folders]
run_label = st.columns([1, 2])[0].selectbox("Run", labels, key="training_run")  # a third of the width
run_dir = Path(dict(folders)[run_label])
try:
    records = read_metrics(run_dir)
except ValueError as exc:
    st.error(f"Cannot read this run's metrics: {exc}")
    records = []
stamp = _stamp(run_dir / METRICS_FILE)
epochs = _epochs(str(run_dir), stamp)


def _epoch_slider(key: str, label: str) -> int:
    # One slider per tab, inside that tab's fragment: a step reruns that tab alone, not the curves or the
    # other tab (issue 13: under 0.5 s a step). A fixed default, because a changing one would reset the widget.
    return st.select_slider(label, options=epochs, value=epochs[-1], key=key)


def _curves() -> None:
    if not records:
        st.info("This run has no metrics yet (metrics.jsonl is written at the end of each epoch).")
        return
    numbers = summary_numbers(records)
    c1, c2, c3 = st.columns(3)
    c1.metric("epochs completed", numbers["last_epoch"])
    c2.metric("last validation top-1 / top-5",
              f"{_percent(numbers['last_val_top1'])} / {_percent(numbers['last_val_top5'])}")
    best_epoch = f" (epoch {numbers['best_epoch']})" if numbers["best_epoch"] is not None else ""
    c3.metric("best validation top-1", _percent(numbers["best_val_top1"]) + best_epoch)
    figure = _curves_figure(str(run_dir), run_label, stamp)
    st.plotly_chart(figure, key="training_curves")
    st.caption("Dashed: training set; solid: validation. Dotted verticals: the learning rate was divided "
               "after that epoch. What to notice: the error drops in steps right after each learning-rate "
               "division.")
    download_buttons(fig=lambda: curves_matplotlib(records, title=run_label),
                     csv_rows=curve_rows(records), name=f"training_curves_{run_dir.name}")


@st.fragment
def _conv1_over_training() -> None:
    if not epochs:
        st.info("This run saved no snapshots (snapshots/epoch_NNN.pt), so there is nothing to show per epoch.")
        return
    epoch = _epoch_slider("training_epoch", "Epoch (conv1 as it was after this epoch; 0 = initialisation)")
    record = epoch_record(records, epoch)
    if record is not None:
        st.caption(
            f"At the end of epoch {epoch}: training loss {record.get('train_loss', float('nan')):.4f}, "
            f"validation top-1 {_percent(record.get('val_top1_error'))}, top-5 "
            f"{_percent(record.get('val_top5_error'))}, learning rate {record.get('lr', float('nan')):g}."
        )
    contrast = st.radio("Kernel contrast", ("per-kernel", "shared"), horizontal=True, key="training_contrast",
                        help="per-kernel: each kernel stretched to its own range; shared: one range for the layer.")
    try:
        pictures = [(e, _kernels_png(str(run_dir), e, contrast, stamp)) for e in dict.fromkeys((epochs[0], epoch))]
        towers = _kernel_summary(str(run_dir), epoch, stamp)
    except CheckpointError as exc:
        st.error(f"Snapshot for epoch {epoch} could not be loaded: {exc}")
        return
    for column, (shown, png) in zip(st.columns(len(pictures)), pictures, strict=True):
        with column:
            st.image(png, caption=f"conv1 after epoch {shown}" + (" (initial weights)" if shown == 0 else "")
                     + (" - left block: tower 1, right block: tower 2" if len(towers) > 1 else ""),
                     output_format="PNG")
    download_buttons(fig=pictures[-1][1], name=f"training_{run_dir.name}_conv1_epoch_{epoch:03d}")
    if len(epochs) > 2 and st.button(f"Play all {len(epochs)} epochs", icon=":material/play_arrow:",
                                     key="training_play", help="An animated GIF, one frame per saved epoch "
                                     "(256 colours a frame; the pictures above are exact)."):
        st.image(_movie_gif(str(run_dir), contrast, stamp), caption=f"conv1 from epoch {epochs[0]} to "
                 f"{epochs[-1]}, looping ({contrast} contrast)")
    st.caption("What to notice: random noise at epoch 0; oriented edges and colour blobs (the paper's Figure 3) "
               "form over the first epochs.")
    summary_columns = st.columns(2 * len(towers))
    for i, tower in enumerate(towers):
        name = f"Tower {tower['tower']}: " if len(towers) > 1 else ""
        summary_columns[2 * i].metric(f"{name}oriented kernels", f"{tower['oriented_share']:.0%}",
                                      help="More oriented than 99% of random kernels of the same shape "
                                      "(about 1% of freshly initialised kernels pass by chance); see the Kernels "
                                      "page.")
        summary_columns[2 * i + 1].metric(f"{name}mean colour specificity",
                                          f"{tower['mean_colour_specificity']:.2f}",
                                          help="0 = grey kernels, about 2/3 for random weights.")


@st.fragment
def _activations_at_epoch() -> None:
    if not epochs or full_snapshot(run_dir, epochs[-1]) is None:
        st.info("The bundled reference ships conv1 alone for each epoch (the whole conv stack for 40 epochs would "
                "not fit in git), so activations per epoch are shown for your own runs only." if epochs else
                "This run saved no snapshots, so there are no activations per epoch to show.")
        return
    epoch = _epoch_slider("training_activations_epoch", "Epoch (the network as it was after this epoch)")
    snapshot_path = full_snapshot(run_dir, epoch)
    try:
        snapshot = _snapshot(str(snapshot_path), f"{run_label}, epoch {epoch}", snapshot_path.stat().st_mtime_ns)
    except CheckpointError as exc:
        st.error(f"Snapshot for epoch {epoch} could not be loaded: {exc}")
        return
    show_notice(snapshot)
    picked = image_picker("training")
    if picked is None:
        st.info("Pick an image to see its activations at this epoch.")
        return
    image, digest = picked
    stages = {s.name: s.label for s in feature_stages(snapshot.model) if s.kind != "conv"}
    layer = st.selectbox("Layer", list(stages), format_func=stages.get, key="training_layer")
    view = cached_layer_view(snapshot.key, digest, layer, "per-channel", snapshot, image)
    channels, height, width = view["shape"]
    st.image(view["png"], caption=f"{stages[layer]} after epoch {epoch}: {channels} maps of {height}x{width}, "
             "each on its own scale", output_format="PNG")
    st.caption("What to notice: move the epoch: the maps turn from noise into edges and textures of the image.")
    download_buttons(fig=view["png"], name=f"training_{run_dir.name}_{layer}_epoch_{epoch:03d}")


curves_tab, conv1_tab, activations_tab = st.tabs(["Curves", "conv1 over training", "Activations at this epoch"])
with curves_tab:
    _curves()
with conv1_tab:
    _conv1_over_training()
with activations_tab:
    _activations_at_epoch()
