"""User images in, the network's input out (no Streamlit).

``load_image`` turns whatever bytes a user uploads into an RGB ``PIL.Image`` or refuses them with
one clear sentence (``ImageError``): non-images (a model checkpoint is named as such), truncated
files, decompression bombs, 16-bit, CMYK, alpha, palette and greyscale images, animated GIF/WebP/PNG
and multi-page TIFF (first frame), tiny images and EXIF-rotated photos are all handled here, so a
page only has to show the message. Large images are decoded reduced towards what a session keeps
(``DISPLAY_SIDE``), and the pixels being decoded at once, by all sessions of the server together,
are capped (``DECODE_BUDGET``), so concurrent large uploads cannot take gigabytes.

``to_network_input`` then applies the paper's test-time pre-processing (section 2: shorter side to
256, central 256x256 patch, mean image subtracted; section 4.1: the central 227x227 patch) with
the same operations as ``alexnet.data`` (``decode_image_file``'s resize and crop, then
``EvalPreset``), so the dashboard shows exactly what a trained model saw at evaluation time.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from alexnet.data import DatasetStats, EvalPreset
from alexnet.model import INPUT_SIZE
from alexnet.paths import data_root

__all__ = [
    "ACCEPTED_FORMATS",
    "ACCEPTED_NAMES",
    "IMAGENET_MEAN_RGB",
    "MAX_PIXELS",
    "DECODE_BUDGET",
    "DISPLAY_SIDE",
    "MIN_SIDE",
    "PixelBudget",
    "UPLOAD_TYPES",
    "ImageError",
    "fixed_mean_stats",
    "image_hash",
    "load_image",
    "sample_images",
    "shrink_for_display",
    "to_network_input",
]

#: The paper's resolution before cropping (section 2).
RESIZE_TO = 256
#: ImageNet's mean colour on the 0..255 scale (torchvision's 0.485/0.456/0.406 times 255); used as the
#: "mean image" when a model comes without the statistics of its training set (untrained or torchvision).
IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)
#: Largest image decoded, in pixels. 60 MP covers today's 48-50 MP phone photos; a 30000x30000
#: "decompression bomb" (900 MP, 2.7 GB as RGB) is refused before any pixel is decoded.
MAX_PIXELS = 60_000_000
#: Shorter side of the copy a session keeps (``shrink_for_display``): four times the 256 the network
#: resizes to, and more than any page shows. Larger images are decoded reduced towards it (``load_image``).
DISPLAY_SIDE = 1024
#: Smallest accepted shorter side. CIFAR-10's 32x32 still works; a 1x1 image carries nothing to look at.
MIN_SIDE = 32
#: Formats PIL may decode here. MPO is what many phones write for JPEG photos; GIF gives its first frame,
#: TIFF its first page (whatever compression and mode Pillow reads; the modes go through ``_to_rgb``).
ACCEPTED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF")
#: The accepted formats as the refusal sentences and the upload widget name them.
ACCEPTED_NAMES = "JPEG, PNG, WebP, BMP, GIF or TIFF"
#: Extensions of the files the upload widget expects (it takes any file and refuses the rest in words).
UPLOAD_TYPES = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff")

_SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
_SAMPLE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


class ImageError(ValueError):
    """Bytes that cannot be used as an image; the message says why in one sentence."""


def image_hash(data: bytes) -> str:
    """SHA-256 of the raw bytes: the cache key for everything computed from an image."""
    return hashlib.sha256(data).hexdigest()


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB, handling the modes ``convert("RGB")`` gets wrong."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit greyscale (PNG) decodes as I;16 or I; convert("RGB") would clip everything above 255
        # to white. Scale 0..65535 to 0..255 instead (65535 / 257 = 255).
        values = np.asarray(im, dtype=np.float64)
        grey = np.clip(np.round(values / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(np.stack([grey] * 3, axis=-1), "RGB")
    if mode == "F":
        values = np.asarray(im, dtype=np.float64)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            raise ImageError("the image holds no finite pixel values")
        lo, hi = float(finite.min()), float(finite.max())
        scaled = np.zeros_like(values) if hi == lo else (np.nan_to_num(values, nan=lo) - lo) / (hi - lo) * 255
        grey = np.clip(np.round(scaled), 0, 255).astype(np.uint8)
        return Image.fromarray(np.stack([grey] * 3, axis=-1), "RGB")
    if mode == "P":
        # A palette may mark one entry transparent; go through RGBA so that entry becomes background.
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent pixels have arbitrary (often black) colour underneath: composite onto white,
        # which is how browsers show the image to the user.
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode != "RGB":
        return im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    return im


class PixelBudget:
    """A semaphore counted in pixels: at most ``capacity`` pixels are being decoded at once, process-wide.

    Every session of a running app decodes in the same process, so a few large uploads at once would
    each hold a full-resolution buffer (a 60-megapixel RGBA PNG is 240 MB before any conversion).
    ``hold(n)`` waits until ``n`` more pixels fit (a request above ``capacity`` waits to run alone) and
    gives up with ``ImageError`` after ``timeout`` seconds.
    """

    def __init__(self, capacity: int, timeout: float = 120.0) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity, self.timeout = capacity, timeout
        self._in_use = 0
        self._changed = threading.Condition()

    @property
    def in_use(self) -> int:
        return self._in_use

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        pixels = min(max(int(pixels), 0), self.capacity)
        with self._changed:
            if not self._changed.wait_for(lambda: self._in_use + pixels <= self.capacity, self.timeout):
                raise ImageError(
                    "the server is busy decoding other large images; try again in a moment (or upload a smaller one)"
                )
            self._in_use += pixels
        try:
            yield
        finally:
            with self._changed:
                self._in_use -= pixels
                self._changed.notify_all()


#: The pixels all sessions may be decoding at once: one image at the 60-megapixel limit, about 240 MB
#: (Pillow holds RGB and RGBA at 4 bytes a pixel; ``ALEXNET_DECODE_BUDGET_PIXELS`` overrides it). A
#: decode waits for room, so memory stays bounded however many uploads arrive together (BENCHMARKS.md,
#: row 8: with eight 59-megapixel uploads at once the server peaked at 1.6 GiB; a budget of two such
#: images gave 1.7 GiB and no shorter waits on 2 cores). Five 12-megapixel photos fit at once, and
#: JPEGs, decoded reduced, hold only their reduced size.
DECODE_BUDGET = PixelBudget(int(os.environ.get("ALEXNET_DECODE_BUDGET_PIXELS", MAX_PIXELS)))
#: A decode of at least this many pixels gives its freed memory back to the OS (``_return_freed_memory``).
_TRIM_PIXELS = 8_000_000

# EXIF orientation (tag 0x0112) -> the transposition that makes the picture upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_STRIP_PIXELS = 1 << 20  # rows converted at a time when reducing: 1 MP, 4 MB as RGBA


def _return_freed_memory() -> None:
    """Ask glibc's allocator to hand freed heap pages back to the OS (``malloc_trim``); elsewhere a no-op.

    Pillow allocates a large image in 16 MB blocks with ``malloc``. Once glibc has freed one such block
    it raises its mmap threshold above 16 MB, so later blocks come from the heaps of the threads that
    decode (every Streamlit session runs in its own thread), which keep the pages after ``free``: each
    session that decoded a large image would keep about its size resident.
    """
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL(None).malloc_trim
        except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


def _reduced_rgb(im: Image.Image, factor: int) -> Image.Image:
    """``_to_rgb(im).reduce(factor)`` computed in strips of rows, so no full-size converted copy exists."""
    if factor <= 1:
        return _to_rgb(im)
    if im.mode == "F":  # scaled by the whole image's range: convert it whole (float TIFFs are rare)
        return _to_rgb(im).reduce(factor)
    width, height = im.size
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, _STRIP_PIXELS // (width * factor))
    for top in range(0, height, rows):
        strip = _to_rgb(im.crop((0, top, width, min(top + rows, height)))).reduce(factor)
        out.paste(strip, (0, top // factor))
    return out


def load_image(
    data: bytes, *, max_pixels: int = MAX_PIXELS, min_side: int = MIN_SIDE, reduce_to: int | None = DISPLAY_SIDE,
    budget: PixelBudget | None = None,
) -> Image.Image:
    """Decode uploaded bytes into an upright 8-bit RGB image, or raise ``ImageError``.

    The size is checked from the header before decoding, so a decompression bomb costs nothing.
    An image whose shorter side is at least twice ``reduce_to`` comes back reduced by a whole factor
    that leaves that side at least ``reduce_to`` (1024: far more than the 256 the network uses):
    JPEGs are decoded at a reduced DCT scale (``draft``), so the full size never exists; other formats
    are decoded once at full size in their own mode (a palette PNG is a byte a pixel) and converted
    and reduced in strips. ``reduce_to=None`` keeps the full size. Decoding holds its pixels of
    ``budget`` (default: the process-wide ``DECODE_BUDGET``). EXIF orientation is applied, so phone
    photos come out the way they were taken.
    """
    if not data:
        raise ImageError("the file is empty")
    if _is_checkpoint(data):  # before Pillow, which takes some (safetensors) for broken BMPs
        raise ImageError(
            "this is a model checkpoint, not an image (load it in the sidebar: Model, \"Upload a checkpoint ...\")"
        )
    try:
        with warnings.catch_warnings():
            # PIL warns (DecompressionBombWarning) between its two limits; we apply our own limit below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError(f"this file is not an image (accepted: {ACCEPTED_NAMES})") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"the image is too large to decode safely ({exc})") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"this file is not a readable image ({_first_line(exc)})") from None
    fmt = im.format or "unknown"
    if fmt not in ACCEPTED_FORMATS:
        raise ImageError(f"{fmt} images are not supported (accepted: {ACCEPTED_NAMES})")
    width, height = im.size
    if width * height > max_pixels:
        raise ImageError(
            f"the image is {width}x{height} = {width * height / 1e6:.0f} megapixels; the limit is "
            f"{max_pixels / 1e6:.0f} megapixels (resize it first)"
        )
    if min(width, height) < min_side:
        raise ImageError(f"the image is only {width}x{height} pixels; at least {min_side}x{min_side} is needed")
    try:
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)  # animated GIF/WebP/APNG, multi-page TIFF: the first frame is the image
        factor = min(width, height) // reduce_to if reduce_to else 1
        if fmt in ("JPEG", "MPO") and factor >= 2:
            # draft picks the largest DCT scale (1/2, 1/4, 1/8) leaving at least the size asked for.
            im.draft("RGB", (width // factor, height // factor))
            factor = min(im.size) // reduce_to
        decoded = im.size[0] * im.size[1]
        with (budget or DECODE_BUDGET).hold(decoded):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im.load()
            orientation = im.getexif().get(0x0112, 1)
            rgb = _reduced_rgb(im, factor)
            if rgb is not im:
                im.close()  # frees the full-size pixels before the budget is given back
                if decoded >= _TRIM_PIXELS:
                    _return_freed_memory()
        if orientation in _UPRIGHT:
            rgb = rgb.transpose(_UPRIGHT[orientation])
        rgb.load()
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"the image is too large to decode safely ({exc})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        # "image file is truncated", "broken data stream", bad EXIF, ...
        raise ImageError(f"the image file is damaged or truncated ({_first_line(exc)})") from None
    return rgb


def _is_checkpoint(data: bytes) -> bool:
    """Whether ``data`` looks like model weights: a torch.save zip, a bare pickle or safetensors."""
    from alexnet.checkpoint import is_safetensors

    if data[:4] == b"PK\x03\x04":
        return b"data.pkl" in data[:4096]
    pickled = data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")
    return pickled or is_safetensors(data)


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def shrink_for_display(image: Image.Image, shorter_side: int = 1024) -> Image.Image:
    """A copy whose shorter side is at most ``shorter_side`` (antialiased), to keep per-user state small.

    1024 is four times what the network uses, so the 256-pixel input computed from the copy differs
    from the one computed from the original only by resampling round-off.
    """
    if min(image.size) <= shorter_side:
        return image
    factor = shorter_side / min(image.size)
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)


def fixed_mean_stats(size: int = RESIZE_TO) -> DatasetStats:
    """Stand-in statistics for models without their own: ImageNet's mean colour at every pixel."""
    mean = torch.tensor(IMAGENET_MEAN_RGB, dtype=torch.float32).view(3, 1, 1).expand(3, size, size).contiguous()
    return DatasetStats(mean_image=mean, eigvals=torch.zeros(3), eigvecs=torch.eye(3))


def _image_tensor(image: Image.Image) -> Tensor:
    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def to_network_input(image: Image.Image, data_stats: DatasetStats | None) -> tuple[np.ndarray, Tensor]:
    """The paper's evaluation pre-processing of one image.

    Returns ``(view, x)``: ``view`` is uint8 (3, 227, 227), the centre crop as the network sees it
    (before mean subtraction, so it can be shown); ``x`` is float32 (1, 3, 227, 227) on the 0..255
    scale minus the mean image, ready for the model. Resizing is ``alexnet.data.decode_image_file``'s
    (shorter side to 256, bilinear with antialiasing, centre crop 256x256); the crop and mean
    subtraction are ``alexnet.data.EvalPreset``'s. Without ``data_stats`` the mean is ImageNet's
    mean colour.
    """
    stats = data_stats if data_stats is not None else fixed_mean_stats()
    pixels = _image_tensor(image)
    pixels = TF.resize(pixels, [RESIZE_TO], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    pixels = TF.center_crop(pixels, [RESIZE_TO, RESIZE_TO])
    size = min(stats.mean_image.shape[1:])
    if size != RESIZE_TO:  # statistics of a dataset stored at another size (e.g. CIFAR's 32)
        pixels = TF.resize(pixels, [size], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
        pixels = TF.center_crop(pixels, [size, size])
    crop = min(INPUT_SIZE, size)
    x = EvalPreset(stats, crop_size=crop)(pixels.unsqueeze(0))
    view = TF.center_crop(pixels, [crop, crop]).numpy()
    return view, x


def sample_images() -> dict[str, Path]:
    """Images to try without uploading: the bundled samples, then the shared gallery when present.

    Names are "<label>" for bundled samples and "gallery: <ImageNet class>" for the gallery, in a
    stable order. The bundled ones are licensed for redistribution (see explorer/samples/README.md).
    """
    found: dict[str, Path] = {}
    if _SAMPLES_DIR.is_dir():
        for path in sorted(_SAMPLES_DIR.iterdir()):
            if path.suffix.lower() in _SAMPLE_SUFFIXES:
                found[path.stem.replace("_", " ")] = path
    gallery = data_root() / "gallery"
    if gallery.is_dir():
        for path in sorted(gallery.iterdir()):
            if path.suffix.lower() in _SAMPLE_SUFFIXES:
                # n01440764_tench.JPEG -> "gallery: tench"
                label = path.stem.split("_", 1)[1] if "_" in path.stem else path.stem
                found[f"gallery: {label.replace('_', ' ')}"] = path
    return found
