"""User images in, the network's input out (no Streamlit).

``load_image`` turns whatever bytes a user uploads into an RGB ``PIL.Image`` or refuses them with
one clear sentence (``ImageError``): non-images (a model checkpoint is named as such), truncated
files, decompression bombs, 16-bit, CMYK, alpha, palette and greyscale images, animated GIF/WebP/PNG
and multi-page TIFF (first frame), tiny images and EXIF-rotated photos are all handled here, so a
page only has to show the message.

``to_network_input`` then applies the paper's test-time pre-processing (section 2: shorter side to
256, central 256x256 patch, mean image subtracted; section 4.1: the central 227x227 patch) with
the same operations as ``alexnet.data`` (``decode_image_file``'s resize and crop, then
``EvalPreset``), so the dashboard shows exactly what a trained model saw at evaluation time.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
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
    "MIN_SIDE",
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


def load_image(data: bytes, *, max_pixels: int = MAX_PIXELS, min_side: int = MIN_SIDE) -> Image.Image:
    """Decode uploaded bytes into an upright 8-bit RGB image, or raise ``ImageError``.

    The size is checked from the header before decoding, so a decompression bomb costs nothing.
    Large JPEGs are decoded at a reduced DCT scale (``draft``) whenever that still leaves the
    shorter side at least 1024 pixels: far more than the 256 the network uses, for a fraction of the
    memory. EXIF orientation is applied, so phone photos come out the way they were taken.
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
        if fmt in ("JPEG", "MPO") and min(width, height) > 2048:
            scale = min(width, height) // 1024  # draft picks the largest DCT scale leaving >= the request
            im.draft("RGB", (width // scale, height // scale))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
        upright = ImageOps.exif_transpose(im)
        rgb = _to_rgb(upright)
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
