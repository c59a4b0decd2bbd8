"""How files leave the server (evidence, a site message's CAP alert), the same from the API and
the console."""

from __future__ import annotations

from django.http import HttpResponse

from mailwarden.incidents.models import Broadcast, IncidentEvidence
from mailwarden.incidents.services.broadcasts import cap_alert


def evidence_response(evidence: IncidentEvidence, data: bytes) -> HttpResponse:
    """Always a download, never shown inline: a file kept as evidence may be anything, an HTML
    page included, and must not run in the console's origin."""
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{evidence.name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Digest"] = f"sha-256={evidence.sha256}"
    return response


def cap_response(broadcast: Broadcast, *, attachment: bool) -> HttpResponse:
    """A site message's CAP 1.2 alert as XML; the console offers it as a download."""
    response = HttpResponse(cap_alert(broadcast), content_type="application/xml; charset=utf-8")
    how = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{how}; filename="cap-broadcast-{broadcast.pk}.xml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
