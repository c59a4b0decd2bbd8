"""The X-ray library applied to decoded scanner files: analysis regions and rendered views."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

import numpy as np

from mailwarden.core.errors import ServiceError
from mailwarden.screening.decode import Decoded
from mailwarden.xray import imaging
from mailwarden.xray.analysis import Region, analyze, analyze_colour
from mailwarden.xray.projection import ScanConfig

# Imported pairs are read with the default scanner's calibration. Its image shape plays no part
# in the analysis, and one configuration keeps one calibration table in the library's cache.
SCANNER = ScanConfig()


class View(StrEnum):
    """The operator's views, as the API names them."""

    PSEUDO = "pseudo"
    ORGANIC = "organic"
    INORGANIC = "inorganic"
    HIGH_PENETRATION = "high_penetration"
    EDGE = "edge"
    NEGATIVE = "negative"
    VARIABLE_DENSITY = "variable_density"
    GREY = "grey"


# API name -> the xray library's name of the view
_LIBRARY_VIEW = {
    View.PSEUDO: "colour",
    View.ORGANIC: "organic",
    View.INORGANIC: "inorganic",
    View.HIGH_PENETRATION: "high_penetration",
    View.EDGE: "edges",
    View.NEGATIVE: "negative",
    View.VARIABLE_DENSITY: "density",
    View.GREY: "grey",
}
# A colour composite has lost the two energies, so only views of its colours can be drawn.
COLOUR_VIEWS = frozenset({View.PSEUDO, View.EDGE, View.NEGATIVE})


def _finite(value: float) -> float | None:
    # JSON (and PostgreSQL's jsonb) has no infinity or NaN.
    return round(float(value), 4) if math.isfinite(value) else None


def region_json(region: Region) -> dict[str, Any]:
    return {
        "cls": region.cls,
        "score": float(region.score),
        "reason": region.reason,
        "bbox": [int(v) for v in region.bbox],
        "area_cm2": _finite(region.area_cm2),
        "features": {k: _finite(v) for k, v in region.features.items()},
    }


def regions(decoded: Decoded) -> list[Region]:
    if decoded.kind == "pair":
        assert decoded.high is not None and decoded.low is not None
        return analyze(decoded.high, decoded.low, SCANNER)
    assert decoded.rgb is not None
    return analyze_colour(decoded.rgb, SCANNER.pixel_cm)


def check_view(kind: str, view: View) -> None:
    if kind == "colour" and view not in COLOUR_VIEWS:
        raise ServiceError(
            f"the {view.value} view needs a high/low pair; this scan is a colour composite "
            f"(views: {', '.join(sorted(v.value for v in COLOUR_VIEWS))})",
            "name",
        )


def render(decoded: Decoded, view: View = View.PSEUDO, level: float = 0.5) -> bytes:
    """A view of the scan as PNG bytes."""
    check_view(decoded.kind, view)
    if decoded.kind == "colour":
        assert decoded.rgb is not None
        rgb: np.ndarray = decoded.rgb
        if view == View.EDGE:
            rgb = imaging.edge_enhanced(rgb)
        elif view == View.NEGATIVE:
            rgb = imaging.negative(rgb)
        return imaging.to_png(rgb)
    assert decoded.high is not None and decoded.low is not None
    if not 0.0 <= level <= 1.0:
        raise ServiceError("must be between 0 and 1", "level")
    array = imaging.render(decoded.high, decoded.low, _LIBRARY_VIEW[view], level, SCANNER)
    return imaging.to_png(array)
