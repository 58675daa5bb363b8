"""Dataset statistics: mean image and RGB PCA against numpy, state dicts, caching, streamed batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import alexnet.data.stats as stats_module
from alexnet.data.folders import StreamingImageFolder, load_image_folder
from alexnet.data.stats import DatasetStats, compute_stats, dataset_stats
from alexnet.errors import DataError
from tests.alexnet.data.test_folders import _tiny_folder

# --------------------------------------------------------------------------------------------------
# helpers


def _stats(mean_image: torch.Tensor, eigvals=(900.0, 100.0, 25.0), eigvecs=None) -> DatasetStats:
    if eigvecs is None:
        eigvecs = torch.linalg.qr(torch.tensor([[1.0, 2.0, 0.5], [1.0, -1.0, 2.0], [1.0, 0.3, -1.5]]))[0]
    return DatasetStats(mean_image.float(), torch.tensor(eigvals), eigvecs.float())


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
    monkeypatch.setattr(stats_module, "compute_stats", lambda *a, **k: pytest.fail("recomputed despite the cache"))
    second = dataset_stats(image_set)
    assert torch.equal(first.mean_image, second.mean_image) and torch.equal(first.eigvecs, second.eigvecs)


def test_stats_from_batches_and_from_a_streaming_folder(tmp_path, monkeypatch):
    root = _tiny_folder(tmp_path / "train", per_class=3)
    image_set = load_image_folder(root, size=8, progress=False)
    whole = compute_stats(image_set.images)
    in_pieces = stats_module.compute_stats_from_batches(image_set.images.split([1, 4, 1]))
    for a, b in zip(whole.state_dict().values(), in_pieces.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)
    streaming = StreamingImageFolder(root, size=8)
    streamed = dataset_stats(streaming, batch_size=4)
    torch.testing.assert_close(streamed.mean_image, whole.mean_image)
    torch.testing.assert_close(streamed.eigvals, whole.eigvals)
    assert streaming.cache_key == image_set.cache_key  # same folder, same files, same size
    with pytest.raises(DataError, match="at least one image"):
        stats_module.compute_stats_from_batches([])
    monkeypatch.setattr(stats_module, "compute_stats_from_batches", lambda *a, **k: pytest.fail("not cached"))
    assert torch.equal(dataset_stats(StreamingImageFolder(root, size=8)).eigvecs, streamed.eigvecs)
