"""Strict image decoding, whatever other libraries have set, with refusals written for people.

WeasyPrint sets Pillow's process-wide ``LOAD_TRUNCATED_IMAGES`` when it is imported, which would
let a truncated upload through as a half-grey picture. Uploads are decoded with it off.
"""

from __future__ import annotations

import io
import re
import threading
import warnings

from PIL import Image, ImageFile, UnidentifiedImageError

# Every upload's pixel count is checked against the configured limit, which is lower than
# Pillow's; Pillow's own warning would only put its limit, not ours, in the log.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

DAMAGED = "the file is not a readable image: it is damaged or cut short"

_lock = threading.Lock()


class UnreadableImage(ValueError):
    """An upload that Pillow cannot open; ``reason`` is a sentence for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def not_an_image(formats: tuple[str, ...] | None) -> str:
    if not formats:
        return "the file is not a readable image: it is not a picture"
    names = [f.replace("WEBP", "WebP") for f in formats]
    listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
    return f"the file is not a readable image: it is not a {listed} picture"


def too_many_pixels(pixels: int | None, max_pixels: int) -> str:
    size = f"has {pixels:,} pixels" if pixels else "has too many pixels"
    return f"the image {size}; the limit is {max_pixels:,} pixels"


def open_image(
    data: bytes, *, max_pixels: int, formats: tuple[str, ...] | None = None
) -> Image.Image:
    """Open an image's header without decoding its pixels.

    Raises :class:`UnreadableImage` for anything that is not an image, a damaged one, or one
    so large that Pillow itself refuses it, naming the configured ``max_pixels``.
    """
    try:
        return Image.open(io.BytesIO(data), formats=formats)
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        # Pillow refuses above twice its own limit whatever ours is; name the one that applied.
        hard = Image.MAX_IMAGE_PIXELS
        limit = max_pixels if hard is None else min(max_pixels, 2 * hard)
        raise UnreadableImage(
            too_many_pixels(int(found.group(1)) if found else None, limit)
        ) from exc
    except UnidentifiedImageError as exc:
        raise UnreadableImage(not_an_image(formats)) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnreadableImage(DAMAGED) from exc


def load_strictly(image: Image.Image) -> None:
    """Decode every pixel; raise OSError on truncated or corrupt data."""
    with _lock:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            image.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous
