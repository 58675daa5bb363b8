"""CIFAR-10 loading: WebP sheets (tiling, cache, re-decode on change), torchvision batches, clear errors."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet.data.cifar10 import CLASSES, SHEET_FILES, load_cifar10
from alexnet.errors import DataError


def _make_sheets(root, per_sheet=6, cols=3, seed=0):
    """Six lossless WebP sheets of ``per_sheet`` random 32x32 tiles, ``cols`` per row; returns (train, test) HWC."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    sheets = []
    for name in SHEET_FILES:
        imgs = rng.integers(0, 256, size=(per_sheet, 32, 32, 3), dtype=np.uint8)
        rows = per_sheet // cols
        sheet = imgs.reshape(rows, cols, 32, 32, 3).transpose(0, 2, 1, 3, 4).reshape(rows * 32, cols * 32, 3)
        Image.fromarray(sheet).save(root / name, lossless=True)
        sheets.append(imgs)
    train_labels = rng.integers(0, 10, size=5 * per_sheet, dtype=np.uint8)
    test_labels = rng.integers(0, 10, size=per_sheet, dtype=np.uint8)
    np.savez(root / "labels.npz", train=train_labels, test=test_labels)
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    return np.concatenate(sheets[:5]), sheets[5], train_labels, test_labels


def test_webp_sheets_decode_in_row_major_tile_order(tmp_path):
    train, test, ytr, yte = _make_sheets(tmp_path / "c")
    d = load_cifar10(tmp_path / "c")
    assert d.train_images.dtype == torch.uint8 and d.train_images.shape == (30, 3, 32, 32)
    assert d.test_images.shape == (6, 3, 32, 32)
    # Tile k of a sheet is image k: compare against the images the sheets were built from (HWC -> CHW).
    assert torch.equal(d.train_images, torch.from_numpy(train).permute(0, 3, 1, 2))
    assert torch.equal(d.test_images, torch.from_numpy(test).permute(0, 3, 1, 2))
    assert d.train_labels.dtype == torch.int64 and d.train_labels.tolist() == ytr.tolist()
    assert d.test_labels.tolist() == yte.tolist()
    assert d.classes == CLASSES


def test_sheets_are_cached_and_redecoded_when_a_source_changes(tmp_path, monkeypatch):
    import alexnet.data.cifar10 as c10

    root = tmp_path / "c"
    _make_sheets(root, seed=1)
    first = load_cifar10(root)
    calls = []
    real = c10._decode_sheet
    monkeypatch.setattr(c10, "_decode_sheet", lambda p: calls.append(p) or real(p))
    again = load_cifar10(root)
    assert calls == [] and torch.equal(again.train_images, first.train_images)  # served from the cache
    # Rewrite one sheet with other pixels (and a later mtime): the cache key changes, so it is decoded again.
    new = np.full((64, 96, 3), 7, dtype=np.uint8)
    Image.fromarray(new).save(root / "test.webp", lossless=True)
    st = (root / "test.webp").stat()
    os.utime(root / "test.webp", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    changed = load_cifar10(root)
    assert len(calls) == 6
    assert int(changed.test_images.max()) == 7 and torch.equal(changed.train_images, first.train_images)


def _write_batch(path, images_chw, labels):
    entry = {
        "batch_label": "fake batch",
        "labels": [int(v) for v in labels],
        "data": images_chw.reshape(len(images_chw), -1),
        "filenames": [f"img_{i}.png" for i in range(len(labels))],
    }
    with open(path, "wb") as f:
        pickle.dump(entry, f, protocol=2)


def make_torchvision_root(root, per_batch=8, seed=0):
    """A cifar-10-batches-py folder in the real pickle format (dict with data (n, 3072) uint8, labels list)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    all_imgs, all_labels = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        imgs = rng.integers(0, 256, size=(per_batch, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=per_batch)
        _write_batch(folder / name, imgs, labels)
        all_imgs.append(imgs)
        all_labels.append(labels)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(CLASSES), "num_cases_per_batch": per_batch, "num_vis": 3072}, f, protocol=2)
    return all_imgs, all_labels


def test_torchvision_root_matches_torchvisions_own_reader(tmp_path, monkeypatch):
    import torchvision
    import torchvision.datasets.cifar as tv_cifar

    make_torchvision_root(tmp_path)
    d = load_cifar10(tmp_path)
    assert d.train_images.shape == (40, 3, 32, 32) and d.test_images.shape == (8, 3, 32, 32)
    assert d.classes == CLASSES
    # Trusted reference: torchvision's CIFAR10 on the same folder (its md5 check would reject fake files).
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *a, **k: True)
    for train, images, labels in ((True, d.train_images, d.train_labels), (False, d.test_images, d.test_labels)):
        ref = torchvision.datasets.CIFAR10(str(tmp_path), train=train, download=False)
        assert torch.equal(images, torch.from_numpy(ref.data).permute(0, 3, 1, 2))
        assert labels.tolist() == list(ref.targets)
    # The cifar-10-batches-py folder itself works as a root too.
    assert torch.equal(load_cifar10(tmp_path / "cifar-10-batches-py").train_images, d.train_images)


def test_a_batch_file_that_would_run_code_is_refused(tmp_path):
    make_torchvision_root(tmp_path)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(tmp_path / "cifar-10-batches-py" / "data_batch_3", "wb") as f:
        pickle.dump({"data": Evil(), "labels": []}, f, protocol=2)
    with pytest.raises(DataError, match="data_batch_3 is not a CIFAR-10 python batch"):
        load_cifar10(tmp_path)
    assert not marker.exists()


def test_missing_and_wrong_folders_give_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="CIFAR-10 folder not found") as e:
        load_cifar10(tmp_path / "nowhere")
    assert "\n" not in str(e.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no CIFAR-10"):
        load_cifar10(tmp_path / "empty")
    root = tmp_path / "partial"
    _make_sheets(root)
    (root / "train_4.webp").unlink()
    with pytest.raises(DataError, match="missing train_4.webp"):
        load_cifar10(root)
    tv = tmp_path / "tv"
    make_torchvision_root(tv)
    (tv / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(DataError, match="missing .*test_batch"):
        load_cifar10(tv)


def test_subset_is_a_fixed_random_subset(tmp_path):
    _make_sheets(tmp_path / "c", per_sheet=12)
    d = load_cifar10(tmp_path / "c")
    a, b = d.subset(10, 4, seed=3), d.subset(10, 4, seed=3)
    assert a.train_images.shape == (10, 3, 32, 32) and a.test_labels.shape == (4,)
    assert torch.equal(a.train_images, b.train_images) and torch.equal(a.train_labels, b.train_labels)


@pytest.mark.slow
def test_real_cifar10_from_the_shared_sheets(shared_data):
    d = load_cifar10(shared_data / "cifar10")
    assert d.train_images.shape == (50000, 3, 32, 32) and d.test_images.shape == (10000, 3, 32, 32)
    # data_batch_1 starts frog, truck, truck, deer, automobile, automobile, bird, horse, ship, cat.
    assert d.train_labels[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert torch.bincount(d.train_labels).tolist() == [5000] * 10
    assert torch.bincount(d.test_labels).tolist() == [1000] * 10
    means = d.train_images.double().mean((0, 2, 3)) / 255  # PROVENANCE.txt: 0.4914 / 0.4822 / 0.4465
    assert torch.allclose(means, torch.tensor([0.4914, 0.4822, 0.4465], dtype=torch.float64), atol=1e-4)
