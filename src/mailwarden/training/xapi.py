"""Course completions as xAPI (Experience API 1.0.3) statements, for a learning record store.

One statement per certificate: the holder *passed* the course (or *completed* it, for stores
that only count completion), with the score. Its id is a UUID5 of the certificate's code, so
exporting twice gives the same statements and a store that already has one ignores it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from mailwarden.training.models import Certificate

VERBS = {
    "passed": "http://adlnet.gov/expapi/verbs/passed",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
}
COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"
VERSION = "1.0.3"
# Fixed for ever: statement ids are derived from it.
NAMESPACE = uuid.UUID("6f1c8a2e-3b7d-5e90-a4c1-9d2b7e0f4a11")


def statement_id(certificate: Certificate, verb: str = "passed") -> str:
    name = certificate.code if verb == "passed" else f"{certificate.code}:{verb}"
    return str(uuid.uuid5(NAMESPACE, name))


def _actor(certificate: Certificate, base_url: str) -> dict[str, Any]:
    user = certificate.user
    actor: dict[str, Any] = {"objectType": "Agent", "name": certificate.holder_name}
    if user.email:
        actor["mbox"] = f"mailto:{user.email}"
    else:
        actor["account"] = {"homePage": base_url, "name": user.get_username()}
    return actor


def statement(certificate: Certificate, base_url: str, verb: str = "passed") -> dict[str, Any]:
    if verb not in VERBS:
        raise ValueError(f"verb must be one of {', '.join(VERBS)}")
    base = base_url.rstrip("/")
    course = certificate.course
    return {
        "id": statement_id(certificate, verb),
        "version": VERSION,
        "actor": _actor(certificate, base),
        "verb": {"id": VERBS[verb], "display": {"en-US": verb}},
        "object": {
            "objectType": "Activity",
            "id": f"{base}/training/courses/{course.slug}/",
            "definition": {
                "type": COURSE_TYPE,
                "name": {"en-US": course.title},
                "description": {"en-US": course.summary or course.title},
            },
        },
        "result": {
            "score": {
                "scaled": round(certificate.score / 100, 4),
                "raw": certificate.score,
                "min": 0,
                "max": 100,
            },
            "success": True,
            "completion": True,
        },
        "context": {
            "platform": "mailwarden",
            "extensions": {f"{base}/training/xapi/certificate": certificate.code},
        },
        "timestamp": certificate.issued_at.isoformat(),
    }


def statements(
    certificates: Iterable[Certificate], base_url: str, verb: str = "passed"
) -> Iterator[dict[str, Any]]:
    for certificate in certificates:
        yield statement(certificate, base_url, verb)


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _iri(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"^[a-z][a-z0-9+.-]*:", value) is not None


def problems(stmt: dict[str, Any]) -> list[str]:
    """What makes a statement invalid by the xAPI 1.0.3 rules this exporter relies on; [] for a
    valid one. A check, not a full validator: it is how the tests hold the shape to the spec."""
    found: list[str] = []
    if not isinstance(stmt.get("id"), str) or not _UUID.match(stmt["id"]):
        found.append("id: must be a UUID")
    actor = stmt.get("actor") or {}
    ifis = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in actor]
    if len(ifis) != 1:
        found.append("actor: needs exactly one identifier (mbox, account, ...)")
    if "mbox" in actor and not str(actor["mbox"]).startswith("mailto:"):
        found.append("actor.mbox: must be a mailto: IRI")
    if "account" in actor:
        account = actor["account"]
        if not _iri(account.get("homePage")) or not account.get("name"):
            found.append("actor.account: needs homePage (an IRL) and name")
    verb = stmt.get("verb") or {}
    if not _iri(verb.get("id")):
        found.append("verb.id: must be an IRI")
    obj = stmt.get("object") or {}
    if obj.get("objectType", "Activity") != "Activity" or not _iri(obj.get("id")):
        found.append("object: must be an Activity with an IRI id")
    result = stmt.get("result")
    if result is not None:
        score = result.get("score") or {}
        scaled = score.get("scaled")
        if scaled is not None and not -1 <= scaled <= 1:
            found.append("result.score.scaled: must be from -1 to 1")
        raw, low, high = score.get("raw"), score.get("min"), score.get("max")
        if raw is not None and low is not None and high is not None and not low <= raw <= high:
            found.append("result.score.raw: must lie between min and max")
        if "success" in result and not isinstance(result["success"], bool):
            found.append("result.success: must be true or false")
    if not isinstance(stmt.get("timestamp"), str) or not _ISO.match(stmt["timestamp"]):
        found.append("timestamp: must be an ISO 8601 time with its offset")
    return found
