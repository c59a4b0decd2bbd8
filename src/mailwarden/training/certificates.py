"""A certificate as a printable A4 PDF (WeasyPrint), with its verification code, the public
address where anyone can check it, and that address as a QR code."""

from __future__ import annotations

from typing import Any, NoReturn

import segno
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from mailwarden.config import get_settings
from mailwarden.core import clock
from mailwarden.training.models import Certificate


def verify_url(code: str) -> str:
    return get_settings().base_url.rstrip("/") + reverse("training:verify", args=[code])


def status_of(certificate: Certificate) -> str:
    """valid, expired or revoked, as of now."""
    if certificate.revoked_at is not None:
        return "revoked"
    return "valid" if certificate.expires_at > clock.now() else "expired"


def certificate_html(certificate: Certificate) -> str:
    url = verify_url(certificate.code)
    qr = segno.make(url, error="m").svg_inline(scale=3, border=1)
    return render_to_string(
        "training/courses_certificate_pdf.html",
        {
            "certificate": certificate,
            "url": url,
            "qr": mark_safe(qr),
            "status": status_of(certificate),
        },
    )


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise ValueError(f"a certificate fetches nothing ({url})")


def certificate_pdf(certificate: Certificate) -> bytes:
    import weasyprint  # heavy (Pango); loaded only when a PDF is asked for

    fetcher_class = getattr(weasyprint, "URLFetcher", None)
    fetcher = fetcher_class(allowed_protocols=()) if fetcher_class else _refuse_fetch
    pdf = weasyprint.HTML(string=certificate_html(certificate), url_fetcher=fetcher).write_pdf()
    if not isinstance(pdf, bytes):
        raise RuntimeError("WeasyPrint returned no PDF bytes for a certificate")
    return pdf
