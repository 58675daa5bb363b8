"""Per-session state: the sidebar's model picker, the current model and the current image.

Models are loaded once per choice with ``st.cache_resource`` and shared by every session of the running
app. They are read-only: ``explorer`` never changes a model (hooks are removed in ``finally``, the model
stays in eval mode). Everything per user (chosen model, image, layer, channel, uploads) lives in
``st.session_state``.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from PIL import Image

from alexnet.errors import CheckpointError, WeightsUnavailableError
from alexnet.paths import runs_root
from explorer.display import limit_torch_threads
from explorer.images import ImageError, image_hash, load_image, shrink_for_display
from explorer.models import LoadedModel, ModelOption, available_models, load_model, load_uploaded_checkpoint

__all__ = [
    "CHECKPOINT_UPLOAD_TYPES",
    "ChosenImage",
    "accept_image",
    "current_image",
    "current_model",
    "ensure_app_shell",
    "model_sidebar",
]

CHECKPOINT_UPLOAD_TYPES = ("pt", "pth", "ckpt", "safetensors")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".avif")
_UPLOAD_CHOICE = "__upload__"
_MODEL_STATE = "explorer_loaded_model"
_IMAGE_STATE = "explorer_image"
_IMAGE_REFUSED_STATE = "explorer_image_refused"

# Here because the app and every page import this module (current_model, model_sidebar).
limit_torch_threads()


# --------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------


@st.cache_data(ttl=20, show_spinner=False)
def _model_options(runs_dir: str) -> list[ModelOption]:
    # A short ttl: new runs appear within seconds, without listing folders on every rerun.
    return available_models(runs_dir)


@st.cache_resource(max_entries=4, show_spinner="Loading model ...")
def _load_option(option: ModelOption) -> LoadedModel:
    return load_model(option)


@st.cache_resource(max_entries=2, show_spinner="Reading uploaded checkpoint ...")
def _load_upload(digest: str, name: str, _data: bytes) -> LoadedModel:
    # Keyed by the file's hash (the bytes themselves are not hashed again by Streamlit).
    return load_uploaded_checkpoint(_data, name=name)


def model_sidebar() -> LoadedModel:
    """The sidebar's model picker (called once per run by streamlit_app.py); returns the loaded model."""
    options = _model_options(str(runs_root().resolve()))
    by_key = {o.key: o for o in options}
    keys = [*by_key, _UPLOAD_CHOICE]
    if st.session_state.get("model_choice") not in keys:  # a run folder vanished since last time
        st.session_state.pop("model_choice", None)
    choice = st.sidebar.selectbox(
        "Model",
        keys,
        format_func=lambda k: "Upload a checkpoint ..." if k == _UPLOAD_CHOICE else by_key[k].label,
        key="model_choice",
        help="Checkpoints are read with torch.load(weights_only=True): files that would run code are refused.",
    )
    loaded: LoadedModel | None = None
    if choice == _UPLOAD_CHOICE:
        # No type= filter: the browser would refuse other files with only an icon; every file is
        # read here instead and refused with a sentence (CHECKPOINT_UPLOAD_TYPES is what is expected).
        upload = st.sidebar.file_uploader(
            "Checkpoint file (.pt, .pth, .ckpt or .safetensors)", key="checkpoint_upload",
            help="A torch.save checkpoint (read with weights_only=True) or one .safetensors file of AlexNet weights.",
        )
        if upload is None:
            st.sidebar.info("No checkpoint uploaded yet: showing the default model.")
        elif upload.name.lower().endswith(_IMAGE_SUFFIXES):
            st.sidebar.error(
                f"Checkpoint refused: {upload.name} is an image, not model weights; images go in a page's "
                "image picker (Upload)."
            )
        else:
            data = upload.getvalue()
            try:
                loaded = _load_upload(image_hash(data), upload.name, data)
            except CheckpointError as exc:
                st.sidebar.error(f"Checkpoint refused: {exc}")
    else:
        try:
            loaded = _load_option(by_key[choice])
        except (CheckpointError, WeightsUnavailableError) as exc:
            st.sidebar.error(f"Could not load {by_key[choice].label}: {exc}")
    if loaded is None:
        loaded = _load_option(options[0])
    st.session_state[_MODEL_STATE] = loaded
    st.sidebar.caption(_model_caption(loaded))
    return loaded


def _model_caption(loaded: LoadedModel) -> str:
    trained = "trained" if loaded.is_trained else "untrained"
    towers = "two towers" if loaded.towers == 2 else "one tower"
    classes = f"{len(loaded.class_names)} classes" if loaded.class_names else "no class names"
    return f"{loaded.label}: {trained}, {towers}, {classes}."


def ensure_app_shell() -> None:
    """Make sure the page runs inside streamlit_app.py's navigation, not Streamlit's legacy pages/ mode.

    Streamlit treats a folder called ``pages/`` beside the entry script as a version-1 multipage app:
    until the entry script has called ``st.navigation`` once in the server process, a visitor who opens
    a deep link (``/activations``) gets that page run on its own, without the sidebar, the wide layout
    and the page list of streamlit_app.py. Streamlit keeps that mode in a class attribute
    (``PagesManager.uses_pages_directory``, which ``st.navigation`` itself sets to False); switching it
    off and rerunning sends the same URL through streamlit_app.py. Harmless when the attribute is
    absent (other Streamlit versions). Every page calls this first (``current_model`` does).
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a Streamlit without the legacy mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_model() -> LoadedModel:
    """The model this session chose in the sidebar (renders the picker if the page runs alone)."""
    ensure_app_shell()
    loaded = st.session_state.get(_MODEL_STATE)
    if loaded is None:
        loaded = model_sidebar()
    return loaded


# --------------------------------------------------------------------------------------------------
# Image
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChosenImage:
    """The session's image: decoded (upright RGB, shorter side at most 1024), its hash and a name."""

    image: Image.Image
    hash: str
    name: str
    source: str
    true_class: str | None = None  # known for a validation image: its class folder's readable name


def current_image() -> ChosenImage | None:
    """The image this session chose on any page (None before the first choice)."""
    return st.session_state.get(_IMAGE_STATE)


def accept_image(data: bytes, name: str, source: str, true_class: str | None = None) -> str | None:
    """Decode and store ``data`` as the session's image (``true_class``: its class, when known), or show why it
    was refused (and return that sentence)."""
    digest = image_hash(data)
    current = current_image()
    if current is not None and current.hash == digest:
        return None
    # A refused file stays refused without decoding it again on every rerun while it sits in the uploader.
    refused = st.session_state.get(_IMAGE_REFUSED_STATE)
    if refused is not None and refused[0] == digest:
        st.error(refused[1])
        return refused[1]
    try:
        image = shrink_for_display(load_image(data))
    except ImageError as exc:
        message = f"{name} was not used: {exc}."
        st.session_state[_IMAGE_REFUSED_STATE] = (digest, message)
        st.error(message)
        return message
    st.session_state[_IMAGE_STATE] = ChosenImage(image, digest, name, source, true_class)
    return None
