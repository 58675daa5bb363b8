"""What Local Response Normalization does to a network's activations (paper, section 3.3).

Tensors in, numbers, arrays and figures out; no Streamlit. ``measures``: the LRN settings and the
measures of its effect (response curves, winners, contrast, sparsity, gain); ``runs``: the model run
with LRN set to the user's parameters or removed, and the two runs compared; ``pictures``: the
winner maps, response curves and before/after grids the LRN page shows.
"""

from explorer.lrn.measures import (
    NO_WINNER,
    PAPER_LRN,
    LRNParams,
    apply_lrn,
    channel_contrast,
    hoyer_sparsity,
    lrn_effect,
    response_curve,
    response_curves,
    response_range,
    winner_change_share,
    winner_map,
    winner_shift_rows,
    zero_fraction,
)
from explorer.lrn.pictures import (
    change_image,
    channel_pair,
    response_figure,
    shared_range_grids,
    winner_colours,
    winner_image,
)
from explorer.lrn.runs import analyse_image, downstream_change, lrn_layer_count, run_features

__all__ = [
    "NO_WINNER",
    "PAPER_LRN",
    "LRNParams",
    "analyse_image",
    "apply_lrn",
    "change_image",
    "channel_contrast",
    "channel_pair",
    "downstream_change",
    "hoyer_sparsity",
    "lrn_effect",
    "lrn_layer_count",
    "response_curve",
    "response_curves",
    "response_figure",
    "response_range",
    "run_features",
    "shared_range_grids",
    "winner_change_share",
    "winner_colours",
    "winner_image",
    "winner_map",
    "winner_shift_rows",
    "zero_fraction",
]
