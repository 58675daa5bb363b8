"""Why this class?: Grad-CAM, saliency and occlusion of one image for the predicted class or any other."""

from __future__ import annotations

import streamlit as st

from explorer.why_views import METHOD_LABELS, OCCLUSION_PATCH, OCCLUSION_STRIDES, occlusion_windows
from pages.caching import cached_activations, cached_attribution, cached_attribution_png, cached_occlusion, cached_top_k
from pages.state import current_model
from pages.widgets import download_buttons, require_image, show_notice, show_png

loaded = current_model()
st.title("Why this class?")
show_notice(loaded)
chosen = require_image("why", "Choose an image above to see which of its pixels the network's decision rests on.")
image, digest = chosen.image, chosen.hash  # the maps show the crop the network sees

forward = cached_activations(loaded.key, digest, loaded, image)
view, classes = forward["input"], len(forward["logits"])
names = loaded.class_names if loaded.class_names and len(loaded.class_names) == classes else None
label = (lambda i: names[i]) if names else (lambda i: f"class {i}")
top = cached_top_k(loaded.key, digest, 5, loaded, image)
predicted = top[0]["index"]
probability = {row["index"]: row["probability"] for row in cached_top_k(loaded.key, digest, classes, loaded, image)}

if st.session_state.get("why_class_for") != (loaded.key, digest):  # a new image or model: its predicted class
    st.session_state["why_class_for"] = (loaded.key, digest)
    st.session_state["why_class"] = predicted
st.markdown(f"**Predicted: {label(predicted)}** ({probability[predicted]:.1%})"
            + (f"; true class: {chosen.true_class}" if chosen.true_class else ""))
if not loaded.has_classifier:
    st.caption(loaded.classifier_note or "This model has no trained classifier: the maps explain noise.")
controls = st.columns([2, 1])
target = controls[0].selectbox(
    "Class to explain", range(classes), format_func=lambda i: f"{label(i)} ({probability[i]:.1%})",
    key="why_class", help="The predicted class by default; any other class asks what speaks for that one.",
)
opacity = controls[1].slider("Map opacity", 0.0, 1.0, 0.5, 0.05, key="why_opacity",
                             help="0: the photo alone; 1: the map alone.")

heading = f"{label(target)}"
columns = st.columns(3)
for column, method in zip(columns[:2], ("gradcam", "saliency"), strict=True):
    with column:
        st.subheader(METHOD_LABELS[method])
        heat = cached_attribution(loaded.key, digest, method, target, loaded, image)
        png = cached_attribution_png(loaded.key, digest, method, target, 0, opacity,
                                     f"{METHOD_LABELS[method]}: {heading}", view, heat)
        show_png(png, caption=f"{METHOD_LABELS[method]} of {heading} over the 227x227 crop")
        download_buttons(fig=png, name=f"{method}_{label(target)}", key=f"why_{method}")

with columns[2]:
    st.subheader(METHOD_LABELS["occlusion"])
    stride = st.segmented_control(
        "Stride (pixels between patches)", OCCLUSION_STRIDES, default=16, key="why_stride",
        format_func=lambda s: f"{s} px",
        help="Smaller strides give a finer map and take longer: the time grows with the number of passes.",
    ) or 16
    requested = st.session_state.setdefault("why_occlusion_requested", set())
    wanted = (loaded.key, digest, target, stride)
    if wanted not in requested:
        st.button("Run occlusion", key="why_run_occlusion", icon=":material/play_arrow:",
                  on_click=requested.add, args=(wanted,))  # a callback: it survives a rerun
        st.caption(f"{occlusion_windows(view.shape[0], stride)} forward passes; a progress bar follows them.")
    else:
        result = cached_occlusion(loaded.key, digest, target, stride, loaded, image)
        png = cached_attribution_png(loaded.key, digest, "occlusion", target, stride, opacity,
                                     f"Occlusion (stride {stride}): {heading}", view, result["heat"])
        show_png(png, caption=f"Occlusion of {heading} over the 227x227 crop (stride {stride})")
        st.caption(f"{occlusion_windows(view.shape[0], stride)} occluded copies in {result['seconds']:.1f} s "
                   "(kept: changing the opacity does not run it again).")
        download_buttons(fig=png, name=f"occlusion_{label(target)}", key="why_occlusion")

st.caption(
    "Grad-CAM: conv5's maps weighted by the class score's gradient (13x13 cells, coarse). Saliency: how much each "
    "pixel would move the score (coloured up to its 99.5th percentile). Occlusion: how far the class's probability "
    f"drops when a {OCCLUSION_PATCH}x{OCCLUSION_PATCH} patch of the training mean hides each place (one forward "
    "pass per patch)."
)
