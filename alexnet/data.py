"""The paper's ImageNet data pipeline: ImageFolder -> cached uint8 tensors -> batched augmentation.

Krizhevsky et al. (2012), section 2: images are down-sampled to a fixed 256x256 resolution
("rescaled the image such that the shorter side was of length 256, and then cropped out the
central 256x256 patch"), and the only other pre-processing is "subtracting the mean activity over
the training set from each pixel": the network sees raw RGB values on the 0..255 scale minus the
training set's mean *image* (no division by 255, no per-channel standard deviation).

Section 4.1 (data augmentation): random 224x224 patches (227x227 in practice, which is what makes
the first layer's arithmetic work out to 55x55) and their horizontal reflections; at test time ten
patches (four corners and centre, and their reflections) whose softmax outputs are averaged; and
PCA colour augmentation (see :class:`TrainPreset`).

How the pieces fit, and why:

* :func:`load_image_folder` decodes every image *once* (shorter side to ``size``, centre crop) into
  one uint8 tensor (N, 3, S, S) and caches it under :func:`alexnet.paths.cache_dir`, so a small
  dataset (Imagenette: 4,000 training images, 786 MB) costs one decode per machine, not one per
  epoch. Keeping uint8 (not float) makes it 4x smaller.
* :class:`TrainPreset` / :class:`EvalPreset` work on whole batches as tensors on whatever device
  the batch is on (CPU or GPU): on a GPU augmentation is a handful of vectorised ops per batch; on
  the CPU the training crops are two small ops per image written straight into one output batch,
  which is several times faster there (see :func:`_crop_and_centre_per_image`).
* :class:`StreamingImageFolder` is for datasets too big to hold in memory (real ImageNet): it
  decodes per item inside DataLoader workers, and its batches go through the same presets.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.utils.data
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from alexnet.checkpoint import atomic_save
from alexnet.errors import DataError
from alexnet.paths import cache_dir

__all__ = [
    "IMAGE_EXTENSIONS",
    "DataError",
    "DatasetStats",
    "EvalPreset",
    "ImageSet",
    "StreamingImageFolder",
    "TrainPreset",
    "class_names",
    "compute_stats",
    "compute_stats_from_batches",
    "dataset_stats",
    "decode_image_file",
    "find_split",
    "list_image_folder",
    "load_image_folder",
]

#: File extensions counted as images (torchvision's ImageFolder list, compared case-insensitively).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

_LAYOUT_HINT = "expected ImageFolder layout: <root>/<class>/<image files>"
_CACHE_FORMAT = "alexnet-explorer/imagefolder/1"
_STATS_FORMAT = "alexnet-explorer/stats/1"


# --------------------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ImageSet:
    """A whole dataset decoded into memory.

    ``images`` is (N, 3, S, S) uint8 RGB (shorter side resized to S, centre S crop), ``targets``
    (N,) int64 class indices into ``classes`` (folder names, sorted: the ImageFolder convention).
    ``cache_key`` identifies the decoded content (folder, file list, sizes, mtimes, S); it names
    the cache files, including the statistics cached by :func:`dataset_stats`. ``None`` for sets
    built by hand, which are then never cached.
    """

    images: Tensor
    targets: Tensor
    classes: list[str]
    cache_key: str | None = field(default=None)

    def __len__(self) -> int:
        return int(self.targets.shape[0])


def find_split(root: str | os.PathLike, split: str) -> Path:
    """``root/split`` as a folder (``"val"`` also finds ``validation`` and vice versa), else DataError."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data folder not found: {root} (expected <root>/train and <root>/val in ImageFolder layout)")
    aliases = {"val": ("val", "validation"), "validation": ("validation", "val")}.get(split, (split,))
    for name in aliases:
        if (root / name).is_dir():
            return root / name
    raise DataError(
        f"no {split!r} split in {root} (looked for {' or '.join(aliases)}; "
        f"found: {', '.join(sorted(p.name for p in root.iterdir() if p.is_dir())) or 'no folders'})"
    )


def class_names(root: str | os.PathLike) -> list[str] | None:
    """Human-readable class names from ``<root>/classes.tsv`` (columns index, wnid, name), or None.

    The names come back in sorted-wnid order, which is the order of the class indices that
    :func:`load_image_folder` assigns (folder names sorted), whatever order the file lists them in.
    """
    path = Path(root) / "classes.tsv"
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows or not {"wnid", "name"} <= set(rows[0]):
        raise DataError(f"{path} must be tab-separated with a header row naming columns index, wnid, name")
    names = {row["wnid"]: row["name"] for row in rows}
    return [names[wnid] for wnid in sorted(names)]


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


def list_image_folder(folder: str | os.PathLike) -> tuple[list[str], list[tuple[Path, int]]]:
    """Classes (sorted subfolder names) and (file, class index) pairs of an ImageFolder-layout folder.

    Hidden entries (names starting with ".", e.g. ``.ipynb_checkpoints``) are skipped; files are
    sorted within each class so the order is the same on every machine. Raises DataError for a
    missing folder, a folder with no class subfolders, and a class folder without images.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "not found"
        raise DataError(f"data folder {what}: {folder} ({_LAYOUT_HINT})")
    entries = sorted(os.scandir(folder), key=lambda e: e.name)
    classes = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
    if not classes:
        loose = sum(1 for e in entries if e.is_file() and _is_image(e.name))
        detail = f"{loose} images lie directly in it" if loose else "it has no subfolders"
        raise DataError(f"no class folders in {folder}: {detail} ({_LAYOUT_HINT})")
    samples: list[tuple[Path, int]] = []
    for index, name in enumerate(classes):
        files = sorted(e.name for e in os.scandir(folder / name) if e.is_file() and _is_image(e.name))
        if not files:
            raise DataError(
                f"class folder {folder / name} has no image files "
                f"({'/'.join(ext.lstrip('.') for ext in IMAGE_EXTENSIONS)}; {_LAYOUT_HINT})"
            )
        samples.extend((folder / name / f, index) for f in files)
    return classes, samples


# --------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------


def _decode_with_pil(path: Path) -> Tensor:
    from PIL import Image

    with Image.open(path) as im:
        # convert("RGB") handles L, LA, P, RGBA (alpha dropped, as torchvision's RGB mode does), CMYK.
        rgb = im.convert("RGB")
    # A bytearray is writable, so torch.frombuffer can use it without a warning; the permute below
    # then makes the channels-first copy.
    data = torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8)
    return data.view(rgb.height, rgb.width, 3).permute(2, 0, 1).contiguous()


def decode_image_file(path: str | os.PathLike, size: int = 256) -> Tensor:
    """One image file -> uint8 (3, size, size) RGB: shorter side resized to ``size``, centre crop.

    torchvision's decoder (libjpeg-turbo/libpng/libwebp) is tried first because it is the fastest;
    PIL is the fallback for whatever it cannot read (TIFF, BMP, PPM, some CMYK JPEGs). Greyscale is
    replicated to three channels; an alpha channel is dropped (as ImageFolder's PIL ``convert("RGB")``
    does). The resize is bilinear with antialiasing, so down-sampling does not alias. EXIF orientation
    is not applied, as with ImageFolder.
    """
    path = Path(path)
    try:
        from torchvision.io import ImageReadMode, decode_image

        with warnings.catch_warnings():
            # torchvision 0.29 deprecates its decoders in favour of torchcodec (not a dependency here);
            # they still work, and PIL below covers any future removal.
            warnings.simplefilter("ignore", DeprecationWarning)
            image = decode_image(str(path), mode=ImageReadMode.RGB)
        if image.dtype != torch.uint8:  # 16-bit PNG
            image = TF.to_dtype(image, torch.uint8, scale=True)
        if image.ndim != 3 or image.shape[0] != 3:
            raise RuntimeError(f"unexpected decoded shape {tuple(image.shape)}")
    except Exception:  # noqa: BLE001 - any failure here is retried with PIL, which reports real errors
        try:
            image = _decode_with_pil(path)
        except Exception as exc:  # noqa: BLE001
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataError(f"cannot decode image {path}: {reason}") from None
    image = TF.resize(image, [size], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    return TF.center_crop(image, [size, size])


def _folder_key(folder: Path, samples: Sequence[tuple[Path, int]], classes: list[str], size: int) -> str:
    """Digest of everything the decoded tensor depends on: location, file list, sizes, mtimes, S."""
    h = hashlib.sha256()
    header = {"format": _CACHE_FORMAT, "folder": str(folder), "size": size, "classes": classes}
    h.update(json.dumps(header).encode())
    for path, target in samples:
        st = path.stat()
        h.update(f"\n{path.relative_to(folder).as_posix()}\t{target}\t{st.st_size}\t{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _cache_stem(folder: Path, size: int) -> str:
    """Per-(folder, S) prefix of cache file names: readable tail plus a hash of the absolute path."""
    readable = "-".join(part for part in folder.parts[-2:] if part not in ("/", ""))
    readable = "".join(c if c.isalnum() or c in "-_." else "_" for c in readable)[:60]
    where = hashlib.sha256(str(folder).encode()).hexdigest()[:10]
    return f"{readable}-{size}px-{where}"


def _cache_folder() -> Path:
    return cache_dir() / "imagefolder"


def _load_cached(path: Path, key: str) -> dict | None:
    if not path.is_file():
        return None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a corrupt or truncated cache is simply rebuilt
        return None
    if not isinstance(obj, dict) or obj.get("format") != _CACHE_FORMAT or obj.get("key") != key:
        return None
    return obj


def load_image_folder(
    folder: str | os.PathLike, *, size: int = 256, cache: bool = True, progress: bool = True
) -> ImageSet:
    """Decode a class-per-subfolder directory (e.g. ``imagenette/train``) into an :class:`ImageSet`.

    Every image is decoded once (:func:`decode_image_file`: shorter side to ``size``, centre crop,
    the paper's section 2 pre-processing) into one uint8 tensor. With ``cache`` the result is saved
    under ``cache_dir()/imagefolder/`` and reused while the folder's absolute path, file list, file
    sizes and modification times and ``size`` are unchanged; anything else is decoded again (and the
    stale cache for that folder and size is removed). ``progress`` shows a tqdm bar with images/s.
    """
    folder = Path(folder).expanduser().resolve()
    classes, samples = list_image_folder(folder)
    key = _folder_key(folder, samples, classes, size)
    stem = _cache_stem(folder, size)
    cache_path = _cache_folder() / f"{stem}-{key[:16]}.pt"
    if cache:
        hit = _load_cached(cache_path, key)
        if hit is not None:
            return ImageSet(hit["images"], hit["targets"], list(hit["classes"]), cache_key=key)

    _check_fits_in_memory(folder, len(samples), size)
    from tqdm.auto import tqdm

    images = torch.empty((len(samples), 3, size, size), dtype=torch.uint8)
    for i, (path, _) in enumerate(
        tqdm(samples, desc=f"decoding {folder.name}", unit="img", disable=not progress, leave=False)
    ):
        images[i] = decode_image_file(path, size)
    targets = torch.tensor([t for _, t in samples], dtype=torch.int64)

    if cache:
        try:
            for stale in _cache_folder().glob(f"{stem}-*.pt"):
                if stale != cache_path:
                    stale.unlink(missing_ok=True)
            atomic_save(
                {"format": _CACHE_FORMAT, "key": key, "images": images, "targets": targets, "classes": classes},
                cache_path,
            )
        except OSError as exc:  # a read-only or full disk costs a re-decode next time, not this run
            warnings.warn(f"could not cache decoded images in {_cache_folder()}: {exc}", stacklevel=2)
    return ImageSet(images, targets, classes, cache_key=key)


def _check_fits_in_memory(folder: Path, count: int, size: int) -> None:
    """DataError, pointing at StreamingImageFolder, when the decoded set would not fit in RAM."""
    needed = count * 3 * size * size
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: no guard
        return
    if needed > 0.8 * physical:
        raise DataError(
            f"{folder} holds {count} images: decoded at {size}x{size} they need {needed / 2**30:.1f} GiB, "
            f"more than this machine's {physical / 2**30:.1f} GiB of memory allows; "
            "use StreamingImageFolder with DataLoader workers instead"
        )


class StreamingImageFolder(torch.utils.data.Dataset):
    """An ImageFolder decoded per item, for datasets too big to hold in memory (real ImageNet).

    Items are ``(uint8 (3, S, S) tensor, int target)``, decoded exactly as :func:`load_image_folder`
    does, so DataLoader workers can do the decoding in parallel; the batches the loader collates
    then go through the same :class:`TrainPreset` / :class:`EvalPreset` (on the GPU if there is one)
    as in-memory data. :func:`dataset_stats` accepts it too (one pass through a DataLoader, cached).
    """

    def __init__(self, folder: str | os.PathLike, size: int = 256):
        self.folder = Path(folder).expanduser().resolve()
        self.size = size
        self.classes, self.samples = list_image_folder(self.folder)
        self.targets = torch.tensor([t for _, t in self.samples], dtype=torch.int64)
        self._cache_key: str | None = None

    @property
    def cache_key(self) -> str:
        """Same meaning as :attr:`ImageSet.cache_key` (statistics are cached under it); stats every file."""
        if self._cache_key is None:
            self._cache_key = _folder_key(self.folder, self.samples, self.classes, self.size)
        return self._cache_key

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        path, target = self.samples[index]
        return decode_image_file(path, self.size), target


# --------------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Batched augmentation
# --------------------------------------------------------------------------------------------------


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
