"""The Content-Security-Policy stays strict, and htmx is set up to live within it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mailwarden.core.roles import Role

CSS = Path(__file__).resolve().parents[2] / "src/mailwarden/core/static/core/console.css"


def test_pages_refuse_inline_styles_and_scripts(as_role):
    response = as_role(Role.CLERK).get("/intake/")
    policy = response["Content-Security-Policy"]
    assert "style-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_htmx_injects_no_style_and_its_indicator_is_in_our_stylesheet(as_role):
    page = as_role(Role.CLERK).get("/intake/").content.decode()
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page)
    assert meta is not None
    assert json.loads(meta.group(1))["includeIndicatorStyles"] is False
    assert "<style" not in page and " style=" not in page
    assert ".htmx-request .htmx-indicator" in CSS.read_text()
