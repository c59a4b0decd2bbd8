import io
import random

import pytest
from PIL import Image

from mailwarden.core.errors import ServiceError
from mailwarden.core.media import check_image


def png(size=(200, 200)) -> bytes:
    noise = random.Random(3).randbytes(size[0] * size[1])
    buf = io.BytesIO()
    Image.frombytes("L", size, noise).save(buf, format="PNG")
    return buf.getvalue()


def test_truncated_upload_is_refused_even_after_weasyprint_import():
    import weasyprint  # noqa: F401  (it loosens Pillow's decoding process-wide)

    data = png()
    assert check_image(data, field="photo", max_bytes=10**7, max_pixels=10**6).width == 200
    with pytest.raises(ServiceError) as err:
        check_image(data[: len(data) // 2], field="photo", max_bytes=10**7, max_pixels=10**6)
    assert err.value.field == "photo"
    assert "not a readable image" in err.value.message


def test_size_and_pixel_limits_name_the_field():
    data = png((300, 300))
    with pytest.raises(ServiceError, match=r"the limit is 100$") as too_big:
        check_image(data, field="photo", max_bytes=100, max_pixels=10**6)
    assert too_big.value.field == "photo"
    with pytest.raises(ServiceError, match="300x300 pixels"):
        check_image(data, field="photo", max_bytes=10**7, max_pixels=50_000)
    with pytest.raises(ServiceError, match="not a readable image"):
        check_image(b"%PDF-1.7 not an image", field="photo", max_bytes=10**7, max_pixels=10**6)
