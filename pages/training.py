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
    list_snapshots,
    read_metrics,
    run_folders,
    summary_numbers,
)
from explorer.figures import png_bytes
from explorer.kernels import conv_weights, kernel_grid, kernel_scores, tower_summary
from explorer.models import LoadedModel, ModelOption, load_model
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
def _kernels_png(model_key: str, _snapshot_model: LoadedModel, contrast: str) -> bytes:
    weight = conv_weights(_snapshot_model.model, "conv1")
    return png_bytes(kernel_grid(weight, contrast, towers=_snapshot_model.towers))  # type: ignore[arg-type]


@st.cache_data(max_entries=32, show_spinner=False)
def _kernel_summary(model_key: str, _snapshot_model: LoadedModel) -> list[dict]:
    """Per tower: share of oriented conv1 kernels and mean colour specificity (explorer.kernels)."""
    weight = conv_weights(_snapshot_model.model, "conv1")
    return tower_summary(kernel_scores(weight, towers=_snapshot_model.towers))


@st.cache_resource(max_entries=16, show_spinner=False)
def _curves_figure(run_dir: str, title: str, metrics_stamp: tuple[int, int], epoch: int | None):
    # Building the three-panel plotly figure costs ~0.1 s; reruns that change neither the metrics file
    # (its mtime and size are in the key) nor the epoch reuse it. plotly_chart only reads the figure.
    return curves_figure(read_metrics(run_dir), title=title, mark_epoch=epoch)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (0, 0)
    return (info.st_mtime_ns, info.st_size)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


loaded = current_model()
st.title("Training")
show_notice(loaded)
st.markdown(
    "A run folder is what `alexnet train` writes: `metrics.jsonl` (one line per epoch) and "
    "`snapshots/epoch_NNN.pt` (the conv layers at chosen epochs; epoch 0 is the initialisation). "
    "The bundled reference model ships the same files."
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
run_label = st.selectbox("Run", labels, key="training_run")
run_dir = Path(dict(folders)[run_label])
try:
    records = read_metrics(run_dir)
except ValueError as exc:
    st.error(f"Cannot read this run's metrics: {exc}")
    records = []
snapshots = list_snapshots(run_dir)

epoch: int | None = None
if snapshots:
    epochs = list(snapshots)
    epoch = st.select_slider(
        "Saved epoch (conv layers as they were after this epoch; 0 = initialisation)",
        options=epochs, value=epochs[-1], key="training_epoch",
    )

st.subheader("Curves")
if records:
    numbers = summary_numbers(records)
    c1, c2, c3 = st.columns(3)
    c1.metric("epochs completed", numbers["last_epoch"])
    c2.metric("last validation top-1 / top-5",
              f"{_percent(numbers['last_val_top1'])} / {_percent(numbers['last_val_top5'])}")
    best_epoch = f" (epoch {numbers['best_epoch']})" if numbers["best_epoch"] is not None else ""
    c3.metric("best validation top-1", _percent(numbers["best_val_top1"]) + best_epoch)
    figure = _curves_figure(str(run_dir), run_label, _stamp(run_dir / METRICS_FILE), epoch)
    st.plotly_chart(figure, key="training_curves")
    st.caption("Dashed: training set; solid: validation. Dotted verticals: the learning rate was divided "
               "after that epoch. Red vertical: the epoch chosen below.")
    download_buttons(fig=lambda: curves_matplotlib(records, title=run_label, mark_epoch=epoch),
                     csv_rows=curve_rows(records), name=f"training_curves_{run_dir.name}")
else:
    st.info("This run has no metrics yet (metrics.jsonl is written at the end of each epoch).")

st.subheader("Conv layers at a saved epoch")
if not snapshots:
    st.info("This run saved no snapshots (snapshots/epoch_NNN.pt), so there is nothing to show per epoch.")
    st.stop()

path = snapshots[epoch]
try:
    snapshot = _snapshot(str(path), f"{run_label}, epoch {epoch}", path.stat().st_mtime_ns)
except CheckpointError as exc:
    st.error(f"Snapshot for epoch {epoch} could not be loaded: {exc}")
    st.stop()

st.markdown(f"**Showing epoch {epoch}** of {run_label}.")
show_notice(snapshot)
record = epoch_record(records, epoch)
if record is not None:
    st.caption(
        f"At the end of epoch {epoch}: training loss {record.get('train_loss', float('nan')):.4f}, "
        f"validation top-1 {_percent(record.get('val_top1_error'))}, top-5 {_percent(record.get('val_top5_error'))}, "
        f"learning rate {record.get('lr', float('nan')):g}."
    )
elif epoch == 0:
    st.caption("Epoch 0: the weights as initialised, before any training step.")
st.caption("Snapshots hold the conv layers only; the fully connected layers are not saved in them, so no "
           "predictions are shown here.")

contrast = st.radio("Kernel contrast", ("per-kernel", "shared"), horizontal=True, key="training_contrast",
                    help="per-kernel: each kernel stretched to its own range; shared: one range for the layer.")
kernels = _kernels_png(snapshot.key, snapshot, contrast)
st.image(kernels, caption=f"conv1 kernels after epoch {epoch}"
         + (" (left block: tower 1, right block: tower 2)" if snapshot.towers == 2 else ""), output_format="PNG")
download_buttons(fig=kernels, name=f"training_{run_dir.name}_conv1_epoch_{epoch:03d}")
summary_columns = st.columns(2 * len(towers := _kernel_summary(snapshot.key, snapshot)))
for i, tower in enumerate(towers):
    name = f"Tower {tower['tower']}: " if len(towers) > 1 else ""
    summary_columns[2 * i].metric(f"{name}oriented kernels", f"{tower['oriented_share']:.0%}",
                                  help="More oriented than 99% of random kernels of the same shape "
                                  "(about 1% of freshly initialised kernels pass by chance); see the Kernels page.")
    summary_columns[2 * i + 1].metric(f"{name}mean colour specificity", f"{tower['mean_colour_specificity']:.2f}",
                                      help="0 = grey kernels, about 2/3 for random weights.")

picked = image_picker("training")
if picked is None:
    st.info("Pick an image to see its activations at this epoch.")
    st.stop()
image, digest = picked
stages = {s.name: s.label for s in feature_stages(snapshot.model) if s.kind != "conv"}
layer = st.selectbox("Layer", list(stages), format_func=stages.get, key="training_layer")
view = cached_layer_view(snapshot.key, digest, layer, "per-channel", snapshot, image)
channels, height, width = view["shape"]
st.image(view["png"], caption=f"{stages[layer]} after epoch {epoch}: {channels} maps of {height}x{width}, "
         "each on its own scale", output_format="PNG")
download_buttons(fig=view["png"], name=f"training_{run_dir.name}_{layer}_epoch_{epoch:03d}")
