"""Fixtures for screening tests: a site, people in each role (with user ids, as two-person rules
need), items at each stage, simulated scanner files, and a snapshot of everything a refused
request must leave as it was."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from mailwarden.config import get_settings
from mailwarden.core import media
from mailwarden.core.actor import Actor
from mailwarden.core.models import LedgerHead, OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.custody import services as custody
from mailwarden.custody.models import MailItem
from mailwarden.directory.models import Recipient, Site
from mailwarden.screening import decode
from mailwarden.screening.models import Decision, QuarantineRequest, Scan, SitePolicy
from mailwarden.xray.projection import ScanConfig
from mailwarden.xray.simulator import simulate_parcel
from tests.factories import intake, make_recipient, make_site

SCREENER_A = Actor("user", "sam", frozenset({Role.SCREENER}), user_id=9001)
SCREENER_B = Actor("user", "sky", frozenset({Role.SCREENER}), user_id=9002)
MANAGER_A = Actor("user", "mona", frozenset({Role.SECURITY_MANAGER}), user_id=9101)
MANAGER_B = Actor("user", "max", frozenset({Role.SECURITY_MANAGER}), user_id=9102)
CLERK = Actor("user", "cleo", frozenset({Role.CLERK}), user_id=9201)
UNLINKED_SCREENER = Actor("user", "token-abc123", frozenset({Role.SCREENER}))

SCANNER = ScanConfig(shape=(384, 512))


@pytest.fixture
def site(db) -> Site:
    return make_site()


@pytest.fixture
def recipient(db) -> Recipient:
    return make_recipient(department="Finance")


@pytest.fixture
def item(site, recipient) -> MailItem:
    """A parcel awaiting screening."""
    return intake(site, recipient)


@pytest.fixture
def quarantined(site, recipient) -> MailItem:
    item = intake(site, recipient)
    return custody.transition(SCREENER_A, item.uid, "quarantined", reason="oily stain")


# ----------------------------------------------------------------------------- scanner files


@dataclass(frozen=True)
class Pair:
    high: bytes
    low: bytes


def _pair(seed: int, threat: str | None) -> Pair:
    scan = simulate_parcel(seed, SCANNER, threat=threat, clutter=(1, 2))
    return Pair(decode.tiff16(scan.high), decode.tiff16(scan.low))


@pytest.fixture(scope="session")
def clean_pair() -> Pair:
    """A parcel of everyday things, in which the analysis finds nothing."""
    return _pair(0, None)


@pytest.fixture(scope="session")
def empty_pair() -> Pair:
    """The belt with nothing on it: only air, so nothing for the analysis to find."""
    air = np.full(SCANNER.shape, SCANNER.air_level, np.uint16)
    return Pair(decode.tiff16(air), decode.tiff16(air - 1))


@pytest.fixture(scope="session")
def knife_pair() -> Pair:
    return _pair(0, "knife")


def encode(array: np.ndarray, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def colour_rgb(clean_pair) -> np.ndarray:
    from mailwarden.xray import imaging

    high = decode.sixteen_bit(clean_pair.high, "high", decode.Limits(10**9, 10**9))
    low = decode.sixteen_bit(clean_pair.low, "low", decode.Limits(10**9, 10**9))
    return imaging.pseudo_colour(high, low)


def dicos(frames: np.ndarray, *, rgb: bool = False, transfer: str | None = None) -> bytes:
    """A minimal DICOS (DICOM) file holding ``frames``: (2, rows, cols) uint16, or RGB."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    # DICOS Digital X-Ray Image Storage - For Processing
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.501.2.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer or ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    if rgb:
        ds.Rows, ds.Columns = frames.shape[:2]
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit = 7
    else:
        ds.NumberOfFrames = frames.shape[0]
        ds.Rows, ds.Columns = frames.shape[1:]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
    ds.PixelRepresentation = 0
    raw = np.ascontiguousarray(frames).tobytes()
    if transfer:
        from pydicom.encaps import encapsulate

        # Compressed syntaxes wrap each frame; these bytes are no valid JPEG 2000 stream.
        frame_bytes = len(raw) // frames.shape[0]
        raw = encapsulate([raw[i : i + frame_bytes] for i in range(0, len(raw), frame_bytes)])
    ds.PixelData = raw
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def dicos_pair(clean_pair) -> bytes:
    lim = decode.Limits(10**9, 10**9)
    high = decode.sixteen_bit(clean_pair.high, "high", lim)
    low = decode.sixteen_bit(clean_pair.low, "low", lim)
    return dicos(np.stack([high, low]))


# ----------------------------------------------------------------------------- checks


@pytest.fixture
def upload_limits():
    """Small upload limits for one test, restored afterwards."""
    uploads = get_settings().uploads
    saved = uploads.max_bytes, uploads.max_pixels
    yield uploads
    uploads.max_bytes, uploads.max_pixels = saved


def media_files() -> int:
    root = media.store_dir()
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def snapshot() -> tuple[object, ...]:
    """Everything a refused screening request must leave as it was."""
    head = LedgerHead.objects.filter(id=1).values_list("seq", "hash").first()
    return (
        head,
        list(MailItem.objects.order_by("uid").values_list("uid", "state", "version")),
        list(Scan.objects.order_by("id").values_list("id", flat=True)),
        list(Decision.objects.order_by("id").values_list("id", "status")),
        list(QuarantineRequest.objects.order_by("id").values_list("id", "status")),
        list(SitePolicy.objects.values_list("site_id", "version")),
        OutboxEvent.objects.count(),
        media_files(),
    )
