"""Analysis behind the dashboard: tensors in, arrays, numbers and figure bytes out (no Streamlit).

Modules: ``models`` (which models exist, loading them read-only), ``images`` (user images to the
network's input), ``activations`` (feature maps via hooks), ``kernels`` (kernel pictures and
scores), ``figures`` (PNG/CSV bytes for downloads), plus the page-specific analyses.
"""

from explorer.activations import (
    PaletteImage,
    capture_activations,
    channel_stats,
    feature_grid,
    feature_grid_indexed,
    feature_stages,
    top_k,
)
from explorer.figures import FigureExportError, csv_bytes, png_bytes
from explorer.images import ImageError, image_hash, load_image, sample_images, to_network_input
from explorer.kernels import (
    channel_slices,
    colour_specificity,
    kernel_grid,
    orientation_selectivity,
    oriented_share,
)
from explorer.models import LoadedModel, ModelOption, available_models, load_model, load_uploaded_checkpoint

__all__ = [
    "FigureExportError",
    "ImageError",
    "LoadedModel",
    "PaletteImage",
    "ModelOption",
    "available_models",
    "capture_activations",
    "channel_slices",
    "channel_stats",
    "colour_specificity",
    "csv_bytes",
    "feature_grid",
    "feature_grid_indexed",
    "feature_stages",
    "image_hash",
    "kernel_grid",
    "load_image",
    "load_model",
    "load_uploaded_checkpoint",
    "orientation_selectivity",
    "oriented_share",
    "png_bytes",
    "sample_images",
    "to_network_input",
    "top_k",
]
