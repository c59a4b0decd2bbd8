"""Scanner import: each accepted format is stored by hash, analysed, rendered and put on the
ledger; each kind of bad input is refused naming its field, and nothing is stored."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from mailwarden.core import ledger, media
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.screening import decode, services
from mailwarden.screening.services import ScanUpload
from tests.screening.conftest import CLERK, SCREENER_A, dicos, encode, snapshot


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_pair_is_stored_analysed_rendered_and_on_the_ledger(item, clean_pair):
    scan = services.import_scan(
        SCREENER_A, item.uid, ScanUpload(high=clean_pair.high, low=clean_pair.low)
    )
    assert (scan.kind, scan.format, scan.width, scan.height) == ("pair", "tiff", 512, 384)
    assert scan.high_sha256 == sha(clean_pair.high)
    assert media.get(scan.low_sha256) == clean_pair.low
    with Image.open(io.BytesIO(media.get(scan.rendered_sha256))) as rendered:
        assert (rendered.format, rendered.mode, rendered.size) == ("PNG", "RGB", (512, 384))
    entry = ledger.entries_for("mailitem", item.uid)[-1]
    assert entry.action == "screening.scan.stored"
    data = ledger.entry_data(entry)
    assert data["sha256"] == [scan.high_sha256, scan.low_sha256]
    assert data["rendered_sha256"] == scan.rendered_sha256


@pytest.mark.parametrize(
    ("fmt", "options", "name"),
    [
        ("PNG", {}, "png"),
        ("JPEG", {"quality": 95}, "jpeg"),
        ("BMP", {}, "bmp"),
        ("TIFF", {}, "tiff"),
    ],
)
def test_colour_composites_are_accepted(item, colour_rgb, fmt, options, name):
    data = encode(colour_rgb, fmt, **options)
    scan = services.import_scan(SCREENER_A, item.uid, ScanUpload(image=data))
    assert (scan.kind, scan.format) == ("colour", name)
    assert scan.file_sha256 == sha(data)
    assert isinstance(scan.regions, list)


def test_a_dicos_pair_is_read_with_pydicom(item, dicos_pair):
    scan = services.import_scan(SCREENER_A, item.uid, ScanUpload(image=dicos_pair))
    assert (scan.kind, scan.format, scan.width, scan.height) == ("pair", "dicos", 512, 384)
    assert scan.file_sha256 == sha(dicos_pair)


def test_a_dicos_colour_image_is_read(item, colour_rgb):
    data = dicos(colour_rgb, rgb=True)
    scan = services.import_scan(SCREENER_A, item.uid, ScanUpload(image=data))
    assert (scan.kind, scan.format) == ("colour", "dicos")


def tiff8(width: int = 64, height: int = 48) -> bytes:
    return encode(np.full((height, width), 200, np.uint8), "TIFF")


def bad_uploads(pair, colour: bytes, dicos_pair: bytes) -> dict[str, tuple[ScanUpload, str, str]]:
    small = decode.tiff16(np.full((40, 60), 50_000, np.uint16))
    grey_png = encode(np.full((48, 64), 128, np.uint8), "PNG")
    jpeg2000 = dicos(np.zeros((2, 40, 40), np.uint16), transfer="1.2.840.10008.1.2.4.90")
    return {
        "corrupt": (
            ScanUpload(image=b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
            "image",
            "not a readable",
        ),
        "truncated": (ScanUpload(image=colour[: len(colour) // 2]), "image", "not a readable"),
        "truncated-pair": (
            ScanUpload(high=pair.high[:-5000], low=pair.low),
            "high",
            "not a readable",
        ),
        "8-bit-pair": (ScanUpload(high=tiff8(), low=tiff8()), "high", "8-bit"),
        "png-pair": (ScanUpload(high=colour, low=colour), "high", "16-bit TIFF"),
        "mismatched-pair": (ScanUpload(high=pair.high, low=small), "low", "60x40"),
        "missing-low": (ScanUpload(high=pair.high), "low", "missing"),
        "image-and-pair": (
            ScanUpload(image=colour, high=pair.high, low=pair.low),
            "image",
            "not both",
        ),
        "nothing": (ScanUpload(), "image", "send an image"),
        "greyscale-composite": (ScanUpload(image=grey_png), "image", "greyscale"),
        "tiny": (
            ScanUpload(image=encode(np.zeros((16, 16, 3), np.uint8), "PNG")),
            "image",
            "at least",
        ),
        "empty": (ScanUpload(image=b""), "image", "empty"),
        "dicos-undecodable": (ScanUpload(image=jpeg2000), "image", "cannot be decoded"),
        "dicos-truncated": (ScanUpload(image=dicos_pair[: len(dicos_pair) // 2]), "image", "DICOS"),
    }


BAD = [
    "corrupt",
    "truncated",
    "truncated-pair",
    "8-bit-pair",
    "png-pair",
    "mismatched-pair",
    "missing-low",
    "image-and-pair",
    "nothing",
    "greyscale-composite",
    "tiny",
    "empty",
    "dicos-undecodable",
    "dicos-truncated",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(
    item, clean_pair, colour_rgb, dicos_pair, case
):
    upload, field, words = bad_uploads(clean_pair, encode(colour_rgb, "PNG"), dicos_pair)[case]
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        services.import_scan(SCREENER_A, item.uid, upload)
    assert refused.value.field == field
    assert words in refused.value.message
    assert snapshot() == before


def test_limits_come_from_the_configuration(item, clean_pair, colour_rgb, upload_limits):
    before = snapshot()
    upload_limits.max_pixels = 512 * 384 - 1
    with pytest.raises(ServiceError, match="limit is 196607 pixels") as refused:
        services.import_scan(
            SCREENER_A, item.uid, ScanUpload(high=clean_pair.high, low=clean_pair.low)
        )
    assert refused.value.field == "high"
    upload_limits.max_pixels = 10**8
    upload_limits.max_bytes = 2048
    with pytest.raises(ServiceError, match="limit is 2048") as refused:
        services.import_scan(SCREENER_A, item.uid, ScanUpload(image=encode(colour_rgb, "PNG")))
    assert refused.value.field == "image"
    assert snapshot() == before


def test_unknown_items_wrong_states_and_roles_are_refused(
    item, quarantined, clean_pair, site, recipient
):
    from mailwarden.custody import services as custody
    from tests.factories import intake

    upload = ScanUpload(high=clean_pair.high, low=clean_pair.low)
    cleared = custody.transition(SCREENER_A, intake(site, recipient).uid, "cleared")
    before = snapshot()
    with pytest.raises(NotFound) as refused:
        services.import_scan(SCREENER_A, "MW-NOSUCH00", upload)
    assert refused.value.field == "uid"
    with pytest.raises(Conflict) as refused:
        services.import_scan(SCREENER_A, cleared.uid, upload)
    assert refused.value.field == "uid"
    with pytest.raises(Forbidden):
        services.import_scan(CLERK, item.uid, upload)
    assert snapshot() == before
    # an item in quarantine may be scanned again
    assert services.import_scan(SCREENER_A, quarantined.uid, upload).item_id == quarantined.pk
