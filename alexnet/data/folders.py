"""Image folders: the ImageFolder layout, decoding to uint8 at a fixed size, and the decoded-set cache.

Krizhevsky et al. (2012), section 2: images are down-sampled to a fixed 256x256 resolution
("rescaled the image such that the shorter side was of length 256, and then cropped out the
central 256x256 patch"); that, and the mean image (:mod:`alexnet.data.stats`), is all the
pre-processing the paper does before augmentation (:mod:`alexnet.data.presets`).

* :func:`load_image_folder` decodes every image *once* (shorter side to ``size``, centre crop) into
  one uint8 tensor (N, 3, S, S) and caches it under :func:`alexnet.paths.cache_dir`, so a small
  dataset (Imagenette: 4,000 training images, 786 MB) costs one decode per machine, not one per
  epoch. Keeping uint8 (not float) makes it 4x smaller.
* :class:`StreamingImageFolder` is for datasets too big to hold in memory (real ImageNet): it
  decodes per item inside DataLoader workers, and its batches go through the same presets.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import torch
import torch.utils.data
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from alexnet.checkpoint import atomic_save
from alexnet.errors import DataError
from alexnet.paths import cache_dir

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageSet",
    "StreamingImageFolder",
    "Unreadable",
    "UnreadableImageError",
    "class_names",
    "collate_readable",
    "decode_image_file",
    "find_split",
    "list_image_folder",
    "load_image_folder",
]

#: File extensions counted as images (torchvision's ImageFolder list, compared case-insensitively).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

_LAYOUT_HINT = "expected ImageFolder layout: <root>/<class>/<image files>"
_CACHE_FORMAT = "alexnet-explorer/imagefolder/1"


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
    built by hand, which are then never cached. ``skipped`` lists the ``(file, reason)`` of images
    left out because they could not be decoded (``load_image_folder(skip_unreadable=True)``).
    """

    images: Tensor
    targets: Tensor
    classes: list[str]
    cache_key: str | None = field(default=None)
    skipped: tuple[tuple[str, str], ...] = ()

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


class UnreadableImageError(DataError):
    """An image file no decoder could read; ``path`` and ``reason`` (one line) say which and why."""

    def __init__(self, path: str | os.PathLike, reason: str):
        super().__init__(f"cannot decode image {path}: {reason}")
        self.path, self.reason = str(path), reason

    def __reduce__(self):  # keeps path and reason when it crosses a process boundary
        return (type(self), (self.path, self.reason))


class Unreadable(NamedTuple):
    """What :class:`StreamingImageFolder` (``report_unreadable=True``) returns for a file it cannot decode."""

    path: str
    reason: str


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
            raise UnreadableImageError(path, reason) from None
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
    folder: str | os.PathLike, *, size: int = 256, cache: bool = True, progress: bool = True,
    skip_unreadable: bool = False,
) -> ImageSet:
    """Decode a class-per-subfolder directory (e.g. ``imagenette/train``) into an :class:`ImageSet`.

    Every image is decoded once (:func:`decode_image_file`: shorter side to ``size``, centre crop,
    the paper's section 2 pre-processing) into one uint8 tensor. With ``cache`` the result is saved
    under ``cache_dir()/imagefolder/`` and reused while the folder's absolute path, file list, file
    sizes and modification times and ``size`` are unchanged; anything else is decoded again (and the
    stale cache for that folder and size is removed). ``progress`` shows a tqdm bar with images/s.
    A file that cannot be decoded raises :class:`UnreadableImageError`; with ``skip_unreadable`` it is
    left out and listed in ``ImageSet.skipped`` (kept in the cache, so a cached set says it too).
    """
    folder = Path(folder).expanduser().resolve()
    classes, samples = list_image_folder(folder)
    key = _folder_key(folder, samples, classes, size)
    stem = _cache_stem(folder, size)
    cache_path = _cache_folder() / f"{stem}-{key[:16]}.pt"
    if cache:
        hit = _load_cached(cache_path, key)
        if hit is not None:
            skipped = tuple((str(p), str(r)) for p, r in hit.get("skipped", ()))
            if skipped and not skip_unreadable:
                raise UnreadableImageError(*skipped[0])
            return ImageSet(hit["images"], hit["targets"], list(hit["classes"]), cache_key=key, skipped=skipped)

    _check_fits_in_memory(folder, len(samples), size)
    from tqdm.auto import tqdm

    images = torch.empty((len(samples), 3, size, size), dtype=torch.uint8)
    kept: list[int] = []
    skipped: list[tuple[str, str]] = []
    for i, (path, _) in enumerate(
        tqdm(samples, desc=f"decoding {folder.name}", unit="img", disable=not progress, leave=False)
    ):
        try:
            images[len(kept)] = decode_image_file(path, size)
        except UnreadableImageError as exc:
            if not skip_unreadable:
                raise
            skipped.append((exc.path, exc.reason))
            continue
        kept.append(i)
    if skipped:  # a copy, so the cache does not store the unused rows of the view's storage
        images = images[: len(kept)].clone()
    targets = torch.tensor([samples[i][1] for i in kept], dtype=torch.int64)

    if cache:
        try:
            for stale in _cache_folder().glob(f"{stem}-*.pt"):
                if stale != cache_path:
                    stale.unlink(missing_ok=True)
            atomic_save(
                {"format": _CACHE_FORMAT, "key": key, "images": images, "targets": targets, "classes": classes,
                 "skipped": skipped},
                cache_path,
            )
        except OSError as exc:  # a read-only or full disk costs a re-decode next time, not this run
            warnings.warn(f"could not cache decoded images in {_cache_folder()}: {exc}", stacklevel=2)
    return ImageSet(images, targets, classes, cache_key=key, skipped=tuple(skipped))


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

    A file that cannot be decoded raises :class:`UnreadableImageError`. Raised inside a DataLoader
    worker, that would reach the user as the worker's whole traceback; with ``report_unreadable`` the
    item is ``(Unreadable(path, reason), target)`` instead, and a loader with ``collate_fn=
    collate_readable`` hands it to the main process, which reports it in one line or skips it
    (``alexnet.inputs.make_loader``).
    """

    def __init__(self, folder: str | os.PathLike, size: int = 256, *, report_unreadable: bool = False):
        self.folder = Path(folder).expanduser().resolve()
        self.size = size
        self.report_unreadable = report_unreadable
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

    def __getitem__(self, index: int) -> tuple[Tensor | Unreadable, int]:
        path, target = self.samples[index]
        try:
            return decode_image_file(path, self.size), target
        except UnreadableImageError as exc:
            if not self.report_unreadable:
                raise
            return Unreadable(exc.path, exc.reason), target


def collate_readable(items: Sequence[tuple[Tensor | Unreadable, int]]) -> tuple[Tensor, Tensor, list[Unreadable]]:
    """DataLoader ``collate_fn`` for ``StreamingImageFolder(report_unreadable=True)``: (images, targets, unreadable).

    Readable items are stacked as the default collate would; the unreadable ones are passed on by
    name, so the main process can say which file failed (an empty batch has zero rows).
    """
    readable = [(image, target) for image, target in items if not isinstance(image, Unreadable)]
    unreadable = [image for image, _ in items if isinstance(image, Unreadable)]
    if not readable:
        return torch.empty((0,), dtype=torch.uint8), torch.empty((0,), dtype=torch.int64), unreadable
    images, targets = torch.utils.data.default_collate(readable)
    return images, targets, unreadable

