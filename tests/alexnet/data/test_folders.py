"""Image folders: decoding (geometry, colour modes), the ImageFolder layout, caching and clear errors.

Small hand-checked cases: tiny ImageFolders built in tmp_path with generated images, and the
Imagenette subset under the shared data folder.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

import alexnet.data.folders as folders
from alexnet.data.folders import (
    ImageSet,
    StreamingImageFolder,
    class_names,
    decode_image_file,
    find_split,
    load_image_folder,
)
from alexnet.errors import DataError

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

    monkeypatch.setattr(folders, "decode_image_file", refuse)
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
    real_decode = folders.decode_image_file
    monkeypatch.setattr(folders, "decode_image_file", lambda *a, **k: calls.append(a[0]) or real_decode(*a, **k))

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
    stems = list((folders.cache_dir() / "imagefolder").glob(f"{folders._cache_stem(root.resolve(), 8)}-*.pt"))
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


def test_too_big_for_memory_points_to_streaming(tmp_path):
    with pytest.raises(DataError, match=r"need [0-9.]+ GiB, more than .* use StreamingImageFolder"):
        folders._check_fits_in_memory(tmp_path, 1_281_167 * 100, 256)
    folders._check_fits_in_memory(tmp_path, 10, 256)  # small sets pass


def test_unwritable_cache_warns_and_still_loads(tmp_path, monkeypatch):
    root = _tiny_folder(tmp_path / "train")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(folders, "atomic_save", full_disk)
    with pytest.warns(UserWarning, match="could not cache decoded images .*No space left"):
        image_set = load_image_folder(root, size=8, progress=False)
    assert len(image_set) == 4


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
