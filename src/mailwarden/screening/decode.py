"""Reading scanner files into arrays, refusing anything that is not what it claims to be.

Pure (no Django): the CLI's ``xray analyze`` uses it too. Every refusal is a
:class:`ServiceError` naming the input (``image``, ``high`` or ``low``) and the reason, raised
before anything is stored.

Accepted: a high/low pair of 16-bit greyscale TIFFs; a colour composite (JPEG, PNG, TIFF,
BMP); a DICOS file (DICOM) holding either two 16-bit frames (high, then low) or one RGB frame.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from mailwarden.core.errors import ServiceError
from mailwarden.core.pillow import DAMAGED, UnreadableImage, load_strictly, open_image

COLOUR_FORMATS = {"JPEG": "jpeg", "PNG": "png", "TIFF": "tiff", "BMP": "bmp"}
# A DICOS file is read apart from these (see ``single``).
OPENED_FORMATS = ("TIFF", "PNG", "JPEG", "BMP")
SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
MIN_SIDE = 32  # the analysis bins by 4 and looks for objects several bins wide
DICM_OFFSET = 128


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class Decoded:
    """What a scanner delivered, as arrays: a pair (uint16 high/low) or a colour image."""

    kind: Literal["pair", "colour"]
    format: Literal["tiff", "png", "jpeg", "bmp", "dicos"]
    high: np.ndarray | None = None
    low: np.ndarray | None = None
    rgb: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)"""
        array = self.rgb if self.rgb is not None else self.high
        assert array is not None
        return int(array.shape[1]), int(array.shape[0])


def is_dicom(data: bytes) -> bool:
    return data[DICM_OFFSET : DICM_OFFSET + 4] == b"DICM"


def _check_bytes(data: bytes, field: str, limits: Limits) -> None:
    if not data:
        raise ServiceError("the file is empty", field)
    if len(data) > limits.max_bytes:
        raise ServiceError(f"the file is {len(data)} bytes; the limit is {limits.max_bytes}", field)


def _check_size(width: int, height: int, field: str, limits: Limits, frames: int = 1) -> None:
    if width * height * frames > limits.max_pixels:
        raise ServiceError(
            f"the image is {width}x{height} pixels"
            + (f" in {frames} frames" if frames > 1 else "")
            + f"; the limit is {limits.max_pixels} pixels",
            field,
        )
    if min(width, height) < MIN_SIDE:
        raise ServiceError(
            f"the image is {width}x{height} pixels; X-ray analysis needs at least "
            f"{MIN_SIDE}x{MIN_SIDE}",
            field,
        )


def _open(data: bytes, field: str, limits: Limits) -> Image.Image:
    """Open and fully decode an image after checking its declared size."""
    _check_bytes(data, field, limits)
    try:
        image = open_image(data, max_pixels=limits.max_pixels, formats=OPENED_FORMATS)
    except UnreadableImage as exc:
        raise ServiceError(exc.reason, field) from exc
    _check_size(*image.size, field, limits)
    try:
        load_strictly(image)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ServiceError(DAMAGED, field) from exc
    return image


def sixteen_bit(data: bytes, field: str, limits: Limits) -> np.ndarray:
    """One image of a high/low pair: a 16-bit greyscale TIFF, as native uint16."""
    image = _open(data, field, limits)
    if image.format != "TIFF":
        raise ServiceError(
            f"is a {image.format or 'unknown'} file; each image of a pair must be a 16-bit TIFF",
            field,
        )
    if image.mode not in SIXTEEN_BIT_MODES:
        depth = {"1": "1-bit", "L": "8-bit", "P": "8-bit palette", "RGB": "8-bit colour"}.get(
            image.mode, f"mode {image.mode}"
        )
        raise ServiceError(
            f"is a {depth} image; each image of a high/low pair must be 16-bit greyscale", field
        )
    return np.asarray(image).astype(np.uint16, copy=False)


def pair(high: bytes, low: bytes, limits: Limits) -> Decoded:
    high_array = sixteen_bit(high, "high", limits)
    low_array = sixteen_bit(low, "low", limits)
    if high_array.shape != low_array.shape:
        raise ServiceError(
            f"is {low_array.shape[1]}x{low_array.shape[0]} pixels; the high image is "
            f"{high_array.shape[1]}x{high_array.shape[0]}",
            "low",
        )
    return Decoded("pair", "tiff", high=high_array, low=low_array)


def colour(data: bytes, limits: Limits, field: str = "image") -> Decoded:
    """A colour composite (pseudo-colour export) in JPEG, PNG, TIFF or BMP."""
    image = _open(data, field, limits)
    fmt = COLOUR_FORMATS.get(image.format or "")
    if fmt is None:
        raise ServiceError(
            f"{image.format or 'this'} images are not accepted; send JPEG, PNG, TIFF or BMP",
            field,
        )
    if image.mode in SIXTEEN_BIT_MODES or image.mode in {"1", "L", "I", "F", "LA"}:
        raise ServiceError(
            "is a greyscale image; send a colour composite, or a high/low pair as high and low",
            field,
        )
    rgb = np.asarray(image.convert("RGB"))
    return Decoded("colour", fmt, rgb=rgb)  # type: ignore[arg-type]


def dicos(data: bytes, limits: Limits, field: str = "image") -> Decoded:
    """A DICOS file: two 16-bit frames (high energy first) or one RGB frame."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    _check_bytes(data, field, limits)
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise ServiceError("the file is not a readable DICOS file", field) from exc
    if "PixelData" not in ds:
        raise ServiceError("the DICOS file holds no image (no pixel data)", field)
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        bits = int(ds.BitsAllocated)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ServiceError(f"the DICOS file's image header is incomplete ({exc})", field) from exc
    _check_size(cols, rows, field, limits, frames)
    try:
        pixels = ds.pixel_array
    except Exception as exc:  # pydicom raises many kinds: missing codec, truncated data, ...
        # pydicom's messages can run to a listing of every plugin it tried; the first line says it.
        detail = (str(exc).splitlines() or [""])[0].rstrip(":")
        raise ServiceError(
            f"the DICOS file's pixel data cannot be decoded ({type(exc).__name__}: {detail})",
            field,
        ) from exc
    if samples == 3 and frames == 1 and pixels.ndim == 3 and pixels.shape[2] == 3:
        if pixels.dtype != np.uint8:
            raise ServiceError("a colour DICOS image must have 8 bits per sample", field)
        return Decoded("colour", "dicos", rgb=np.ascontiguousarray(pixels))
    if samples == 1 and frames == 2 and pixels.ndim == 3 and bits == 16:
        high, low = (np.ascontiguousarray(pixels[i]).astype(np.uint16) for i in (0, 1))
        return Decoded("pair", "dicos", high=high, low=low)
    raise ServiceError(
        f"the DICOS image has {frames} frame(s) of {samples} sample(s) at {bits} bits; need two "
        "16-bit frames (high, then low energy) or one RGB frame",
        field,
    )


def single(data: bytes, limits: Limits, field: str = "image") -> Decoded:
    """One file: DICOS if it says so, else a colour composite."""
    if is_dicom(data):
        return dicos(data, limits, field)
    return colour(data, limits, field)


def tiff16(array: np.ndarray) -> bytes:
    """A 16-bit greyscale TIFF of ``array``, as a scanner would write one image of a pair."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array, dtype=np.uint16)).save(buffer, format="TIFF")
    return buffer.getvalue()
