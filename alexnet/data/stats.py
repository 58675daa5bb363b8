"""Dataset statistics: the training set's mean image (section 2) and RGB PCA (section 4.1), cached.

The paper's network sees raw RGB values on the 0..255 scale minus the training set's mean *image*
("subtracting the mean activity over the training set from each pixel": no division by 255, no
per-channel standard deviation); the eigen-decomposition of the RGB covariance drives the PCA
colour augmentation of :class:`alexnet.data.presets.TrainPreset`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.utils.data
from torch import Tensor

from alexnet.checkpoint import atomic_save
from alexnet.data.folders import ImageSet, _cache_folder  # statistics are cached beside the images they describe
from alexnet.errors import DataError

__all__ = ["DatasetStats", "compute_stats", "compute_stats_from_batches", "dataset_stats"]

_STATS_FORMAT = "alexnet-explorer/stats/1"


@dataclass(frozen=True, eq=False)
class DatasetStats:
    """Training-set statistics the paper's pre-processing needs, on the 0..255 pixel scale.

    ``mean_image`` (3, S, S) float32: the per-pixel mean image (section 2). ``eigvals`` (3,) and
    ``eigvecs`` (3, 3, columns are eigenvectors): the eigen-decomposition of the 3x3 covariance of
    RGB values over all training pixels (section 4.1), eigenvalues in decreasing order.
    """

    mean_image: Tensor
    eigvals: Tensor
    eigvecs: Tensor

    def to(self, device: torch.device | str) -> DatasetStats:
        return DatasetStats(self.mean_image.to(device), self.eigvals.to(device), self.eigvecs.to(device))

    def state_dict(self) -> dict[str, Tensor]:
        """Plain tensors, so the statistics can travel inside a ``weights_only`` checkpoint."""
        return {"mean_image": self.mean_image, "eigvals": self.eigvals, "eigvecs": self.eigvecs}

    @classmethod
    def from_state_dict(cls, d: dict[str, Tensor]) -> DatasetStats:
        if not isinstance(d, dict):
            raise DataError(f"dataset statistics must be a dict of tensors, not {type(d).__name__}")
        missing = {"mean_image", "eigvals", "eigvecs"} - set(d)
        if missing:
            raise DataError(f"dataset statistics are missing {', '.join(sorted(missing))}")
        mean, vals, vecs = (torch.as_tensor(d[k], dtype=torch.float32) for k in ("mean_image", "eigvals", "eigvecs"))
        if mean.ndim != 3 or mean.shape[0] != 3 or tuple(vals.shape) != (3,) or tuple(vecs.shape) != (3, 3):
            raise DataError(
                f"dataset statistics have the wrong shapes: mean_image {tuple(mean.shape)} (want (3, S, S)), "
                f"eigvals {tuple(vals.shape)} (want (3,)), eigvecs {tuple(vecs.shape)} (want (3, 3))"
            )
        return cls(mean, vals, vecs)


def compute_stats(images: Tensor, *, batch_size: int = 64) -> DatasetStats:
    """Mean image and RGB covariance eigen-decomposition of uint8 (N, 3, S, S) images.

    Works through the images ``batch_size`` at a time (see :func:`compute_stats_from_batches`),
    so memory stays small however large the set.
    """
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[0] == 0:
        raise DataError(f"statistics need a non-empty (N, 3, S, S) image tensor, got shape {tuple(images.shape)}")
    return compute_stats_from_batches(images.split(batch_size))


def compute_stats_from_batches(batches: Iterable[Tensor]) -> DatasetStats:
    """:func:`compute_stats` over an iterable of uint8 (B, 3, S, S) batches (e.g. from a DataLoader).

    Accumulates float64 sums: the sum of pixels per position (for the mean image) and the sum and
    sum of outer products of RGB vectors (for the covariance). Products and sums of integers stay
    exact in float64 up to 2**53 (Imagenette's 262 million pixels keep every sum below 1.7e13); on
    the full ImageNet the sums pass 2**53 and the relative rounding error is still only ~1e-16.
    The covariance is the unbiased one (divides by the pixel count minus one, as ``numpy.cov``);
    eigenvalues come back in decreasing order.
    """
    pixel_sum: Tensor | None = None
    rgb_outer: Tensor | None = None
    n = 0
    for images in batches:
        if images.ndim != 4 or images.shape[1] != 3:
            raise DataError(f"statistics need (N, 3, S, S) image batches, got shape {tuple(images.shape)}")
        batch = images.to(torch.float64)
        if pixel_sum is None:
            pixel_sum = torch.zeros(batch.shape[1:], dtype=torch.float64, device=batch.device)
            rgb_outer = torch.zeros((3, 3), dtype=torch.float64, device=batch.device)
        elif batch.shape[1:] != pixel_sum.shape:
            raise DataError(f"image batches differ in size: {tuple(batch.shape[1:])} vs {tuple(pixel_sum.shape)}")
        pixel_sum += batch.sum(dim=0)
        # Per-image (3, H*W) @ (H*W, 3) products of a view: no channels-first copy of the batch
        # (measured twice as fast as one big matmul on a permuted copy).
        rgb = batch.flatten(2)
        rgb_outer += torch.bmm(rgb, rgb.transpose(1, 2)).sum(dim=0)
        n += batch.shape[0]
    if pixel_sum is None or rgb_outer is None or n == 0:
        raise DataError("statistics need at least one image")
    count = n * pixel_sum.shape[1] * pixel_sum.shape[2]
    mean_image = pixel_sum / n
    rgb_mean = pixel_sum.sum(dim=(1, 2)) / count
    covariance = (rgb_outer - count * torch.outer(rgb_mean, rgb_mean)) / max(count - 1, 1)
    eigvals, eigvecs = torch.linalg.eigh(covariance)  # ascending
    order = torch.argsort(eigvals, descending=True)
    # Tiny negative eigenvalues (round-off on a degenerate, e.g. greyscale-only, set) would make sqrt NaN.
    eigvals = eigvals[order].clamp_min(0)
    eigvecs = eigvecs[:, order]
    return DatasetStats(mean_image.float(), eigvals.float(), eigvecs.float())


def dataset_stats(
    source: ImageSet | torch.utils.data.Dataset,
    *,
    cache: bool = True,
    batch_size: int = 256,
    num_workers: int = 0,
    progress: bool = False,
) -> DatasetStats:
    """The training set's statistics (section 2's mean image, section 4.1's RGB PCA), computed once.

    ``source`` is a decoded :class:`ImageSet`, or a :class:`StreamingImageFolder` (or any dataset of
    ``(uint8 image, target)`` items, e.g. a ``Subset`` of one), read in one pass through a DataLoader
    with ``num_workers`` decoding workers. The result is cached next to the decoded data under the
    source's ``cache_key``, so a changed folder gets new statistics; a source without a key (a
    hand-built :class:`ImageSet`, a ``Subset``) is computed every time.
    """
    key = getattr(source, "cache_key", None)
    path = _cache_folder() / f"stats-{key[:32]}.pt" if key is not None else None
    if cache and path is not None and path.is_file():
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
            if obj.get("format") == _STATS_FORMAT and obj.get("key") == key:
                return DatasetStats.from_state_dict(obj["stats"])
        except Exception:  # noqa: BLE001 - unreadable cache: recompute below
            pass
    if isinstance(source, ImageSet):
        stats = compute_stats(source.images)
    else:
        from tqdm.auto import tqdm

        loader = torch.utils.data.DataLoader(source, batch_size=batch_size, num_workers=num_workers)
        batches = tqdm(loader, desc="dataset statistics", unit="batch", disable=not progress, leave=False)
        stats = compute_stats_from_batches(images for images, _ in batches)
    if cache and path is not None:
        try:
            atomic_save({"format": _STATS_FORMAT, "key": key, "stats": stats.state_dict()}, path)
        except OSError as exc:
            warnings.warn(f"could not cache dataset statistics in {path.parent}: {exc}", stacklevel=2)
    return stats
