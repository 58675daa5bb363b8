"""Augmentation presets: the paper's training crops, mirrors and PCA colour noise, and test-time crops.

Krizhevsky et al. (2012), section 4.1 (data augmentation): random 224x224 patches (227x227 in
practice, which is what makes the first layer's arithmetic work out to 55x55) and their horizontal
reflections; at test time ten patches (four corners and centre, and their reflections) whose
softmax outputs are averaged; and PCA colour augmentation (see :class:`TrainPreset`).

:class:`TrainPreset` / :class:`EvalPreset` work on whole batches as tensors on whatever device the
batch is on (CPU or GPU): on a GPU augmentation is a handful of vectorised ops per batch; on the
CPU the training crops are two small ops per image written straight into one output batch, which
is several times faster there (see :func:`_crop_and_centre_per_image`). The name follows
torchvision's reference scripts, whose ``presets.py`` holds their train and eval transforms.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from alexnet.data.stats import DatasetStats
from alexnet.errors import DataError

__all__ = ["EvalPreset", "TrainPreset"]


def _check_batch(images: Tensor, mean_image: Tensor, crop_size: int) -> None:
    if images.ndim != 4 or images.shape[1] != 3:
        raise DataError(f"expected a batch of RGB images (N, 3, H, W), got shape {tuple(images.shape)}")
    if tuple(images.shape[2:]) != tuple(mean_image.shape[1:]):
        raise DataError(
            f"images are {tuple(images.shape[2:])} but the mean image is {tuple(mean_image.shape[1:])}: "
            "statistics and images must come from the same resolution"
        )
    if crop_size > min(images.shape[2:]):
        raise DataError(f"crop size {crop_size} is larger than the images {tuple(images.shape[2:])}")


class _StatsOnDevice:
    """Keeps one copy of the statistics per device, so a GPU batch does not re-upload them each call."""

    def __init__(self, stats: DatasetStats):
        self._stats = {stats.mean_image.device: stats}

    def on(self, device: torch.device) -> DatasetStats:
        if device not in self._stats:
            self._stats[device] = next(iter(self._stats.values())).to(device)
        return self._stats[device]


class TrainPreset:
    """The paper's training augmentation (section 4.1) for whole uint8 batches, on any device.

    ``images`` (N, 3, S, S) uint8 -> float32 (N, 3, crop, crop): for each image independently

    1. subtract the training set's mean image (section 2) -- the full S x S mean, cropped and
       flipped together with the image, which is the same as subtracting before cropping;
    2. take a random ``crop_size`` window (uniform over all positions) and mirror it with
       probability 1/2;
    3. add a PCA colour shift, the same for every pixel of the image, drawn anew per image per call.

    Random numbers come from ``generator`` (which must live on the images' device) or the default
    generator of that device, in a fixed order (crop rows, crop columns, flips, colour), so a seeded
    generator gives identical batches (mirror flags are drawn only when ``flip``). On a GPU (or
    any non-CPU device) the crops are one vectorised gather per batch (:func:`_crop_and_centre`);
    on the CPU, uint8 batches take a per-image path (:func:`_crop_and_centre_per_image`) that gives
    bit-identical output several times faster there.

    PCA colour noise, and the choice made here. The paper adds ``[p1 p2 p3] [a1 l1, a2 l2, a3 l3]^T``
    to each pixel, with p_i, l_i the eigenvectors and eigenvalues of the RGB covariance and
    a_i ~ N(0, 0.1). Taken literally with l_i in pixel^2 units this is not even in pixel units, and
    its size depends on the pixel scale: on the 0..255 scale the top eigenvalue of natural images is
    in the thousands (14300 on Imagenette), so a 1-sigma shift would be 0.1 x 14300 = 1430 grey
    levels, far outside the 0..255 range, while on the 0..1 scale the same formula does almost nothing.
    We use the standard deviation along each principal axis, ``scale_i = sqrt(l_i)``, in pixel units,
    which is the reading that makes the perturbation scale-free (the same relative size on 0..1 and
    0..255 data) and gives shifts of a few grey levels, an intensity/colour change the network should
    be invariant to, as the paper intends. The shift ``s = P diag(scale) a`` then has covariance
    ``pca_std**2 * P diag(l) P^T = pca_std**2 * C``: the colour noise is 10% of the training set's
    own pixel colour spread along each principal direction; on the Imagenette subset (eigenvalues
    about 14300, 1160, 224) that is a standard deviation of 12 grey levels along the brightness
    axis (1, 1, 1)/sqrt(3) and 3.4 and 1.5 along the two colour axes.
    Reimplementations differ here: fb.resnet.torch (and the many PyTorch ``Lighting`` copies of it)
    multiplies by fixed ImageNet "eigval" numbers (0.2175, 0.0188, 0.0045) on the 0..1 scale; the
    first is about the size of ImageNet's per-channel standard deviation (0.225) rather than of a
    variance, and the shifts come out of the same order as ours (0.1 x 0.2175 x 255 = 5.5 grey levels).
    ``pca_std=0`` switches the colour noise off for ablations.
    """

    def __init__(self, stats: DatasetStats, crop_size: int = 227, pca_std: float = 0.1, flip: bool = True):
        if crop_size > min(stats.mean_image.shape[1:]):
            raise DataError(f"crop size {crop_size} is larger than the images {tuple(stats.mean_image.shape[1:])}")
        self.stats = stats
        self.crop_size = crop_size
        self.pca_std = float(pca_std)
        self.flip = flip
        self._on = _StatsOnDevice(stats)
        self._mean_flipped: Tensor | None = None  # the CPU path's mirrored mean image, made once

    def colour_shift(self, count: int, device: torch.device, generator: torch.Generator | None = None) -> Tensor:
        """(count, 3) per-image RGB shifts ``P diag(sqrt(l)) a`` with a ~ N(0, pca_std) (see class doc)."""
        stats = self._on.on(device)
        alpha = torch.randn((count, 3), generator=generator, device=device) * self.pca_std
        return (alpha * stats.eigvals.sqrt()) @ stats.eigvecs.T

    def __call__(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        stats = self._on.on(images.device)
        _check_batch(images, stats.mean_image, self.crop_size)
        n, _, height, width = images.shape
        crop, device = self.crop_size, images.device
        top = torch.randint(0, height - crop + 1, (n,), generator=generator, device=device)
        left = torch.randint(0, width - crop + 1, (n,), generator=generator, device=device)
        if self.flip:
            mirror = torch.randint(0, 2, (n,), generator=generator, device=device).bool()
        else:
            mirror = torch.zeros(n, dtype=torch.bool, device=device)
        if device.type == "cpu" and images.dtype == torch.uint8:
            # The crops use no random numbers, so drawing the colour first keeps the documented order.
            shift = self.colour_shift(n, device, generator) if self.pca_std else None
            if self._mean_flipped is None:
                self._mean_flipped = stats.mean_image.flip(-1)
            # One thread: whole-image ops. More: ops small enough that ATen runs them on this
            # thread alone (see _crop_and_centre_per_image for the measurements behind the rule).
            rows = crop if torch.get_num_threads() == 1 else _serial_rows_per_op(crop)
            return _crop_and_centre_per_image(
                images, stats.mean_image, self._mean_flipped, top, left, mirror, crop, shift, rows
            )
        out = _crop_and_centre(images, stats.mean_image, top, left, mirror, crop)
        if self.pca_std:
            out += self.colour_shift(n, device, generator)[:, :, None, None]
        return out


def _crop_and_centre(
    images: Tensor, mean_image: Tensor, top: Tensor, left: Tensor, mirror: Tensor, crop: int
) -> Tensor:
    """``(images - mean)`` cropped at (top, left), mirrored where ``mirror``: float32 (N, 3, crop, crop).

    One vectorised pass on any device: ``unfold`` twice turns the batch into a view of all its crop
    windows, (N, 3, H-crop+1, W-crop+1, crop, crop), and advanced indexing picks one window per
    image (one gather; nothing the size of batch x windows is materialised). Mirroring is a
    ``torch.where`` (no boolean-mask indexing, so no host-device sync on a GPU). The mean's window
    for a mirrored image comes from the mirrored mean at the mirrored offset, because
    ``flip(window(x, left)) == window(flip(x), W - crop - left)``.

    This is the GPU path (a Python loop over images would be one kernel launch per image there).
    On the CPU :func:`_crop_and_centre_per_image` gives the same bits several times faster: here the
    windows of the mean are materialised by the gather, and the ``torch.where`` reads both the
    flipped and the unflipped crops, each a full pass over batch-sized memory.
    """
    n, width = images.shape[0], images.shape[-1]
    picks = torch.arange(n, device=images.device)
    crops = images.unfold(2, crop, 1).unfold(3, crop, 1)[picks, :, top, left]
    crops = torch.where(mirror[:, None, None, None], crops.flip(-1), crops)
    both_means = torch.stack([mean_image, mean_image.flip(-1)]).unfold(2, crop, 1).unfold(3, crop, 1)
    mean_left = torch.where(mirror, width - crop - left, left)
    out = crops.float()
    out -= both_means[mirror.long(), :, top, mean_left]
    return out


def _serial_rows_per_op(crop: int) -> int:
    """Rows of one channel per op such that ATen never splits the op across threads.

    ATen's element-wise kernels run on the calling thread alone when an op has fewer than
    ``at::internal::GRAIN_SIZE`` (32768, unchanged for years) elements; were it to change, only the
    speed of :func:`_crop_and_centre_per_image` would change, not its results.
    """
    return max(1, (32768 - 1) // crop)


def _empty_cpu_float(shape: tuple[int, ...]) -> Tensor:
    """An uninitialised float32 CPU tensor whose memory NumPy allocates (shared, not copied).

    Why not ``torch.empty``: a batch of 128 227x227 crops is 79 MB of fresh memory, and on Linux
    the first write to each 4 KiB page of it is a page fault. NumPy's allocator asks the kernel for
    transparent huge pages (``madvise(MADV_HUGEPAGE)``) on large arrays, so the same batch costs
    ~40 faults instead of ~19,000: allocating and filling it took 9 ms instead of 37 ms of CPU on
    the benchmark machine (BENCHMARKS.md, row 3). Where huge pages are off or unsupported this is
    just ``torch.empty`` by another route.
    """
    return torch.from_numpy(np.empty(shape, dtype=np.float32))


def _crop_and_centre_per_image(
    images: Tensor,
    mean_image: Tensor,
    mean_flipped: Tensor,
    top: Tensor,
    left: Tensor,
    mirror: Tensor,
    crop: int,
    shift: Tensor | None,
    rows_per_op: int,
) -> Tensor:
    """CPU version of ``_crop_and_centre(...) + shift``, bit-identical, for uint8 ``images``.

    Per image, one op writes ``window(image) - window(mean)`` straight into the preallocated
    output (the uint8 -> float32 conversion happens inside the subtraction, so no float copy of
    the crop is made), and a second adds the colour shift while that image is still in cache. A
    mirrored image subtracts the mirrored mean at the mirrored offset, as in ``_crop_and_centre``;
    the order of float operations, ``(x - mean) + shift``, is the same, so the bits are too.

    ``rows_per_op`` < ``crop`` splits each image into per-channel blocks of that many rows. Why:
    an op on a whole image (154,587 elements at 227) is split across torch's threads, and with
    two threads on a busy 2-core machine every such op waits for the second thread to be
    scheduled: the batch of 128 took 0.7-6 s instead of 0.04 s. Blocks below ATen's parallel
    grain run on the calling thread; they cost ~50% more per image than whole-image ops (more
    Python per image), so one thread uses whole images. Measured, batch of 128 at 256 -> 227,
    CPU ms per batch: gather 123 (1 thread) / 190 (2 threads); this function 18 (1 thread, whole
    images) / 30 (1 thread, blocks) / 42 (2 threads, blocks).
    """
    n, width = images.shape[0], images.shape[-1]
    out = _empty_cpu_float((n, 3, crop, crop))
    if rows_per_op >= crop:
        pieces = [(slice(None), slice(None))]
    else:
        pieces = [(slice(c, c + 1), slice(r, r + rows_per_op)) for c in range(3) for r in range(0, crop, rows_per_op)]
    shifts = shift[:, :, None, None] if shift is not None else None
    for i, (row, col, flip) in enumerate(zip(top.tolist(), left.tolist(), mirror.tolist(), strict=True)):
        window = images[i, :, row : row + crop, col : col + crop]
        if flip:
            mean_col = width - crop - col
            mean_window = mean_flipped[:, row : row + crop, mean_col : mean_col + crop]
        else:
            mean_window = mean_image[:, row : row + crop, col : col + crop]
        for piece in pieces:
            source = window[piece].flip(-1) if flip else window[piece]
            target = out[i][piece]
            torch.sub(source, mean_window[piece], out=target)
            if shifts is not None:
                target += shifts[i][piece[0]]
    return out


class EvalPreset:
    """Test-time pre-processing (section 4.1): mean image subtracted, then the centre crop or ten crops.

    ``__call__`` gives the single centre crop (what most later work reports); :meth:`ten_crop` gives
    the paper's ten patches -- four corners and centre, then the same five of the mirrored image --
    whose softmax outputs the paper averages (top-1 error 39.0% -> 37.5% on ILSVRC-2010). The crops
    are torchvision's ``center_crop`` / ``ten_crop``, so the positions match torchvision exactly
    (centre offset ``round((S - crop) / 2)``, i.e. 14 for 256 -> 227).
    """

    def __init__(self, stats: DatasetStats, crop_size: int = 227):
        if crop_size > min(stats.mean_image.shape[1:]):
            raise DataError(f"crop size {crop_size} is larger than the images {tuple(stats.mean_image.shape[1:])}")
        self.stats = stats
        self.crop_size = crop_size
        self._on = _StatsOnDevice(stats)

    def __call__(self, images: Tensor) -> Tensor:
        """uint8 (N, 3, S, S) -> float32 (N, 3, crop, crop): centre crop of the mean-subtracted images."""
        stats = self._on.on(images.device)
        _check_batch(images, stats.mean_image, self.crop_size)
        # Crop first (a view), then subtract the same window of the mean: less work than the other order.
        size = [self.crop_size, self.crop_size]
        out = TF.center_crop(images, size).float()
        out -= TF.center_crop(stats.mean_image, size)
        return out

    def ten_crop(self, images: Tensor) -> Tensor:
        """uint8 (N, 3, S, S) -> float32 (N, 10, 3, crop, crop).

        Order (torchvision's): top-left, top-right, bottom-left, bottom-right, centre of the image,
        then the same five of the mirrored image. The uint8 crops are copied straight into the
        float output and the mean's ten crops subtracted in one broadcast op, so the only large
        allocation is the output itself (float32, 10x the batch: use modest batches).
        """
        stats = self._on.on(images.device)
        _check_batch(images, stats.mean_image, self.crop_size)
        size = [self.crop_size, self.crop_size]
        n, crop = images.shape[0], self.crop_size
        out = torch.empty((n, 10, 3, crop, crop), dtype=torch.float32, device=images.device)
        for k, image_crop in enumerate(TF.ten_crop(images, size)):  # uint8 views (and one mirrored copy)
            out[:, k].copy_(image_crop)
        out -= torch.stack(TF.ten_crop(stats.mean_image, size))  # (10, 3, crop, crop), broadcast over N
        return out
