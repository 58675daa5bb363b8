"""choose_rate: the grid's order, its extension, and the cap that stops beaten rates early."""

from alexnet.relu_tanh.grid import choose_rate


def _curve(epochs_to_25):
    return {"epochs": epochs_to_25, "diverged": False}


def test_sweep_grids_run_in_order_without_a_cap():
    asked = []
    scores = {0.01: 0.5, 0.03: 0.4, 0.1: 0.6}
    grid, curves, best = choose_rate((0.1, 0.01, 0.03), lambda lr, cap: asked.append((lr, cap)) or {"s": scores[lr],
                                     "diverged": False}, lambda c: (c["s"],), extensions=1)
    assert asked == [(0.01, None), (0.03, None), (0.1, None)] and best == 0.03 and grid == [0.01, 0.03, 0.1]


def test_full_grids_start_in_the_middle_and_cap_later_rates_at_the_fastest_so_far():
    reach = {0.001: None, 0.003: 9, 0.01: 4}  # the extension (about 0.033) takes 6
    asked = []

    def curve_of(lr, cap):
        asked.append((lr, cap))
        took = reach.get(lr, 6)
        return _curve(took if took is not None and (cap is None or took <= cap) else None)

    def rank(c):
        return (0, c["epochs"]) if c["epochs"] is not None else (1, 0)

    grid, curves, best = choose_rate((0.001, 0.003, 0.01), curve_of, rank, extensions=1,
                                     reached=lambda c: c["epochs"])
    # 0.003 first (in full: 9 epochs), then 0.001 capped at 9, then 0.01 capped at 9 (it wins with 4);
    # 0.01 sat at the top edge, so the next step up (0.01 * 0.01 / 0.003) is tried, capped at 4, and cannot win.
    up = round(0.01 * 0.01 / 0.003, 10)
    assert asked == [(0.003, None), (0.001, 9), (0.01, 9), (up, 4)]
    assert best == 0.01 and grid == [0.001, 0.003, 0.01, up] and curves[up]["epochs"] is None


def test_a_missing_unit_gives_no_choice():
    assert choose_rate((0.01, 0.03), lambda lr, cap: None, lambda c: (0,), extensions=0) is None
