"""Strict image decoding, whatever other libraries have set.

WeasyPrint sets Pillow's process-wide ``LOAD_TRUNCATED_IMAGES`` when it is imported, which would
let a truncated upload through as a half-grey picture. Uploads are decoded with it off.
"""

from __future__ import annotations

import threading

from PIL import Image, ImageFile

_lock = threading.Lock()


def load_strictly(image: Image.Image) -> None:
    """Decode every pixel; raise OSError on truncated or corrupt data."""
    with _lock:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            image.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous
