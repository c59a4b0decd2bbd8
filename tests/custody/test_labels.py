"""Internal item labels: the PNG scans back to the item, the PDF is one 4x6-inch page."""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import zxingcpp
from PIL import Image

from mailwarden.custody import labels
from mailwarden.custody.labels import DPI, LabelData, label_html, label_pdf, label_png

ITEM = LabelData(
    uid="MW-2025-004217",
    recipient_name="Margaret O'Connell-Whitfield",
    mail_stop="B4-217",
    department="Finance & Procurement",
    carrier="UPS",
    tracking_number="1Z5R89390357567127",
    kind="Parcel",
    received_at=datetime(2025, 6, 3, 14, 5, tzinfo=UTC),
    site_name="Northfield Campus Mailroom",
)

LONG = LabelData(
    uid="MW-2025-004217-0000000000-SPARE",
    recipient_name="Margaret Eleanor Josephine O'Connell-Whitfield-Harrington " * 4,
    mail_stop="BUILDING 4 EAST WING ROOM 217",
    department="Finance, Procurement, Treasury and Everything Else " * 3,
    carrier="A Carrier With An Exceptionally Long Trading Name Limited",
    tracking_number="4201028200009261290113185417468510",
    kind="Oversized hazardous parcel",
    received_at=datetime(2025, 6, 3, 14, 5),
    site_name="A Site Name That Goes On And On And On",
)


def _qr_texts(png: bytes) -> list[str]:
    with Image.open(io.BytesIO(png)) as image:
        found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return [barcode.text for barcode in found]


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF's text with every Flate stream inflated, since pages sit in object streams."""
    parts = [pdf]
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(stream.group(1)))
        except zlib.error:
            continue
    return b"\n".join(parts)


@pytest.mark.parametrize("item", [ITEM, LONG], ids=["typical", "long-fields"])
def test_png_is_a_4x6_label_whose_qr_code_is_the_uid(item):
    png = label_png(item)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (4 * DPI, 6 * DPI)
        assert tuple(round(v) for v in image.info["dpi"]) == (DPI, DPI)
    assert _qr_texts(png) == [item.uid]


def test_png_is_deterministic_and_follows_the_item():
    assert label_png(ITEM) == label_png(ITEM)
    changed = replace(ITEM, uid="MW-2025-004218")
    assert _qr_texts(label_png(changed)) == ["MW-2025-004218"]


def test_fitted_text_never_exceeds_the_width():
    image = Image.new("L", (100, 100))
    draw = labels.ImageDraw.Draw(image)
    for text in ["short", LONG.recipient_name, "W" * 300]:
        font, shown = labels._fitted(draw, text, "bold", 72, 500)
        assert draw.textlength(shown, font=font) <= 500
        assert shown == text or shown.endswith("\N{HORIZONTAL ELLIPSIS}")
    font, shown = labels._fitted(draw, "short", "bold", 72, 500)
    assert (shown, font.size) == ("short", 72)


def test_long_uid_shrinks_rather_than_being_cut():
    image = Image.new("L", (100, 100))
    draw = labels.ImageDraw.Draw(image)
    _, shown = labels._fitted(draw, LONG.uid, "bold", 120, 752, smallest=28)
    assert shown == LONG.uid


@pytest.mark.parametrize("item", [ITEM, LONG], ids=["typical", "long-fields"])
def test_pdf_is_one_4x6_inch_page(item):
    pdf = label_pdf(item)
    assert pdf.startswith(b"%PDF-")
    objects = _pdf_objects(pdf)
    assert len(re.findall(rb"/Type\s*/Page\b", objects)) == 1
    assert re.search(rb"/Type\s*/Pages\b.*?/Count\s+1\b", objects, re.S)
    # 4 x 6 inches at 72 points to the inch.
    assert re.search(rb"/MediaBox\s*\[\s*0\s+0\s+288(\.0+)?\s+432(\.0+)?\s*\]", objects)


def test_html_escapes_every_field():
    hostile = replace(
        ITEM,
        recipient_name='<img src="http://example.invalid/x.png">',
        department="R&D <script>",
        site_name="</style><b>",
    )
    document = label_html(hostile)
    assert "<img" not in document
    assert "<script" not in document
    assert "</style><b>" not in document
    assert "&lt;img src=&quot;http://example.invalid/x.png&quot;&gt;" in document
    assert "R&amp;D &lt;script&gt;" in document


def test_html_holds_the_fields_and_an_inline_qr():
    document = label_html(ITEM)
    for value in ["MW-2025-004217", "B4-217", "UPS", "1Z5R89390357567127", "2025-06-03 14:05 UTC"]:
        assert value in document
    assert "<svg" in document
    assert "src=" not in document


def test_empty_optional_fields_show_a_dash():
    document = label_html(replace(ITEM, mail_stop="", tracking_number="  "))
    assert document.count("\N{EM DASH}") == 2


def test_pdf_renderer_fetches_nothing():
    fetcher = labels._refusing_fetcher()
    with pytest.raises(ValueError):
        fetcher.fetch("http://example.invalid/x.png")
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/passwd")
