"""explorer.images: every kind of bad or unusual upload is converted correctly or refused clearly."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet.data import DatasetStats, EvalPreset, decode_image_file
from explorer.images import (
    IMAGENET_MEAN_RGB,
    ImageError,
    PixelBudget,
    image_hash,
    load_image,
    sample_images,
    shrink_for_display,
    to_network_input,
)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def halves(width: int = 64, height: int = 48, left=(255, 0, 0), right=(0, 0, 255)) -> Image.Image:
    """Left half one colour, right half another: orientation and colour are both easy to check."""
    array = np.zeros((height, width, 3), np.uint8)
    array[:, : width // 2] = left
    array[:, width // 2 :] = right
    return Image.fromarray(array)


def png_with_header_size(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR claims ``width`` x ``height``: a decompression bomb that costs nothing."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


# ---- accepted and converted ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "WEBP"])
def test_lossless_formats_round_trip_exactly(fmt):
    original = halves()
    options = {"lossless": True} if fmt == "WEBP" else {}
    loaded = load_image(encode(original, fmt, **options))
    assert loaded.mode == "RGB"
    assert np.array_equal(np.asarray(loaded), np.asarray(original))


def test_jpeg_is_decoded_close_to_the_original():
    loaded = load_image(encode(halves(), "JPEG", quality=95))
    assert loaded.size == (64, 48)
    assert np.abs(np.asarray(loaded).astype(int) - np.asarray(halves()).astype(int)).mean() < 4


def test_greyscale_becomes_three_equal_channels():
    grey = Image.fromarray(np.arange(48 * 64, dtype=np.uint32).reshape(48, 64).astype(np.uint8), "L")
    loaded = np.asarray(load_image(encode(grey, "PNG")))
    assert loaded.shape == (48, 64, 3)
    for channel in range(3):
        assert np.array_equal(loaded[..., channel], np.asarray(grey))


def test_sixteen_bit_greyscale_is_scaled_not_clipped():
    # convert("RGB") on 16-bit data clips everything above 255 to white; we scale by 65535/255 = 257.
    values = np.array([[0, 257 * 128, 65535, 257 * 10]], np.uint16).repeat(40, axis=0).repeat(10, axis=1)
    image = Image.fromarray(values)
    loaded = np.asarray(load_image(encode(image, "PNG")))
    assert image.mode.startswith("I")
    assert loaded[0, ::10, 0].tolist() == [0, 128, 255, 10]
    assert np.array_equal(loaded[..., 0], loaded[..., 2])


def test_cmyk_jpeg_becomes_rgb():
    # Pure cyan in CMYK is (0, 255, 255) in RGB.
    cmyk = Image.new("CMYK", (40, 40), (255, 0, 0, 0))
    loaded = np.asarray(load_image(encode(cmyk, "JPEG", quality=95)))
    assert np.abs(loaded.reshape(-1, 3).mean(axis=0) - [0, 255, 255]).max() < 6


def test_transparent_pixels_become_white_and_opaque_ones_keep_their_colour():
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[:, :20] = (255, 0, 0, 255)  # opaque red
    rgba[:, 20:] = (0, 0, 0, 0)  # fully transparent black
    loaded = np.asarray(load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG")))
    assert (loaded[:, :20] == (255, 0, 0)).all()
    assert (loaded[:, 20:] == (255, 255, 255)).all()


def test_half_transparent_pixels_are_blended_with_white():
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[...] = (0, 0, 0, 128)
    loaded = np.asarray(load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG")))
    assert np.abs(loaded.astype(int) - 127).max() <= 1


def test_palette_images_with_and_without_transparency():
    palette = Image.new("P", (40, 40), 1)
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0, 0, 0] * 254)
    palette.paste(0, (0, 0, 20, 40))
    plain = np.asarray(load_image(encode(palette, "PNG")))
    assert (plain[:, 20:] == (10, 200, 30)).all() and (plain[:, :20] == 0).all()
    transparent = np.asarray(load_image(encode(palette, "PNG", transparency=0)))
    assert (transparent[:, :20] == 255).all()  # palette entry 0 is transparent -> white
    assert (transparent[:, 20:] == (10, 200, 30)).all()


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (40, 40), (250, 0, 0)), Image.new("RGB", (40, 40), (0, 0, 250))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    loaded = np.asarray(load_image(data))
    assert loaded[..., 0].min() > 200 and loaded[..., 2].max() < 50


def test_exif_orientation_is_applied():
    stored = halves(64, 48)  # red left, blue right, landscape as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    loaded = load_image(encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert loaded.size == (48, 64)  # portrait once upright
    array = np.asarray(loaded).astype(int)
    # Turning the picture clockwise brings its left (red) edge to the top.
    assert array[:16, :, 0].mean() > 200 and array[:16, :, 2].mean() < 50
    assert array[-16:, :, 2].mean() > 200 and array[-16:, :, 0].mean() < 50


def test_smallest_accepted_size_is_cifar_sized():
    assert load_image(encode(Image.new("RGB", (32, 32)), "PNG")).size == (32, 32)


# ---- refused with a clear message ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is not an image at all, just some text", "not an image"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 200, "not an image"),
    ],
)
def test_non_images_are_refused(data, message):
    with pytest.raises(ImageError, match=message):
        load_image(data)


def test_truncated_jpeg_is_refused():
    data = encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)), "JPEG")
    with pytest.raises(ImageError, match="damaged or truncated"):
        load_image(data[: len(data) // 2])


def test_truncated_header_is_refused():
    data = encode(halves(), "PNG")
    with pytest.raises(ImageError):
        load_image(data[:30])


def test_decompression_bomb_is_refused_before_decoding():
    # 30000 x 30000 = 900 MP: past PIL's own bomb limit, refused from the header alone.
    with pytest.raises(ImageError, match="too large|megapixels"):
        load_image(png_with_header_size(30000, 30000))


def test_image_over_our_pixel_limit_is_refused_with_its_size():
    # 9000 x 8000 = 72 MP: under PIL's limit (179 MP) but over ours (60 MP).
    with pytest.raises(ImageError, match=r"9000x8000 = 72 megapixels; the limit is 60"):
        load_image(png_with_header_size(9000, 8000))


def test_pixel_limit_is_a_parameter():
    with pytest.raises(ImageError, match="megapixels"):
        load_image(encode(halves(64, 48), "PNG"), max_pixels=1000)


def test_one_pixel_image_is_refused():
    with pytest.raises(ImageError, match=r"only 1x1 pixels"):
        load_image(encode(Image.new("RGB", (1, 1)), "PNG"))


@pytest.mark.parametrize("options", [{}, {"compression": "tiff_lzw"}, {"compression": "tiff_deflate"}])
def test_tiff_is_accepted(options):
    assert np.array_equal(np.asarray(load_image(encode(halves(), "TIFF", **options))), np.asarray(halves()))


def test_multi_page_tiff_gives_its_first_page():
    pages = [Image.new("RGB", (40, 40), (250, 0, 0)), Image.new("RGB", (40, 40), (0, 0, 250))]
    loaded = np.asarray(load_image(encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])))
    assert (loaded == (250, 0, 0)).all()


def test_sixteen_bit_tiff_is_scaled_not_clipped():
    values = np.linspace(0, 65535, 48 * 64).reshape(48, 64).astype(np.uint16)
    loaded = np.asarray(load_image(encode(Image.fromarray(values), "TIFF")))
    assert loaded[0, 0, 0] == 0 and loaded[-1, -1, 0] == 255 and 100 < loaded[24, 32, 0] < 155


def test_other_formats_are_refused_by_name_with_the_accepted_list():
    accepted = r"\(accepted: JPEG, PNG, WebP, BMP, GIF or TIFF\)"
    with pytest.raises(ImageError, match=rf"PPM images are not supported {accepted}"):
        load_image(encode(halves(), "PPM"))


def test_a_model_checkpoint_is_named_as_such():
    from safetensors.torch import save

    buffer = io.BytesIO()
    torch.save({"model": {"w": torch.zeros(2)}}, buffer)
    legacy = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    for data in (buffer.getvalue(), legacy.getvalue(), save({"w": torch.zeros(2)})):
        with pytest.raises(ImageError, match="this is a model checkpoint, not an image .*Upload a checkpoint"):
            load_image(data)


# ---- network input -------------------------------------------------------------------------------


def test_network_input_of_a_constant_image_is_colour_minus_imagenet_mean():
    image = Image.new("RGB", (300, 400), (200, 100, 50))
    view, x = to_network_input(image, None)
    assert view.shape == (3, 227, 227) and view.dtype == np.uint8
    assert x.shape == (1, 3, 227, 227) and x.dtype == torch.float32
    expected = torch.tensor([200.0, 100.0, 50.0]) - torch.tensor(IMAGENET_MEAN_RGB)
    assert torch.allclose(x[0, :, 100, 100], expected)
    assert torch.allclose(x, expected.view(1, 3, 1, 1).expand_as(x))


def test_network_input_matches_the_training_pipeline(tmp_path):
    # The same PNG through alexnet.data (torchvision decoder, resize, crop, EvalPreset) and through
    # the dashboard (PIL decoder, to_network_input) must give the same tensor.
    rng = np.random.default_rng(1)
    array = rng.integers(0, 256, (300, 420, 3), np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(array).save(path)
    stats = DatasetStats(
        mean_image=torch.from_numpy(rng.uniform(0, 255, (3, 256, 256)).astype(np.float32)),
        eigvals=torch.ones(3),
        eigvecs=torch.eye(3),
    )
    reference = EvalPreset(stats)(decode_image_file(path).unsqueeze(0))
    view, x = to_network_input(load_image(path.read_bytes()), stats)
    assert torch.equal(x, reference)
    crop = decode_image_file(path)[:, 14:241, 14:241].numpy()
    assert np.array_equal(view, crop)


def test_network_view_of_a_256_square_image_is_its_centre_crop():
    array = np.random.default_rng(2).integers(0, 256, (256, 256, 3), np.uint8)
    view, _ = to_network_input(Image.fromarray(array), None)
    assert np.array_equal(view, array[14:241, 14:241].transpose(2, 0, 1))


def test_shrink_for_display_keeps_small_images_and_bounds_large_ones():
    small = Image.new("RGB", (800, 600))
    assert shrink_for_display(small) is small
    large = shrink_for_display(Image.new("RGB", (4000, 3000)))
    assert large.size == (1365, 1024)


# ---- large images: decoded reduced, under a process-wide pixel budget ----------------------------------


def stripes(width: int, height: int, period: int = 64) -> np.ndarray:
    """Red vertical and green horizontal stripes: compresses well, and a wrong reduction shows."""
    y, x = np.mgrid[0:height, 0:width]
    array = np.zeros((height, width, 3), np.uint8)
    array[..., 0] = (x // period % 2) * 255
    array[..., 1] = (y // period % 2) * 255
    array[..., 2] = 128
    return array


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "I;16"])
def test_large_images_come_back_reduced_like_a_full_decode_shrunk(mode):
    array = stripes(2600, 2100)
    image = Image.fromarray(array)
    if mode == "I;16":
        image = Image.fromarray(array[..., 0].astype(np.uint16) * 257)
    elif mode != "RGB":
        image = image.convert(mode)
    data = encode(image, "PNG")
    full = load_image(data, reduce_to=None)
    assert full.size == (2600, 2100)
    reduced = load_image(data)  # shorter side 2100 >= 2 x 1024: reduced by 2
    assert reduced.size == (1300, 1050)
    # What a session keeps is the same picture either way, up to resampling round-off.
    a = np.asarray(shrink_for_display(reduced)).astype(int)
    b = np.asarray(shrink_for_display(full)).astype(int)
    assert a.shape == b.shape and np.abs(a - b).mean() < 2.0


def test_large_jpeg_is_decoded_at_a_reduced_scale_and_turned_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = encode(Image.fromarray(stripes(4400, 2200)), "JPEG", quality=90, exif=exif.tobytes())
    loaded = load_image(data)
    assert loaded.size == (1100, 2200)  # DCT scale 1/2 (2200 // 1024 = 2), then upright (portrait)
    assert load_image(data, reduce_to=None).size == (2200, 4400)


def test_a_large_png_decodes_within_one_full_size_buffer():
    # Before: decode, then full-size RGBA copies for the white background and the composite, then RGB:
    # about 5 buffers. Now: the decoded buffer plus strips (Pillow keeps RGB and RGBA at 4 bytes a pixel).
    clear_refs = Path("/proc/self/clear_refs")
    if not clear_refs.exists():
        pytest.skip("needs Linux's /proc/self/clear_refs to reset the peak resident size")
    data = encode(Image.fromarray(stripes(4000, 4000)).convert("RGBA"), "PNG")
    buffer_mib = 4000 * 4000 * 4 / 2**20

    def status(field: str) -> float:
        return int(Path("/proc/self/status").read_text().split(f"{field}:")[1].split()[0]) / 1024

    before = status("VmRSS")
    clear_refs.write_text("5")  # VmHWM := VmRSS
    image = load_image(data)
    peak = status("VmHWM") - before
    assert image.size == (1334, 1334)  # reduced by 3, the last row and column of boxes partial
    assert peak < 2 * buffer_mib, f"peak {peak:.0f} MiB for a {buffer_mib:.0f} MiB decode"


def test_pixel_budget_lets_decodes_through_only_while_they_fit():
    import threading

    budget = PixelBudget(100, timeout=5)
    order: list[str] = []
    first_in, release_first = threading.Event(), threading.Event()

    def first():
        with budget.hold(60):
            order.append("first in")
            first_in.set()
            release_first.wait(5)
            order.append("first out")

    def second():
        first_in.wait(5)
        with budget.hold(60):  # 60 + 60 > 100: waits for the first
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    first_in.wait(5)
    with budget.hold(40):  # fits beside the first
        order.append("small in")
    release_first.set()
    for t in threads:
        t.join(10)
    assert order == ["first in", "small in", "first out", "second in"] and budget.in_use == 0
    with budget.hold(1000):  # larger than the budget: runs alone
        assert budget.in_use == 100


def test_a_decode_that_cannot_get_pixels_in_time_is_refused_in_a_sentence():
    budget = PixelBudget(64 * 48, timeout=0.05)
    data = encode(halves(), "PNG")
    with budget.hold(1):
        with pytest.raises(ImageError, match="busy decoding other large images"):
            load_image(data, budget=budget)
    assert budget.in_use == 0 and load_image(data, budget=budget).size == (64, 48)


# ---- hashes and samples --------------------------------------------------------------------------


def test_image_hash_is_sha256_of_the_bytes():
    assert image_hash(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert image_hash(b"abc") != image_hash(b"abd")


def test_bundled_samples_load_without_a_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_DATA_ROOT", str(tmp_path / "absent"))
    samples = sample_images()
    assert {"cat", "coffee", "astronaut", "rocket"} <= set(samples)
    for path in samples.values():
        image = load_image(path.read_bytes())
        assert min(image.size) >= 256  # big enough for the paper's 256 -> 227 crop without upscaling
        assert path.stat().st_size < 100_000


def test_gallery_images_are_added_when_present(tmp_path, monkeypatch):
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    Image.new("RGB", (300, 300)).save(gallery / "n01440764_tench.JPEG")
    (gallery / "gallery.tsv").write_text("not an image\n")
    monkeypatch.setenv("ALEXNET_DATA_ROOT", str(tmp_path))
    samples = sample_images()
    assert samples["gallery: tench"] == gallery / "n01440764_tench.JPEG"
    assert not any("tsv" in name for name in samples)
