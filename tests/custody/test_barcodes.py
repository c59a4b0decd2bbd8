"""Decoding label images, and refusing images that should not be decoded."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from mailwarden.custody.barcodes import ImageRejected, decode_label
from mailwarden.custody.carriers import detect, tracking_types

UPS_NUMBER = next(t for t in tracking_types() if t.id == "ups").valid_examples[0]


def _barcode_image(text: str, barcode_format: zxingcpp.BarcodeFormat) -> Image.Image:
    rendered = zxingcpp.create_barcode(text, barcode_format).to_image(scale=3)
    height, width = rendered.shape[:2]
    return Image.frombytes("L", (width, height), memoryview(rendered).tobytes())


def _png(image: Image.Image, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def _label_with_barcode(text: str) -> Image.Image:
    label = Image.new("RGB", (900, 600), "white")
    draw = ImageDraw.Draw(label)
    draw.text((40, 30), "SHIP TO: MAILROOM, BUILDING 4", fill="black")
    draw.rectangle((20, 20, 880, 580), outline="black", width=3)
    label.paste(_barcode_image(text, zxingcpp.BarcodeFormat.Code128), (80, 200))
    return label


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims the given size but carries no pixel data at all."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_code128_tracking_number_on_a_label_is_decoded_and_recognised():
    data = _png(_label_with_barcode(UPS_NUMBER))
    texts = decode_label(data, max_pixels=900 * 600)
    assert texts == [UPS_NUMBER]
    found = detect(texts[0])
    assert found is not None
    assert (found.carrier, found.type) == ("ups", "ups")


def test_jpeg_label_and_several_barcodes():
    label = _label_with_barcode(UPS_NUMBER)
    label.paste(_barcode_image("MW-000123", zxingcpp.BarcodeFormat.QRCode), (650, 380))
    texts = decode_label(_png(label, "JPEG"), max_pixels=10_000_000)
    assert sorted(texts) == sorted([UPS_NUMBER, "MW-000123"])


def test_image_without_barcode_gives_nothing():
    assert decode_label(_png(Image.new("L", (300, 200), "white")), max_pixels=60_000) == []


def test_pixel_limit_is_inclusive():
    data = _png(_label_with_barcode(UPS_NUMBER))
    assert decode_label(data, max_pixels=900 * 600) == [UPS_NUMBER]
    with pytest.raises(
        ImageRejected, match=r"the image is 900x600, 540,000 pixels; the limit is 539,999 pixels"
    ):
        decode_label(data, max_pixels=900 * 600 - 1)


def test_pixel_count_is_checked_before_any_pixel_is_decoded():
    # The file has no pixel data: decoding it would fail as corrupt, so being told "too many
    # pixels" shows the size was judged from the header alone.
    data = _png_header_only(5000, 5000)
    with pytest.raises(ImageRejected, match="the limit is 1,000,000 pixels"):
        decode_label(data, max_pixels=1_000_000)
    with pytest.raises(ImageRejected, match="damaged or cut short"):
        decode_label(data, max_pixels=25_000_000)


def test_decompression_bomb_is_refused_as_too_many_pixels():
    # Pillow refuses this itself; the message is still ours, with the limit that applied.
    with pytest.raises(ImageRejected) as caught:
        decode_label(_png_header_only(60_000, 60_000), max_pixels=10**12)
    assert caught.value.reason == (
        "the image has 3,600,000,000 pixels; the limit is 178,956,970 pixels"
    )
    with pytest.raises(ImageRejected) as caught:
        decode_label(_png_header_only(60_000, 60_000), max_pixels=40_000_000)
    assert caught.value.reason == (
        "the image has 3,600,000,000 pixels; the limit is 40,000,000 pixels"
    )


def test_truncated_image_is_refused_as_corrupt():
    noise = random.Random(7).randbytes(300 * 300)
    data = _png(Image.frombytes("L", (300, 300), noise))
    with pytest.raises(ImageRejected, match="damaged or cut short"):
        decode_label(data[: len(data) // 2], max_pixels=1_000_000)


@pytest.mark.parametrize(
    "data",
    [b"hello, this is text", b"%PDF-1.7\n", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 9 9\n"],
    ids=["text", "pdf", "eps"],
)
def test_non_images_are_refused(data):
    with pytest.raises(
        ImageRejected, match="not a PNG, JPEG, GIF, BMP, TIFF or WebP picture"
    ) as caught:
        decode_label(data, max_pixels=1_000_000)
    assert caught.value.field == "image"
    assert isinstance(caught.value, ValueError)


def test_empty_upload_is_refused():
    with pytest.raises(ImageRejected, match="image: the file is empty"):
        decode_label(b"", max_pixels=1_000_000)


def test_max_pixels_must_be_positive():
    with pytest.raises(ValueError, match="max_pixels: must be positive"):
        decode_label(_png(Image.new("L", (10, 10))), max_pixels=0)
