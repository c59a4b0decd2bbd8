"""Read the barcodes on a photographed or scanned shipping label."""

from __future__ import annotations

import zxingcpp

from mailwarden.core.pillow import DAMAGED, UnreadableImage, load_strictly, open_image
from mailwarden.custody import carriers

__all__ = ["ACCEPTED_FORMATS", "ImageRejected", "decode_label", "tracking_number_among"]

# Label photos and scans come as these. Pillow can open many more (EPS runs Ghostscript, for one),
# and every extra decoder is more parser reachable by an uploaded file.
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")


class ImageRejected(ValueError):
    """An uploaded label image that will not be decoded."""

    field = "image"

    def __init__(self, reason: str) -> None:
        super().__init__(f"{self.field}: {reason}")
        self.reason = reason


def decode_label(image_bytes: bytes, max_pixels: int) -> list[str]:
    """The text of every barcode found in the image, in reading order, without repeats.

    The pixel count is checked from the image header before any pixel data is decoded, so a
    small file that claims enormous dimensions costs nothing.
    """
    if max_pixels <= 0:
        raise ValueError(f"max_pixels: must be positive, not {max_pixels}")
    if not image_bytes:
        raise ImageRejected("the file is empty")
    try:
        image = open_image(image_bytes, max_pixels=max_pixels, formats=ACCEPTED_FORMATS)
    except UnreadableImage as exc:
        raise ImageRejected(exc.reason) from exc
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise ImageRejected(
                f"the image is {width}x{height}, {width * height:,} pixels; "
                f"the limit is {max_pixels:,} pixels"
            )
        try:
            load_strictly(image)
            # zxing works on luminance; converting here also settles palette, CMYK and 16-bit
            # images, whose handling in zxing-cpp varies between versions.
            grey = image.convert("L")
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageRejected(DAMAGED) from exc
    texts: list[str] = []
    for barcode in zxingcpp.read_barcodes(grey):
        if barcode.text and barcode.text not in texts:
            texts.append(barcode.text)
    return texts


def tracking_number_among(codes: list[str]) -> str | None:
    """The code to propose as the tracking number: the first a carrier claims, else the first.

    A label carries routing and postal codes beside the tracking number; a carrier's format
    tells the tracking number apart.
    """
    known = [c for c in codes if carriers.detect(c) is not None]
    return (known or codes)[0] if codes else None
