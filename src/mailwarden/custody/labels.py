"""Internal 4x6-inch labels for received items: a PNG for thermal printers and a PDF for paper.

The label carries what the mailroom needs at a glance: the internal ID large enough to read
across a shelf, a QR code of that ID for the scanner, the recipient and mail stop for sorting, and
the carrier and tracking number to tie the item back to the carrier's record.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeAlias

import segno
from PIL import Image, ImageDraw, ImageFont

__all__ = ["DPI", "LABEL_SIZE", "LabelData", "label_html", "label_pdf", "label_png"]

# 203 dpi is the resolution of the common desktop thermal label printers.
DPI = 203
LABEL_SIZE = (4 * DPI, 6 * DPI)
_MARGIN = 30
_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_EMPTY = "\N{EM DASH}"

_Font: TypeAlias = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True, slots=True)
class LabelData:
    uid: str
    recipient_name: str
    mail_stop: str
    department: str
    carrier: str
    tracking_number: str
    kind: str
    received_at: datetime
    site_name: str


def _received(moment: datetime) -> str:
    zone = moment.tzname()
    return f"{moment:%Y-%m-%d %H:%M}" + (f" {zone}" if zone else "")


def _or_dash(text: str) -> str:
    return text.strip() or _EMPTY


# --- PNG -----------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _font(style: str, size: int) -> _Font:
    names = {
        "regular": "DejaVuSans.ttf",
        "bold": "DejaVuSans-Bold.ttf",
        "mono": "DejaVuSansMono-Bold.ttf",
    }
    path = _FONT_DIR / names[style]
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    # Without DejaVu the label is plainer but still legible: Pillow's own font scales too.
    return ImageFont.load_default(size=size)


def _fitted(
    draw: ImageDraw.ImageDraw, text: str, style: str, size: int, width: int, smallest: int = 0
) -> tuple[_Font, str]:
    """The largest font, down to ``smallest`` (half ``size`` if 0), that fits ``text`` in
    ``width``; below that, the text is truncated."""
    smallest = smallest or max(size // 2, 10)
    for candidate in range(size, smallest - 1, -2):
        font = _font(style, candidate)
        if draw.textlength(text, font=font) <= width:
            return font, text
    font = _font(style, smallest)
    while text and draw.textlength(text + "\N{HORIZONTAL ELLIPSIS}", font=font) > width:
        text = text[:-1]
    return font, text + "\N{HORIZONTAL ELLIPSIS}"


def _line(
    draw: ImageDraw.ImageDraw,
    top: int,
    text: str,
    style: str,
    size: int,
    left: int = _MARGIN,
    width: int = LABEL_SIZE[0] - 2 * _MARGIN,
    fill: int = 0,
    smallest: int = 0,
) -> int:
    """Draw one line of text fitted to ``width``; return the top of the next line."""
    font, shown = _fitted(draw, text, style, size, width, smallest)
    draw.text((left, top), shown, font=font, fill=fill)
    box = draw.textbbox((left, top), "Hg", font=font)
    # Pillow types a bounding box as floats; these fonts give whole pixels, so int() keeps it.
    return int(box[3]) + size // 4


def _caption(draw: ImageDraw.ImageDraw, top: int, text: str, left: int = _MARGIN) -> int:
    return _line(draw, top, text.upper(), "regular", 24, left=left)


def _rule(draw: ImageDraw.ImageDraw, top: int) -> int:
    draw.line((_MARGIN, top, LABEL_SIZE[0] - _MARGIN, top), fill=0, width=4)
    return top + 18


def _draw_qr(image: Image.Image, text: str, left: int, top: int, box: int) -> None:
    qr = segno.make(text, error="m", micro=False)
    rows = list(qr.matrix_iter(scale=1, border=4))
    # Whole pixels per module keep every module the same size, which scanners rely on.
    module = max(box // len(rows), 1)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = left + x * module, top + y * module
                draw.rectangle((x0, y0, x0 + module - 1, y0 + module - 1), fill=0)


def label_png(item: LabelData) -> bytes:
    width = LABEL_SIZE[0]
    inner = width - 2 * _MARGIN
    image = Image.new("L", LABEL_SIZE, 255)
    draw = ImageDraw.Draw(image)

    draw.rectangle((0, 0, width, 96), fill=0)
    kind_font, kind = _fitted(draw, item.kind.upper(), "bold", 40, inner // 3)
    kind_width = int(draw.textlength(kind, font=kind_font))
    draw.text((width - _MARGIN - kind_width, 24), kind, font=kind_font, fill=255)
    _line(draw, 24, item.site_name, "bold", 40, width=inner - kind_width - 20, fill=255)

    # The ID is what people read off the shelf: shrink it a long way before cutting it.
    top = _line(draw, 120, item.uid, "bold", 120, smallest=28)

    qr_box = 380
    _draw_qr(image, item.uid, _MARGIN - 16, top, qr_box)
    column = _MARGIN + qr_box + 10
    column_width = width - _MARGIN - column
    right = _caption(draw, top + 30, "Mail stop", left=column)
    # Sorting goes by mail stop, so like the ID it shrinks a long way before it is cut.
    stop = _or_dash(item.mail_stop)
    right = _line(draw, right, stop, "bold", 110, column, column_width, smallest=32)
    right = _caption(draw, right + 20, "Received", left=column)
    right = _line(draw, right, _received(item.received_at), "regular", 30, column, column_width)

    top = _rule(draw, top + qr_box + 10)
    top = _caption(draw, top, "Deliver to")
    top = _line(draw, top, _or_dash(item.recipient_name), "bold", 72)
    top = _line(draw, top, _or_dash(item.department), "regular", 44)

    top = _rule(draw, top + 10)
    top = _caption(draw, top, "Carrier")
    top = _line(draw, top, _or_dash(item.carrier), "bold", 56)
    top = _caption(draw, top, "Tracking number")
    _line(draw, top, _or_dash(item.tracking_number), "mono", 44)

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(DPI, DPI), optimize=True)
    return buffer.getvalue()


# --- PDF -----------------------------------------------------------------------------------------

_STYLE = """
@page { size: 4in 6in; margin: 0.15in; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "DejaVu Sans", sans-serif; color: #000; }
.line { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
header { background: #000; color: #fff; font-weight: bold; font-size: 13pt;
         padding: 5pt 7pt; display: flex; justify-content: space-between; gap: 8pt; }
header .line { flex: 1 1 auto; min-width: 0; }
header .kind { flex: none; text-transform: uppercase; }
.uid { font-weight: bold; margin: 6pt 0 2pt; }
table.middle { width: 100%; border-collapse: collapse; }
table.middle td { vertical-align: top; padding: 0; }
td.qr { width: 1.9in; }
td.qr svg { width: 1.9in; height: 1.9in; display: block; }
td.side { max-width: 1.8in; }
.caption { font-size: 8pt; text-transform: uppercase; margin-top: 6pt; }
.stop { font-weight: bold; }
.received { font-size: 10pt; }
hr { border: 0; border-top: 1.5pt solid #000; margin: 6pt 0 2pt; }
.name { font-weight: bold; }
.department { font-size: 14pt; }
.carrier { font-size: 17pt; font-weight: bold; }
.tracking { font-family: "DejaVu Sans Mono", monospace; font-weight: bold; }
"""


_TEXT_WIDTH_PT = 3.7 * 72
_SIDE_WIDTH_PT = 1.75 * 72


def _points_to_fit(
    text: str, style: str, largest: float, width: float, smallest: float | None = None
) -> float:
    """A font size that fits ``text`` in ``width`` points, measured with the PNG's own fonts.

    CSS cannot shrink text to fit, so without this a long ID would be cut off by the ellipsis
    where the PNG shows it whole. Below ``smallest`` (half ``largest`` unless given) the
    ellipsis takes over.
    """
    floor = largest / 2 if smallest is None else smallest
    per_point = _font(style, 100).getlength(text) / 100
    if per_point <= 0:
        return largest
    # 0.95 leaves room for the small differences between Pillow's and Pango's shaping.
    return max(min(largest, 0.95 * width / per_point), floor)


def label_html(item: LabelData) -> str:
    """The label as a self-contained HTML document: every value escaped, nothing to fetch."""

    def text(value: str) -> str:
        return html.escape(_or_dash(value))

    def fitted(
        css_class: str, value: str, style: str, largest: float, width: float, smallest: float
    ) -> str:
        points = _points_to_fit(_or_dash(value), style, largest, width, smallest)
        return (
            f'<div class="{css_class} line" style="font-size: {points:.1f}pt">{text(value)}</div>'
        )

    qr = segno.make(item.uid, error="m", micro=False).svg_inline(border=4, omitsize=True)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{text(item.uid)}</title><style>{_STYLE}</style></head>
<body>
<header><span class="line">{text(item.site_name)}</span>
<span class="kind">{text(item.kind)}</span></header>
{fitted("uid", item.uid, "bold", 34, _TEXT_WIDTH_PT, 10)}
<table class="middle"><tr>
<td class="qr">{qr}</td>
<td class="side">
<div class="caption">Mail stop</div>
{fitted("stop", item.mail_stop, "bold", 34, _SIDE_WIDTH_PT, 14)}
<div class="caption">Received</div>
<div class="received line">{html.escape(_received(item.received_at))}</div>
</td></tr></table>
<hr>
<div class="caption">Deliver to</div>
{fitted("name", item.recipient_name, "bold", 22, _TEXT_WIDTH_PT, 11)}
<div class="department line">{text(item.department)}</div>
<hr>
<div class="caption">Carrier</div><div class="carrier line">{text(item.carrier)}</div>
<div class="caption">Tracking number</div>
{fitted("tracking", item.tracking_number, "mono", 16, _TEXT_WIDTH_PT, 8)}
</body></html>
"""


def _refusing_fetcher() -> Any:
    # The document is self-contained, so any fetch would come from injected markup: refuse all.
    import weasyprint

    fetcher_class = getattr(weasyprint, "URLFetcher", None)
    if fetcher_class is not None:
        return fetcher_class(allowed_protocols=())

    def refuse(url: str) -> dict[str, Any]:  # WeasyPrint before URLFetcher took a function
        raise ValueError(f"label HTML may not load {url}")

    return refuse


def label_pdf(item: LabelData) -> bytes:
    # WeasyPrint pulls in Pango and friends; importing it here keeps the PNG path light.
    import weasyprint

    document = weasyprint.HTML(string=label_html(item), url_fetcher=_refusing_fetcher())
    pdf = document.write_pdf()
    if not isinstance(pdf, bytes):
        raise RuntimeError("WeasyPrint returned no PDF bytes for a label")
    return pdf
