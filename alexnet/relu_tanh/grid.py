"""Choosing a learning rate from a grid: edge winners extend the grid; full-run grids stop beaten rates early."""

from __future__ import annotations

from collections.abc import Callable


def choose_rate(
    rates: tuple[float, ...],
    curve_of: Callable[[float, int | None], dict | None],
    rank: Callable[[dict], tuple],
    extensions: int,
    reached: Callable[[dict], int | None] | None = None,
) -> tuple[list[float], dict[float, dict], float] | None:
    """(the grid as run, its curves, the best rate): the lowest ``rank`` wins, ties go to the smaller rate.

    A winner at the grid's edge extends the grid by one step (the ratio of its last two rates) at most
    ``extensions`` times, upwards only while the top rate has not diverged. None if a unit is missing.
    With ``reached`` (epochs a curve took to 25%, None if never), rates are tried middle first and each
    later one gets the fewest epochs any earlier rate took as ``curve_of``'s second argument (its cap).
    """
    grid = sorted(rates)
    curves: dict[float, dict] = {}
    for used in range(extensions + 1):
        middle = (len(grid) - 1) / 2
        for lr in sorted(grid, key=lambda r: (abs(grid.index(r) - middle), r)) if reached else grid:
            if lr not in curves:
                times = [t for t in map(reached, curves.values()) if t is not None] if reached else []
                curve = curve_of(lr, min(times) if times else None)
                if curve is not None:
                    curves[lr] = curve
        if any(lr not in curves for lr in grid):  # every missing unit of the grid is listed before giving up
            return None
        best = min(grid, key=lambda lr: (rank(curves[lr]), lr))
        if used == extensions:
            break
        if best == grid[-1] and not curves[best]["diverged"]:
            grid = grid + [round(grid[-1] * (grid[-1] / grid[-2] if len(grid) > 1 else 10 ** 0.5), 10)]
        elif best == grid[0] and len(grid) > 1:
            grid = [round(grid[0] / (grid[1] / grid[0]), 10)] + grid
        else:
            break
    return grid, curves, best
