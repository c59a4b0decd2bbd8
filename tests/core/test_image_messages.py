"""Image refusals are sentences for a person: no Python object reprs, no Pillow limits."""

from __future__ import annotations

import struct
import zlib

import pytest

from mailwarden.cli import main
from mailwarden.core.errors import ServiceError
from mailwarden.core.media import check_image
from mailwarden.screening import decode

NOT_AN_IMAGE = (
    "the file is not a readable image: it is not a JPEG, PNG, WebP, TIFF, BMP or GIF picture"
)


def header_only_png(width: int, height: int) -> bytes:
    """A PNG that claims the given size but carries no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_a_text_file_is_refused_in_plain_words():
    with pytest.raises(ServiceError) as refused:
        check_image(b"hello, a text file", field="photo", max_bytes=10**6, max_pixels=10**6)
    assert (refused.value.field, refused.value.message) == ("photo", NOT_AN_IMAGE)


def test_a_decompression_bomb_names_the_configured_limit():
    bomb = header_only_png(60_000, 60_000)
    with pytest.raises(ServiceError) as refused:
        check_image(bomb, field="photo", max_bytes=10**6, max_pixels=40_000_000)
    assert refused.value.message == (
        "the image has 3,600,000,000 pixels; the limit is 40,000,000 pixels"
    )
    with pytest.raises(ServiceError) as scan:
        decode.single(bomb, decode.Limits(max_bytes=10**6, max_pixels=40_000_000))
    assert scan.value.message == refused.value.message


def test_an_image_between_the_limits_names_ours():
    # 12,000 x 12,000 is over Pillow's warning threshold (89,478,485) but under its hard limit.
    with pytest.raises(ServiceError) as refused:
        check_image(
            header_only_png(12_000, 12_000), field="photo", max_bytes=10**6, max_pixels=10**6
        )
    assert refused.value.message == "the image is 12000x12000 pixels; the limit is 1,000,000 pixels"


def test_xray_analyze_refuses_a_non_image_in_plain_words(tmp_path, capsys):
    text = tmp_path / "notes.png"
    text.write_bytes(b"this is not a scan")
    assert main(["xray", "analyze", str(text)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"mailwarden: {text}: the file is not a readable image: "
        "it is not a TIFF, PNG, JPEG or BMP picture\n"
    )
