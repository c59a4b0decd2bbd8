"""Content-addressed media store: a file is named by the SHA-256 of its bytes."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from mailwarden.core.errors import ServiceError
from mailwarden.core.pillow import DAMAGED, UnreadableImage, load_strictly, open_image

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF")


def store_dir() -> Path:
    return Path(settings.MEDIA_STORE_DIR)


def path_for(digest: str) -> Path:
    return store_dir() / digest[:2] / digest[2:4] / digest


def put(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    target = path_for(digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return digest


def get(digest: str) -> bytes:
    return path_for(digest).read_bytes()


def delete(digests: Iterable[str]) -> None:
    """Remove files from the store; one that cannot be removed is logged and the rest go on."""
    for digest in digests:
        try:
            path_for(digest).unlink(missing_ok=True)
        except OSError:
            logging.getLogger(__name__).exception("could not delete stored file %s", digest)


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    format: str
    width: int
    height: int


def check_image(data: bytes, *, field: str, max_bytes: int, max_pixels: int) -> CheckedImage:
    """Refuse oversized, corrupt or non-image uploads before anything is stored."""
    if not data:
        raise ServiceError("the file is empty", field)
    if len(data) > max_bytes:
        raise ServiceError(f"the file is {len(data)} bytes; the limit is {max_bytes}", field)
    try:
        img = open_image(data, max_pixels=max_pixels, formats=ACCEPTED_FORMATS)
    except UnreadableImage as exc:
        raise ServiceError(exc.reason, field) from exc
    with img:
        width, height = img.size
        if width * height > max_pixels:
            raise ServiceError(
                f"the image is {width}x{height} pixels; the limit is {max_pixels:,} pixels",
                field,
            )
        fmt = img.format or "unknown"
        if fmt not in ACCEPTED_FORMATS:
            raise ServiceError(f"{fmt} images are not accepted", field)
        try:
            load_strictly(img)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ServiceError(DAMAGED, field) from exc
    return CheckedImage(data, fmt, width, height)
