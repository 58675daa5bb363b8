"""Attribution for one image: which pixels the class score depends on, one method per module (Captum's layout).

``gradcam`` (Grad-CAM at the last conv layer, Captum's LayerGradCam), ``occlusion`` (a patch slid over
the image, the drop in the class score, with progress), ``saliency`` (input gradients, Captum's
Saliency); each returns a float32 (H, W) map on the network input's pixel grid, for the predicted
class or any class index. ``overlay`` is the only module that draws: the map over the photo with a
colour bar, as an RGB array or PNG bytes.
"""

from explorer.attribution._common import Progress, class_index, default_layer, grey_fill, predicted_class
from explorer.attribution.gradcam import gradcam, gradcam_cells
from explorer.attribution.occlusion import occlusion, window_starts
from explorer.attribution.overlay import overlay, overlay_png, photo_array
from explorer.attribution.saliency import saliency

METHODS = ("gradcam", "occlusion", "saliency")

__all__ = [
    "METHODS",
    "Progress",
    "class_index",
    "default_layer",
    "gradcam",
    "gradcam_cells",
    "grey_fill",
    "occlusion",
    "overlay",
    "overlay_png",
    "photo_array",
    "predicted_class",
    "saliency",
    "window_starts",
]
