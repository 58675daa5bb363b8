"""explorer.grids: the one tiler, by hand, for grey tiles, RGB tiles and palette indices, and its inverse."""

from __future__ import annotations

import numpy as np

from explorer.grids import grid_shape, tile, tile_at, tile_centre


def test_tile_places_images_row_by_row():
    tiles = np.arange(3, dtype=np.uint8).reshape(3, 1, 1) * 10
    assert tile(tiles, cols=2, pad=1, fill=255).tolist() == [[0, 255, 10], [255, 255, 255], [20, 255, 255]]


def test_grid_is_near_square_and_wider_than_tall():
    assert grid_shape(3) == (2, 2)
    assert grid_shape(90) == (9, 10)  # ten columns (ceil of sqrt 90), nine rows
    assert grid_shape(5, cols=9) == (1, 5)  # never more columns than images
    assert grid_shape(7, cols=0) == (7, 1)


def test_rgb_tiles_scale_and_keep_their_dtype():
    rgb = np.zeros((2, 1, 1, 3), dtype=np.uint8)
    rgb[1] = (1, 2, 3)
    grid = tile(rgb, pad=1, scale=2, fill=9)
    assert grid.shape == (2, 5, 3) and grid.dtype == np.uint8
    assert grid[:, :2].tolist() == [[[0, 0, 0]] * 2] * 2
    assert (grid[:, 2] == 9).all() and grid[1, 4].tolist() == [1, 2, 3]
    # Palette indices beyond 255 stay as they are: the tiler never narrows the dtype.
    indices = np.full((1, 2, 2), 300, dtype=np.uint16)
    assert tile(indices, pad=0).dtype == np.uint16 and (tile(indices, pad=0) == 300).all()


def test_tile_at_finds_every_image_where_tile_drew_it():
    # Each 3x2 image filled with its own index, scaled 2x, 4 per row, 2-pixel gaps: every drawn pixel maps back.
    count, cols, pad = 10, 4, 2
    tiles = np.broadcast_to(np.arange(count, dtype=np.uint16)[:, None, None], (count, 3, 2)).copy()
    picture = tile(tiles, cols=cols, pad=pad, scale=2, fill=999)
    for y, x in zip(*np.nonzero(picture != 999), strict=True):
        assert tile_at(x + 0.5, y + 0.5, count, (6, 4), cols=cols, pad=pad) == picture[y, x]
    # A gap counts for the image left of it / above it; the empty cells and the outside are None.
    assert tile_at(4.5, 0, count, (6, 4), cols=cols, pad=pad) == 0
    assert tile_at(0, 6.5, count, (6, 4), cols=cols, pad=pad) == 0
    assert tile_at(2 * 6 + 1, 2 * 8 + 1, count, (6, 4), cols=cols, pad=pad) is None  # cell 10 of 12: empty
    assert tile_at(-1, 0, count, (6, 4), cols=cols, pad=pad) is None
    assert tile_at(picture.shape[1], 0, count, (6, 4), cols=cols, pad=pad) is None
    assert tile_at(0, picture.shape[0], count, (6, 4), cols=cols, pad=pad) is None


def test_tile_centre_is_tile_ats_inverse():
    for count, cols, pad in ((10, 4, 1), (96, None, 1), (7, 3, 2)):
        assert [tile_at(*tile_centre(i, count, (6, 4), cols=cols, pad=pad), count, (6, 4), cols=cols, pad=pad)
                for i in range(count)] == list(range(count))
