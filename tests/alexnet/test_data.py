"""The ImageNet-style data pipeline: folders, decoding, caching, statistics and batched augmentation.

Small hand-checked cases: tiny ImageFolders built in tmp_path with generated images, statistics
against numpy, crops against manual slicing and torchvision's ten_crop.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as TF

import alexnet.data as data
from alexnet.data import (
    DataError,
    DatasetStats,
    EvalPreset,
    ImageSet,
    StreamingImageFolder,
    TrainPreset,
    class_names,
    compute_stats,
    dataset_stats,
    decode_image_file,
    find_split,
    load_image_folder,
)

# --------------------------------------------------------------------------------------------------
# helpers


def _column_ramp(height: int, width: int) -> np.ndarray:
    """RGB image whose red channel encodes the column (col // 2), green the row (row // 2), blue 7."""
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([cols // 2, rows // 2, np.full_like(rows, 7)], axis=-1).astype(np.uint8)


def _save(array: np.ndarray, path, mode: str | None = None, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array)
    if mode == "P":  # an adaptive palette holds a flat colour exactly (the default web palette dithers)
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    elif mode is not None:
        image = image.convert(mode)
    image.save(path, **kwargs)


def _flat(colour, size=(20, 16)) -> np.ndarray:
    return np.broadcast_to(np.array(colour, dtype=np.uint8), (size[1], size[0], 3)).copy()


def _tiny_folder(root, classes=("b_dogs", "a_cats"), per_class=2):
    """A small ImageFolder of flat-coloured PNGs; returns the expected colour per (class, file)."""
    for k, name in enumerate(classes):
        for i in range(per_class):
            _save(_flat((40 * k + 10 * i, 100, 200)), root / name / f"img{i}.png")
    return root


def _stats(mean_image: torch.Tensor, eigvals=(900.0, 100.0, 25.0), eigvecs=None) -> DatasetStats:
    if eigvecs is None:
        eigvecs = torch.linalg.qr(torch.tensor([[1.0, 2.0, 0.5], [1.0, -1.0, 2.0], [1.0, 0.3, -1.5]]))[0]
    return DatasetStats(mean_image.float(), torch.tensor(eigvals), eigvecs.float())


# --------------------------------------------------------------------------------------------------
# decoding: geometry and colour modes


def test_decode_wide_image_takes_the_horizontal_centre(tmp_path):
    # 256 high, 512 wide: no resize needed, the centre crop is columns 128..383.
    _save(_column_ramp(256, 512), tmp_path / "wide.png")
    image = decode_image_file(tmp_path / "wide.png", 256)
    assert image.dtype == torch.uint8 and image.shape == (3, 256, 256)
    expected_red = torch.arange(128, 384) // 2
    assert torch.equal(image[0], expected_red.expand(256, 256).to(torch.uint8))
    assert torch.equal(image[1], (torch.arange(256) // 2)[:, None].expand(256, 256).to(torch.uint8))
    assert (image[2] == 7).all()


def test_decode_tall_image_takes_the_vertical_centre(tmp_path):
    _save(_column_ramp(400, 256), tmp_path / "tall.png")
    image = decode_image_file(tmp_path / "tall.png", 256)
    # rows 72..327 of 400 (offset (400 - 256) / 2 = 72)
    assert torch.equal(image[1], (torch.arange(72, 328) // 2)[:, None].expand(256, 256).to(torch.uint8))
    assert torch.equal(image[0], (torch.arange(256) // 2).expand(256, 256).to(torch.uint8))


def test_decode_resizes_the_shorter_side_like_pil(tmp_path):
    # 30 wide x 20 high -> shorter side 16: 24 x 16, centre 16 crop = columns 4..19 of the resized image.
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    _save(array, tmp_path / "small.png")
    image = decode_image_file(tmp_path / "small.png", 16)
    reference = Image.fromarray(array).resize((24, 16), Image.BILINEAR).crop((4, 0, 20, 16))
    reference = torch.from_numpy(np.array(reference)).permute(2, 0, 1).int()
    # torchvision's antialiased bilinear resize is built to match PIL's (up to rounding).
    assert (image.int() - reference).abs().max() <= 1


@pytest.mark.parametrize(
    ("name", "mode", "kwargs"),
    [
        ("grey.png", "L", {}),
        ("alpha.png", "RGBA", {}),
        ("palette.png", "P", {}),
        ("picture.jpg", None, {"quality": 95}),
        ("cmyk.jpg", "CMYK", {"quality": 95}),
        ("plain.bmp", None, {}),  # torchvision cannot read BMP: exercises the PIL fallback
        ("plain.tiff", None, {}),
    ],
)
def test_decode_colour_modes_give_rgb(tmp_path, name, mode, kwargs):
    colour = (200, 120, 40) if mode not in ("L",) else (90, 90, 90)
    _save(_flat(colour, (24, 18)), tmp_path / name, mode=mode, **kwargs)
    image = decode_image_file(tmp_path / name, 12)
    assert image.dtype == torch.uint8 and image.shape == (3, 12, 12)
    expected = np.asarray(Image.open(tmp_path / name).convert("RGB"))[0, 0]
    lossy = name.endswith(".jpg")
    assert (image.int() - torch.tensor(expected, dtype=torch.int)[:, None, None]).abs().max() <= (4 if lossy else 0)
    if mode == "L":
        assert torch.equal(image[0], image[1]) and torch.equal(image[1], image[2])


def test_decode_rgba_drops_alpha_without_blending(tmp_path):
    array = np.zeros((8, 8, 4), dtype=np.uint8)
    array[..., :3] = (10, 20, 30)
    array[..., 3] = 0  # fully transparent: the colour must survive, as with PIL's convert("RGB")
    Image.fromarray(array, "RGBA").save(tmp_path / "clear.png")
    image = decode_image_file(tmp_path / "clear.png", 8)
    assert image[:, 0, 0].tolist() == [10, 20, 30]


def test_decode_garbage_is_a_one_line_data_error(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"this is not a jpeg at all")
    with pytest.raises(DataError, match=r"cannot decode image .*broken\.jpg") as info:
        decode_image_file(tmp_path / "broken.jpg")
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------------------------------
# folders, classes, errors


def test_load_image_folder_classes_targets_and_pixels(tmp_path):
    root = _tiny_folder(tmp_path / "train", per_class=2)
    (root / "a_cats" / "notes.txt").write_text("not an image")
    (root / ".ipynb_checkpoints").mkdir()
    image_set = load_image_folder(root, size=8, progress=False)
    assert isinstance(image_set, ImageSet) and len(image_set) == 4
    assert image_set.classes == ["a_cats", "b_dogs"]
    assert image_set.targets.dtype == torch.int64 and image_set.targets.tolist() == [0, 0, 1, 1]
    assert image_set.images.shape == (4, 3, 8, 8) and image_set.images.dtype == torch.uint8
    # a_cats was written with k=1 (colour 40 + 10 i), b_dogs with k=0
    assert image_set.images[:, 0, 0, 0].tolist() == [40, 50, 0, 10]
    assert (image_set.images[:, 1:, :, :] == torch.tensor([100, 200], dtype=torch.uint8)[:, None, None]).all()


def test_second_load_comes_from_the_cache(tmp_path, monkeypatch):
    root = _tiny_folder(tmp_path / "train")
    first = load_image_folder(root, size=8, progress=False)

    def refuse(*args, **kwargs):
        raise AssertionError("decoded although the cache should have been used")

    monkeypatch.setattr(data, "decode_image_file", refuse)
    second = load_image_folder(root, size=8, progress=False)
    assert torch.equal(first.images, second.images) and torch.equal(first.targets, second.targets)
    assert second.classes == first.classes and second.cache_key == first.cache_key
    with pytest.raises(AssertionError, match="decoded although"):
        load_image_folder(root, size=8, cache=False, progress=False)
    with pytest.raises(AssertionError, match="decoded although"):
        load_image_folder(root, size=10, progress=False)  # another size is another cache entry


def test_changed_or_added_file_invalidates_the_cache(tmp_path, monkeypatch):
    root = _tiny_folder(tmp_path / "train")
    first = load_image_folder(root, size=8, progress=False)
    calls = []
    real_decode = data.decode_image_file
    monkeypatch.setattr(data, "decode_image_file", lambda *a, **k: calls.append(a[0]) or real_decode(*a, **k))

    changed = root / "a_cats" / "img0.png"
    _save(_flat((250, 1, 2)), changed)
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_image_folder(root, size=8, progress=False)
    assert len(calls) == 4 and second.cache_key != first.cache_key
    assert second.images[0, :, 0, 0].tolist() == [250, 1, 2]

    _save(_flat((5, 5, 5)), root / "b_dogs" / "img9.png")
    third = load_image_folder(root, size=8, progress=False)
    assert len(third) == 5 and third.targets.tolist() == [0, 0, 1, 1, 1]
    # the stale cache files of this folder and size were replaced, not accumulated
    stems = list((data.cache_dir() / "imagefolder").glob(f"{data._cache_stem(root.resolve(), 8)}-*.pt"))
    assert len(stems) == 1


def test_missing_folder_message(tmp_path):
    with pytest.raises(DataError) as info:
        load_image_folder(tmp_path / "nowhere", progress=False)
    message = str(info.value)
    assert message.startswith("data folder not found: ") and str(tmp_path / "nowhere") in message
    assert "<root>/<class>/<image files>" in message and "\n" not in message


def test_folder_without_class_folders_message(tmp_path):
    _save(_flat((1, 2, 3)), tmp_path / "loose" / "a.png")
    with pytest.raises(DataError, match=r"no class folders in .*loose: 1 images lie directly in it"):
        load_image_folder(tmp_path / "loose", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no class folders in .*empty: it has no subfolders"):
        StreamingImageFolder(tmp_path / "empty")


def test_empty_class_folder_message(tmp_path):
    root = _tiny_folder(tmp_path / "train")
    (root / "c_empty").mkdir()
    (root / "c_empty" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"class folder .*c_empty has no image files") as info:
        load_image_folder(root, progress=False)
    assert "\n" not in str(info.value)


def test_find_split_and_its_errors(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "validation").mkdir()
    assert find_split(tmp_path, "train") == tmp_path / "train"
    assert find_split(tmp_path, "val") == tmp_path / "validation"
    with pytest.raises(DataError, match=r"no 'test' split in .* found: train, validation"):
        find_split(tmp_path, "test")
    with pytest.raises(DataError, match="data folder not found"):
        find_split(tmp_path / "missing", "train")


def test_class_names_follow_sorted_wnids(tmp_path):
    assert class_names(tmp_path) is None
    (tmp_path / "classes.tsv").write_text("index\twnid\tname\n0\tn02\tdog\n1\tn01\tcat\n")
    assert class_names(tmp_path) == ["cat", "dog"]
    (tmp_path / "classes.tsv").write_text("just one column\n")
    with pytest.raises(DataError, match="tab-separated"):
        class_names(tmp_path)


def test_streaming_folder_matches_in_memory_decode(tmp_path):
    root = _tiny_folder(tmp_path / "train", per_class=3)
    in_memory = load_image_folder(root, size=8, progress=False, cache=False)
    streaming = StreamingImageFolder(root, size=8)
    assert len(streaming) == 6 and streaming.classes == in_memory.classes
    loader = torch.utils.data.DataLoader(streaming, batch_size=4, shuffle=False)
    images, targets = zip(*loader, strict=True)
    assert torch.equal(torch.cat(images), in_memory.images)
    assert torch.equal(torch.cat(targets), in_memory.targets)


# --------------------------------------------------------------------------------------------------
# statistics


def test_compute_stats_matches_numpy():
    generator = torch.Generator().manual_seed(3)
    images = torch.randint(0, 256, (5, 3, 6, 7), generator=generator, dtype=torch.uint8)
    images[:, 1] = images[:, 0] // 2 + images[:, 1] // 2  # correlated channels, distinct eigenvalues
    stats = compute_stats(images, batch_size=2)
    array = images.numpy().astype(np.float64)
    np.testing.assert_allclose(stats.mean_image.numpy(), array.mean(axis=0), rtol=1e-6)
    covariance = np.cov(array.transpose(1, 0, 2, 3).reshape(3, -1))
    values, vectors = np.linalg.eigh(covariance)
    values, vectors = values[::-1], vectors[:, ::-1]
    np.testing.assert_allclose(stats.eigvals.numpy(), values, rtol=1e-5)
    assert (stats.eigvals[:-1] >= stats.eigvals[1:]).all()
    # eigenvectors are defined up to sign: compare |<v_numpy, v_ours>| = 1 column by column
    np.testing.assert_allclose(np.abs((vectors * stats.eigvecs.numpy()).sum(axis=0)), 1.0, atol=1e-5)
    assert stats.mean_image.dtype == stats.eigvals.dtype == stats.eigvecs.dtype == torch.float32


def test_stats_round_trip_and_validation():
    stats = _stats(torch.rand(3, 4, 4) * 255)
    again = DatasetStats.from_state_dict(stats.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), stats.state_dict().values(), strict=True))
    assert stats.to("meta").mean_image.device.type == "meta"
    with pytest.raises(DataError, match="missing eigvecs"):
        DatasetStats.from_state_dict({"mean_image": stats.mean_image, "eigvals": stats.eigvals})
    with pytest.raises(DataError, match="wrong shapes"):
        DatasetStats.from_state_dict({**stats.state_dict(), "eigvals": torch.zeros(4)})
    with pytest.raises(DataError, match="non-empty"):
        compute_stats(torch.zeros((0, 3, 4, 4), dtype=torch.uint8))


def test_dataset_stats_are_cached(tmp_path, monkeypatch):
    image_set = load_image_folder(_tiny_folder(tmp_path / "train"), size=8, progress=False)
    first = dataset_stats(image_set)
    assert torch.allclose(first.mean_image, image_set.images.double().mean(0).float())
    monkeypatch.setattr(data, "compute_stats", lambda *a, **k: pytest.fail("recomputed despite the cache"))
    second = dataset_stats(image_set)
    assert torch.equal(first.mean_image, second.mean_image) and torch.equal(first.eigvecs, second.eigvecs)


def test_stats_from_batches_and_from_a_streaming_folder(tmp_path, monkeypatch):
    root = _tiny_folder(tmp_path / "train", per_class=3)
    image_set = load_image_folder(root, size=8, progress=False)
    whole = compute_stats(image_set.images)
    in_pieces = data.compute_stats_from_batches(image_set.images.split([1, 4, 1]))
    for a, b in zip(whole.state_dict().values(), in_pieces.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)
    streaming = StreamingImageFolder(root, size=8)
    streamed = dataset_stats(streaming, batch_size=4)
    torch.testing.assert_close(streamed.mean_image, whole.mean_image)
    torch.testing.assert_close(streamed.eigvals, whole.eigvals)
    assert streaming.cache_key == image_set.cache_key  # same folder, same files, same size
    with pytest.raises(DataError, match="at least one image"):
        data.compute_stats_from_batches([])
    monkeypatch.setattr(data, "compute_stats_from_batches", lambda *a, **k: pytest.fail("not cached"))
    assert torch.equal(dataset_stats(StreamingImageFolder(root, size=8)).eigvecs, streamed.eigvecs)


def test_too_big_for_memory_points_to_streaming(tmp_path):
    with pytest.raises(DataError, match=r"need [0-9.]+ GiB, more than .* use StreamingImageFolder"):
        data._check_fits_in_memory(tmp_path, 1_281_167 * 100, 256)
    data._check_fits_in_memory(tmp_path, 10, 256)  # small sets pass


def test_unwritable_cache_warns_and_still_loads(tmp_path, monkeypatch):
    root = _tiny_folder(tmp_path / "train")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data, "atomic_save", full_disk)
    with pytest.warns(UserWarning, match="could not cache decoded images .*No space left"):
        image_set = load_image_folder(root, size=8, progress=False)
    assert len(image_set) == 4


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
    out = data._crop_and_centre(images, preset.stats.mean_image, top, left, mirror, crop)
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
    expected = data._crop_and_centre(images, mean, top, left, mirror, crop)
    got = data._crop_and_centre_per_image(images, mean, mean.flip(-1), top, left, mirror, crop, None, rows)
    assert torch.equal(got, expected)
    got = data._crop_and_centre_per_image(images, mean, mean.flip(-1), top, left, mirror, crop, shift, rows)
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
    expected = data._crop_and_centre(images, preset.stats.mean_image, top, left, torch.zeros(5, dtype=torch.bool), 227)
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


# --------------------------------------------------------------------------------------------------
# real data


def test_imagenette_subset_loads(shared_data, tmp_path):
    root = shared_data / "imagenette"
    if not root.is_dir():
        pytest.skip(f"imagenette not found under {shared_data}")
    val = find_split(root, "val")
    streaming = StreamingImageFolder(val)
    assert len(streaming) == 1000 and len(streaming.classes) == 10
    assert streaming.classes == sorted(streaming.classes) and streaming.classes[0] == "n01440764"
    names = class_names(root)
    assert names is not None and names[0] == "tench" and len(names) == 10
    image, target = streaming[999]
    assert image.shape == (3, 256, 256) and image.dtype == torch.uint8 and target == 9

    # A small ImageFolder of links to three files in each of the first two classes.
    for wnid in streaming.classes[:2]:
        (tmp_path / "subset" / wnid).mkdir(parents=True)
        for source in sorted((val / wnid).iterdir())[:3]:
            (tmp_path / "subset" / wnid / source.name).symlink_to(source)
    subset = load_image_folder(tmp_path / "subset", progress=False)
    assert subset.images.shape == (6, 3, 256, 256) and subset.targets.tolist() == [0, 0, 0, 1, 1, 1]
    assert subset.classes == streaming.classes[:2]
    assert torch.equal(subset.images[0], streaming[0][0])
    assert 20 < subset.images.float().mean() < 235  # real photographs, not blank frames
