"""Augmentation presets: training crops, mirrors and colour noise; the CPU and gather paths; eval crops.

Crops are checked against manual slicing and torchvision's ten_crop.
"""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

import alexnet.data.presets as presets
from alexnet.data.presets import EvalPreset, TrainPreset
from alexnet.errors import DataError
from tests.alexnet.data.test_stats import _stats

# --------------------------------------------------------------------------------------------------
# training augmentation


def _find_window(output: torch.Tensor, source: torch.Tensor, crop: int) -> list[tuple[int, int, bool]]:
    """All (top, left, mirrored) windows of source (3, S, S) equal to output (3, crop, crop)."""
    size = source.shape[-1]
    hits = []
    for top in range(size - crop + 1):
        for left in range(size - crop + 1):
            window = source[:, top : top + crop, left : left + crop]
            hits += [(top, left, False)] if torch.equal(window, output) else []
            hits += [(top, left, True)] if torch.equal(window.flip(-1), output) else []
    return hits


def test_train_crops_are_random_windows_and_mirrors():
    size, crop, n = 9, 5, 64
    images = torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    preset = TrainPreset(_stats(torch.zeros(3, size, size)), crop_size=crop, pca_std=0.0)
    out = preset(images, torch.Generator().manual_seed(2))
    assert out.shape == (n, 3, crop, crop) and out.dtype == torch.float32
    windows = []
    for i in range(n):
        hits = _find_window(out[i], images[i].float(), crop)
        assert len(hits) == 1, f"image {i}: output is not exactly one window of its input ({hits})"
        windows += hits
    assert {w[2] for w in windows} == {False, True}  # both mirrored and plain crops occur
    assert len({w[:2] for w in windows}) > 10  # positions vary from image to image


def test_train_crops_equal_manual_slicing_for_a_fixed_generator():
    size, crop, n = 12, 7, 6
    images = torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(4), dtype=torch.uint8)
    mean = torch.rand(3, size, size, generator=torch.Generator().manual_seed(5)) * 255
    stats = _stats(mean)
    out = TrainPreset(stats, crop_size=crop)(images, torch.Generator().manual_seed(6))

    # The documented draw order: rows, columns, mirrors, then colour coefficients.
    g = torch.Generator().manual_seed(6)
    top = torch.randint(0, size - crop + 1, (n,), generator=g)
    left = torch.randint(0, size - crop + 1, (n,), generator=g)
    mirror = torch.randint(0, 2, (n,), generator=g).bool()
    alpha = torch.randn((n, 3), generator=g) * 0.1
    shift = stats.eigvecs @ (alpha * stats.eigvals.sqrt()).T  # (3, n): sum_i p_i * a_i * sqrt(l_i)
    for i in range(n):
        row, col = int(top[i]), int(left[i])
        expected = (images[i].float() - mean)[:, row : row + crop, col : col + crop]
        if mirror[i]:
            expected = expected.flip(-1)
        expected = expected + shift[:, i, None, None]
        torch.testing.assert_close(out[i], expected, rtol=0, atol=1e-4)


def test_train_mean_image_is_cropped_and_mirrored_with_the_image():
    # Every image equals the mean image: whatever window and mirror is drawn, the result is zero.
    size = 10
    image = torch.randint(0, 256, (3, size, size), generator=torch.Generator().manual_seed(7), dtype=torch.uint8)
    preset = TrainPreset(_stats(image.float()), crop_size=6, pca_std=0.0)
    out = preset(image.expand(32, -1, -1, -1).contiguous(), torch.Generator().manual_seed(8))
    assert torch.equal(out, torch.zeros_like(out))


def test_train_colour_shift_is_constant_per_image_and_drawn_per_image():
    size, n = 10, 16
    images = torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(9), dtype=torch.uint8)
    stats = _stats(torch.full((3, size, size), 100.0))
    plain = TrainPreset(stats, crop_size=6, pca_std=0.0)(images, torch.Generator().manual_seed(10))
    noisy = TrainPreset(stats, crop_size=6, pca_std=0.1)(images, torch.Generator().manual_seed(10))
    shift = noisy - plain  # same seed: same crops (colour is drawn last)
    torch.testing.assert_close(shift, shift[:, :, :1, :1].expand_as(shift), rtol=0, atol=1e-4)
    per_image = shift[:, :, 0, 0]
    assert per_image.abs().min() > 0 and torch.unique(per_image[:, 0]).numel() == n


def test_colour_shift_has_the_documented_covariance():
    # shift = P diag(sqrt(l)) a, a ~ N(0, 0.1^2 I)  =>  Cov(shift) = 0.01 * P diag(l) P^T.
    stats = _stats(torch.zeros(3, 4, 4), eigvals=(900.0, 100.0, 25.0))
    preset = TrainPreset(stats, crop_size=3, pca_std=0.1)
    draws = preset.colour_shift(200_000, torch.device("cpu"), torch.Generator().manual_seed(11)).double()
    expected = 0.01 * stats.eigvecs.double() @ torch.diag(stats.eigvals.double()) @ stats.eigvecs.double().T
    torch.testing.assert_close(torch.cov(draws.T), expected, rtol=0, atol=0.03 * 9.0)
    assert draws.mean(0).abs().max() < 0.03
    # along the top principal axis the shift's standard deviation is 0.1 * sqrt(900) = 3 grey levels
    along_top = draws @ stats.eigvecs[:, 0].double()
    assert abs(along_top.std().item() - 3.0) < 0.03


def test_train_is_deterministic_given_the_generator():
    images = torch.randint(0, 256, (8, 3, 16, 16), generator=torch.Generator().manual_seed(12), dtype=torch.uint8)
    preset = TrainPreset(_stats(torch.rand(3, 16, 16) * 255), crop_size=11)
    first = preset(images, torch.Generator().manual_seed(13))
    assert torch.equal(first, preset(images, torch.Generator().manual_seed(13)))
    assert not torch.equal(first, preset(images, torch.Generator().manual_seed(14)))


def test_train_without_flip_never_mirrors():
    size, crop, n = 8, 5, 24
    images = torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(15), dtype=torch.uint8)
    out = TrainPreset(_stats(torch.zeros(3, size, size)), crop_size=crop, pca_std=0.0, flip=False)(images)
    for i in range(n):
        assert [hit[2] for hit in _find_window(out[i], images[i].float(), crop)] == [False]


def _gather_reference(preset: TrainPreset, images: torch.Tensor, seed: int) -> torch.Tensor:
    """TrainPreset's output computed by the generic (GPU) gather path, with the documented draws."""
    n, _, height, width = images.shape
    crop, g = preset.crop_size, torch.Generator().manual_seed(seed)
    top = torch.randint(0, height - crop + 1, (n,), generator=g)
    left = torch.randint(0, width - crop + 1, (n,), generator=g)
    mirror = torch.randint(0, 2, (n,), generator=g).bool()
    out = presets._crop_and_centre(images, preset.stats.mean_image, top, left, mirror, crop)
    return out + preset.colour_shift(n, images.device, g)[:, :, None, None]


@pytest.mark.parametrize("rows_per_op", [None, 4, 1])
def test_cpu_per_image_crops_equal_the_gather_bit_for_bit(rows_per_op):
    # Non-square images, every offset and both mirror states occur; whole images and row blocks.
    n, height, width, crop = 40, 13, 17, 9
    g = torch.Generator().manual_seed(20)
    images = torch.randint(0, 256, (n, 3, height, width), generator=g, dtype=torch.uint8)
    mean = torch.rand(3, height, width, generator=g) * 255
    top = torch.randint(0, height - crop + 1, (n,), generator=g)
    left = torch.randint(0, width - crop + 1, (n,), generator=g)
    mirror = torch.arange(n) % 3 == 0
    shift = torch.randn((n, 3), generator=g) * 7
    rows = crop if rows_per_op is None else rows_per_op
    expected = presets._crop_and_centre(images, mean, top, left, mirror, crop)
    got = presets._crop_and_centre_per_image(images, mean, mean.flip(-1), top, left, mirror, crop, None, rows)
    assert torch.equal(got, expected)
    got = presets._crop_and_centre_per_image(images, mean, mean.flip(-1), top, left, mirror, crop, shift, rows)
    assert torch.equal(got, expected + shift[:, :, None, None])
    assert got.dtype == torch.float32 and got.is_contiguous()


def test_train_preset_on_cpu_equals_the_gather_path_at_any_thread_count():
    # The paper's sizes (256 -> 227: whole images with one thread, 144 + 83 row blocks with two).
    g = torch.Generator().manual_seed(21)
    images = torch.randint(0, 256, (5, 3, 256, 256), generator=g, dtype=torch.uint8)
    preset = TrainPreset(_stats(torch.rand(3, 256, 256, generator=g) * 255))
    expected = _gather_reference(preset, images, seed=22)
    threads = torch.get_num_threads()
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            assert torch.equal(preset(images, torch.Generator().manual_seed(22)), expected)
    finally:
        torch.set_num_threads(threads)
    plain = TrainPreset(preset.stats, pca_std=0.0, flip=False)
    g = torch.Generator().manual_seed(23)
    top, left = torch.randint(0, 30, (5,), generator=g), torch.randint(0, 30, (5,), generator=g)
    no_mirror = torch.zeros(5, dtype=torch.bool)
    expected = presets._crop_and_centre(images, preset.stats.mean_image, top, left, no_mirror, 227)
    assert torch.equal(plain(images, torch.Generator().manual_seed(23)), expected)


def test_train_preset_keeps_float_input_on_the_generic_path():
    # Float batches (not the documented uint8) still work, as before the CPU fast path.
    images = torch.randint(0, 256, (4, 3, 10, 10), generator=torch.Generator().manual_seed(24)).float()
    preset = TrainPreset(_stats(torch.rand(3, 10, 10) * 255), crop_size=7)
    assert torch.equal(preset(images, torch.Generator().manual_seed(25)), _gather_reference(preset, images, 25))


def test_presets_reject_mismatched_sizes():
    stats = _stats(torch.zeros(3, 16, 16))
    with pytest.raises(DataError, match=r"images are \(12, 12\) but the mean image is \(16, 16\)"):
        TrainPreset(stats, crop_size=8)(torch.zeros((2, 3, 12, 12), dtype=torch.uint8))
    with pytest.raises(DataError, match="crop size 20 is larger"):
        EvalPreset(stats, crop_size=20)
    with pytest.raises(DataError, match=r"\(N, 3, H, W\)"):
        EvalPreset(stats, crop_size=8)(torch.zeros((3, 16, 16), dtype=torch.uint8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_train_and_eval_run_on_the_gpu_with_a_gpu_generator():
    size, crop, n = 16, 11, 32
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8).cuda()
    stats = _stats(torch.rand(3, size, size) * 255)
    preset = TrainPreset(stats, crop_size=crop)
    first = preset(images, torch.Generator(device="cuda").manual_seed(1))
    assert first.device.type == "cuda" and first.dtype == torch.float32 and first.shape == (n, 3, crop, crop)
    assert torch.equal(first, preset(images, torch.Generator(device="cuda").manual_seed(1)))
    plain = TrainPreset(stats, crop_size=crop, pca_std=0.0)(images, torch.Generator(device="cuda").manual_seed(1))
    centred = images.float().cpu() - stats.mean_image
    for i in range(n):
        assert len(_find_window(plain[i].cpu(), centred[i], crop)) == 1
    evaluated = EvalPreset(stats, crop_size=crop).ten_crop(images)
    assert evaluated.device.type == "cuda"
    torch.testing.assert_close(evaluated.cpu(), EvalPreset(stats, crop_size=crop).ten_crop(images.cpu()))


# --------------------------------------------------------------------------------------------------
# evaluation crops


def test_eval_centre_crop_256_to_227_starts_at_14():
    images = torch.randint(0, 256, (2, 3, 256, 256), generator=torch.Generator().manual_seed(16), dtype=torch.uint8)
    mean = torch.rand(3, 256, 256, generator=torch.Generator().manual_seed(17)) * 255
    out = EvalPreset(_stats(mean))(images)
    assert out.shape == (2, 3, 227, 227) and out.dtype == torch.float32
    torch.testing.assert_close(out, (images.float() - mean)[:, :, 14:241, 14:241], rtol=0, atol=1e-4)


def test_ten_crop_positions_match_manual_slicing_and_torchvision():
    size, crop = 12, 7
    images = torch.randint(0, 256, (3, 3, size, size), generator=torch.Generator().manual_seed(18), dtype=torch.uint8)
    mean = torch.rand(3, size, size, generator=torch.Generator().manual_seed(19)) * 255
    out = EvalPreset(_stats(mean), crop_size=crop).ten_crop(images)
    assert out.shape == (3, 10, 3, crop, crop) and out.dtype == torch.float32
    centred = images.float() - mean
    far, mid = size - crop, round((size - crop) / 2)  # round(2.5) == 2: torchvision's centre offset
    windows = [(0, 0), (0, far), (far, 0), (far, far), (mid, mid)]
    manual = [centred[..., row : row + crop, col : col + crop] for row, col in windows]
    mirrored = centred.flip(-1)
    manual += [mirrored[..., row : row + crop, col : col + crop] for row, col in windows]
    torch.testing.assert_close(out, torch.stack(manual, dim=1), rtol=0, atol=1e-4)
    torch.testing.assert_close(out, torch.stack(TF.ten_crop(centred, [crop, crop]), dim=1), rtol=0, atol=1e-4)
    # the mirrored image's top-left crop is the original top-right crop, mirrored
    torch.testing.assert_close(out[:, 5], out[:, 1].flip(-1), rtol=0, atol=1e-4)
    # and the single centre crop is crop number 4
    torch.testing.assert_close(EvalPreset(_stats(mean), crop_size=crop)(images), out[:, 4], rtol=0, atol=1e-4)
