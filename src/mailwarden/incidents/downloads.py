"""How an evidence file leaves the server, the same from the API and the console."""

from __future__ import annotations

from django.http import HttpResponse

from mailwarden.incidents.models import IncidentEvidence


def evidence_response(evidence: IncidentEvidence, data: bytes) -> HttpResponse:
    """Always a download, never shown inline: a file kept as evidence may be anything, an HTML
    page included, and must not run in the console's origin."""
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{evidence.name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Digest"] = f"sha-256={evidence.sha256}"
    return response
