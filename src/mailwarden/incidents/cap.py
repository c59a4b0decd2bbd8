"""OASIS Common Alerting Protocol 1.2: building alerts, checking them against the OASIS schema,
and reading received ones safely.

Everything here is pure (no database): the services put it to work. Received XML is parsed with
entities never resolved, nothing loaded from the network or the disk, no document type
declaration accepted at all (a CAP message has no use for one) and a size limit, so an XML
external-entity attack such as ``tests/incidents/data/cap/xee.cap`` is refused before any of its
text is read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Literal

from lxml import etree

NS = "urn:oasis:names:tc:emergency:cap:1.2"
NS_1_1 = "urn:oasis:names:tc:emergency:cap:1.1"
# A received message larger than this is refused unread; real alerts are a few kilobytes.
MAX_BYTES = 256 * 1024
# The geocode by which an alert names a mailwarden site (its code): what the project writes in
# its own alerts, and the first thing it looks for in a received one.
SITE_GEOCODE = "mailwarden:site"

Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
MsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]
SiteMessageKind = Literal["evacuate", "shelter", "avoid", "all_clear"]

# CAP forbids whitespace, commas and the XML-reserved characters in identifiers and senders,
# because ``references`` lists them separated by commas and spaces.
_TOKEN = re.compile(r"[^\s,<&]+")


class CapError(ValueError):
    """A message that is not acceptable CAP 1.2; ``reason`` says why, naming the element."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large


# ----------------------------------------------------------------------------- producing


@dataclass(frozen=True)
class Area:
    description: str
    # (valueName, value) pairs, e.g. ("mailwarden:site", "hq").
    geocodes: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class Info:
    event: str
    urgency: Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
    severity: Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
    certainty: Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
    headline: str
    description: str
    instruction: str = ""
    categories: Sequence[str] = ("Security",)
    response_types: Sequence[str] = ()
    sender_name: str = ""
    language: str = "en-GB"
    areas: Sequence[Area] = ()


@dataclass(frozen=True)
class Alert:
    identifier: str
    sender: str
    sent: datetime
    info: Info
    status: Status = "Actual"
    msg_type: MsgType = "Alert"
    scope: Literal["Public", "Restricted", "Private"] = "Public"
    note: str = ""
    # Earlier alerts this one updates or cancels, each as (sender, identifier, sent).
    references: Sequence[tuple[str, str, datetime]] = field(default_factory=tuple)


def cap_time(moment: datetime) -> str:
    """A CAP date-time: seconds, and the offset written out (the schema refuses ``Z``)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a CAP time needs its offset from UTC")
    return moment.replace(microsecond=0).isoformat()


def _token(value: str, name: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError(f"{name} must be one word: no spaces, commas, '<' or '&'")
    return value


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{NS}}}{name}")
    if text is not None:
        child.text = text
    return child


def build_alert(alert: Alert) -> bytes:
    """The alert as CAP 1.2 XML (UTF-8, with its declaration), in the schema's element order."""
    root = etree.Element(f"{{{NS}}}alert", nsmap={None: NS})
    _sub(root, "identifier", _token(alert.identifier, "identifier"))
    _sub(root, "sender", _token(alert.sender, "sender"))
    _sub(root, "sent", cap_time(alert.sent))
    _sub(root, "status", alert.status)
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "scope", alert.scope)
    if alert.note:
        _sub(root, "note", alert.note)
    if alert.references:
        _sub(
            root,
            "references",
            " ".join(
                f"{_token(s, 'a reference sender')},{_token(i, 'a reference identifier')},"
                f"{cap_time(t)}"
                for s, i, t in alert.references
            ),
        )
    info = alert.info
    element = _sub(root, "info")
    _sub(element, "language", info.language)
    for category in info.categories:
        _sub(element, "category", category)
    _sub(element, "event", info.event)
    for response in info.response_types:
        _sub(element, "responseType", response)
    _sub(element, "urgency", info.urgency)
    _sub(element, "severity", info.severity)
    _sub(element, "certainty", info.certainty)
    if info.sender_name:
        _sub(element, "senderName", info.sender_name)
    _sub(element, "headline", info.headline)
    _sub(element, "description", info.description)
    if info.instruction:
        _sub(element, "instruction", info.instruction)
    for area in info.areas:
        area_element = _sub(element, "area")
        _sub(area_element, "areaDesc", area.description)
        for name, value in area.geocodes:
            geocode = _sub(area_element, "geocode")
            _sub(geocode, "valueName", name)
            _sub(geocode, "value", value)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


@dataclass(frozen=True)
class _KindProfile:
    event: str
    response: str
    urgency: Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
    severity: Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
    certainty: Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]


# An evacuation or shelter order is acted on now for a danger judged likely; avoiding an area is
# expected to matter soon and less gravely; the all clear reports something over.
KIND_PROFILES: dict[str, _KindProfile] = {
    "evacuate": _KindProfile("Site evacuation", "Evacuate", "Immediate", "Severe", "Likely"),
    "shelter": _KindProfile("Shelter in place", "Shelter", "Immediate", "Severe", "Likely"),
    "avoid": _KindProfile("Avoid the area", "Avoid", "Expected", "Moderate", "Likely"),
    "all_clear": _KindProfile("All clear", "AllClear", "Past", "Minor", "Observed"),
}


def cap_for_site_message(
    site_name: str,
    kind: SiteMessageKind,
    headline: str,
    text: str,
    identifier: str,
    sent: datetime,
    exercise: bool,
    references: Sequence[tuple[str, str, datetime]] = (),
    *,
    sender: str = "mailwarden@localhost",
    site_code: str = "",
    site_address: str = "",
    instruction: str = "",
) -> bytes:
    """A site-wide message (evacuate, shelter in place, avoid the area, all clear) as a CAP 1.2
    alert. An exercise's message has status Exercise; a message that follows earlier ones
    (``references``, e.g. the all clear after an evacuation) is an Update of them.

    The area is the site: its name (and address) as areaDesc, and its code as the
    ``mailwarden:site`` geocode, which is how a receiving mailwarden matches it to its site.
    """
    profile = KIND_PROFILES.get(kind)
    if profile is None:
        raise ValueError(f"kind must be one of {', '.join(KIND_PROFILES)}")
    area_desc = f"{site_name}, {site_address}" if site_address.strip() else site_name
    area_desc = " ".join(area_desc.split())
    geocodes = ((SITE_GEOCODE, site_code),) if site_code else ()
    alert = Alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status="Exercise" if exercise else "Actual",
        msg_type="Update" if references else "Alert",
        note="EXERCISE EXERCISE EXERCISE" if exercise else "",
        references=tuple(references),
        info=Info(
            event=profile.event,
            urgency=profile.urgency,
            severity=profile.severity,
            certainty=profile.certainty,
            response_types=(profile.response,),
            headline=(f"EXERCISE: {headline}" if exercise else headline)[:160],
            description=text,
            instruction=instruction or text,
            sender_name="mailwarden",
            areas=(Area(area_desc, geocodes),),
        ),
    )
    return build_alert(alert)


# ----------------------------------------------------------------------------- checking


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    xsd = resources.files("mailwarden.incidents").joinpath("data/cap12.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd, _parser()))


def _parser() -> etree.XMLParser:
    # No entity is ever expanded, no DTD loaded, nothing fetched, no oversized tree built.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


def schema_errors(document: etree._Element | etree._ElementTree) -> list[str]:
    """What the OASIS CAP 1.2 schema finds wrong with a parsed document (empty: valid)."""
    schema = _schema()
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def validate(xml: bytes) -> list[str]:
    """Check CAP XML against the OASIS CAP 1.2 schema; the schema's messages name the element."""
    try:
        return schema_errors(parse(xml))
    except CapError as exc:
        return [exc.reason]


def parse(xml: bytes) -> etree._ElementTree:
    """Parse received CAP safely: size-limited, no DTD, no entities, no network."""
    if len(xml) > MAX_BYTES:
        raise CapError(f"the message is {len(xml)} bytes; the limit is {MAX_BYTES}", too_large=True)
    if not xml.strip():
        raise CapError("the message is empty")
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        raise CapError(f"not well-formed XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise CapError(
            "a document type declaration (DOCTYPE) is not accepted in a CAP message; "
            "its entities are never resolved"
        )
    # An entity declared elsewhere and referenced would stay an unexpanded node: refuse it too.
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise CapError("entity references are not accepted in a CAP message")
    namespace = etree.QName(root).namespace
    if namespace == NS_1_1:
        raise CapError(f"this is CAP 1.1 ({NS_1_1}); only CAP 1.2 ({NS}) is accepted")
    if namespace != NS or etree.QName(root).localname != "alert":
        raise CapError(f"the root element must be alert in the CAP 1.2 namespace {NS}")
    return tree


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ReceivedArea:
    description: str
    geocodes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Received:
    """What the services need of a received, valid CAP 1.2 alert."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: tuple[tuple[str, str], ...]
    event: str
    headline: str
    description: str
    severity: str
    urgency: str
    certainty: str
    areas: tuple[ReceivedArea, ...]
    xml: str


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def read(xml: bytes) -> Received:
    """Parse and validate a received alert; a CapError names what is wrong."""
    tree = parse(xml)
    errors = schema_errors(tree)
    if errors:
        raise CapError(f"not valid CAP 1.2: {errors[0]}")
    root = tree.getroot()
    ns = {"c": NS}

    def one(path: str, within: etree._Element = root) -> str:
        return _text(within.find(path, ns))

    infos = root.findall("c:info", ns)
    first = infos[0] if infos else None
    areas: list[ReceivedArea] = []
    for info in infos:
        for area in info.findall("c:area", ns):
            geocodes = tuple(
                (one("c:valueName", g), one("c:value", g)) for g in area.findall("c:geocode", ns)
            )
            areas.append(ReceivedArea(one("c:areaDesc", area), geocodes))
    references: list[tuple[str, str]] = []
    for triple in one("c:references").split():
        parts = triple.split(",")
        if len(parts) >= 2:
            references.append((parts[0], parts[1]))
    return Received(
        identifier=one("c:identifier"),
        sender=one("c:sender"),
        sent=datetime.fromisoformat(one("c:sent")),
        status=one("c:status"),
        msg_type=one("c:msgType"),
        scope=one("c:scope"),
        references=tuple(references),
        event=one("c:event", first) if first is not None else "",
        headline=one("c:headline", first) if first is not None else "",
        description=one("c:description", first) if first is not None else "",
        severity=one("c:severity", first) if first is not None else "",
        urgency=one("c:urgency", first) if first is not None else "",
        certainty=one("c:certainty", first) if first is not None else "",
        areas=tuple(areas),
        xml=etree.tostring(root, encoding="unicode"),
    )
