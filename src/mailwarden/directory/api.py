"""The directory's API: sites, their locations, departments and the people mail is for."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from mailwarden.core.api import (
    ERRORS,
    ErrorOut,
    FieldErrorOut,
    actor_of,
    allow,
    upload_bytes,
)
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import MANAGE_DIRECTORY, MANAGE_SECURITY, VIEW_ITEMS
from mailwarden.directory import queries, retention, services
from mailwarden.directory.csv_import import CsvImportError, decode_csv
from mailwarden.directory.models import Department, Location, LocationKind, Recipient, Site
from mailwarden.directory.schemas import (
    DepartmentOut,
    ImportOut,
    LocationIn,
    LocationOut,
    RecipientFilters,
    RecipientId,
    RecipientIn,
    RecipientOut,
    RecipientUpdate,
    RetentionIn,
    RetentionOut,
    SiteCode,
    SiteIn,
    SiteOut,
    SiteUpdate,
    recipient_out,
)

router = Router(tags=["directory"])


def site_out(site: Site) -> SiteOut:
    return SiteOut(code=site.code, name=site.name, timezone=site.timezone, address=site.address)


# ----------------------------------------------------------------------------- sites


@router.get("/sites", response={200: list[SiteOut], **ERRORS}, summary="List sites")
@allow(VIEW_ITEMS, "listing sites")
def list_sites(request: HttpRequest) -> list[SiteOut]:
    require(actor_of(request), VIEW_ITEMS, "listing sites")
    return [site_out(s) for s in Site.objects.order_by("code")]


@router.post("/sites", response={201: SiteOut, **ERRORS}, summary="Create a site")
@allow(MANAGE_DIRECTORY, "creating a site")
def create_site(request: HttpRequest, payload: SiteIn) -> Status[SiteOut]:
    site = services.create_site(
        actor_of(request),
        code=payload.code,
        name=payload.name,
        timezone=payload.timezone,
        address=payload.address,
    )
    return Status(201, site_out(site))


@router.put("/sites/{code}", response={200: SiteOut, **ERRORS}, summary="Change a site")
@allow(MANAGE_DIRECTORY, "changing a site")
def update_site(request: HttpRequest, payload: SiteUpdate, code: Path[SiteCode]) -> SiteOut:
    site = services.update_site(
        actor_of(request),
        code,
        name=payload.name,
        timezone=payload.timezone,
        address=payload.address,
    )
    return site_out(site)


def _retention_out(rules: retention.Rules) -> RetentionOut:
    return RetentionOut(
        site=rules.site,
        media_days=rules.media_days,
        access_event_months=rules.access_event_months,
        departed_person_days=rules.departed_person_days,
        own=rules.own,
    )


@router.get(
    "/sites/{code}/retention",
    response={200: RetentionOut, **ERRORS},
    summary="A site's retention rules (its own, or the defaults)",
)
@allow(VIEW_ITEMS, "reading retention rules")
def get_retention(request: HttpRequest, code: Path[SiteCode]) -> RetentionOut:
    return _retention_out(retention.rules_for(code))


@router.put(
    "/sites/{code}/retention",
    response={200: RetentionOut, **ERRORS},
    summary="Give a site its own retention rules",
)
@allow(MANAGE_SECURITY, "changing retention rules")
def set_retention(request: HttpRequest, payload: RetentionIn, code: Path[SiteCode]) -> RetentionOut:
    rules = retention.set_site_retention(
        actor_of(request),
        code,
        media_days=payload.media_days,
        access_event_months=payload.access_event_months,
        departed_person_days=payload.departed_person_days,
    )
    return _retention_out(rules)


@router.get(
    "/sites/{code}/locations",
    response={200: list[LocationOut], **ERRORS},
    summary="List a site's locations",
)
@allow(VIEW_ITEMS, "listing locations")
def list_locations(request: HttpRequest, code: Path[SiteCode]) -> list[LocationOut]:
    require(actor_of(request), VIEW_ITEMS, "listing locations")
    site = queries.site_by_code(code, field="code")
    return [
        LocationOut(code=loc.code, name=loc.name, kind=LocationKind(loc.kind))
        for loc in Location.objects.filter(site=site).order_by("code")
    ]


@router.post(
    "/sites/{code}/locations",
    response={201: LocationOut, **ERRORS},
    summary="Add a location to a site",
)
@allow(MANAGE_DIRECTORY, "creating a location")
def create_location(
    request: HttpRequest, payload: LocationIn, code: Path[SiteCode]
) -> Status[LocationOut]:
    loc = services.create_location(
        actor_of(request),
        site_code=code,
        code=payload.code,
        name=payload.name,
        kind=payload.kind.value,
    )
    return Status(201, LocationOut(code=loc.code, name=loc.name, kind=LocationKind(loc.kind)))


# ----------------------------------------------------------------------------- recipients


@router.get("/recipients", response={200: list[RecipientOut], **ERRORS}, summary="List recipients")
@allow(VIEW_ITEMS, "listing recipients")
def list_recipients(request: HttpRequest, filters: Query[RecipientFilters]) -> list[RecipientOut]:
    require(actor_of(request), VIEW_ITEMS, "listing recipients")
    site = queries.site_by_code(filters.site) if filters.site else None
    people = queries.people_matching(filters.q, site=site)
    page = people[filters.offset : filters.offset + filters.limit]
    return [recipient_out(r) for r in page]


@router.post("/recipients", response={201: RecipientOut, **ERRORS}, summary="Add a recipient")
@allow(MANAGE_DIRECTORY, "adding a recipient")
def create_recipient(request: HttpRequest, payload: RecipientIn) -> Status[RecipientOut]:
    recipient = services.create_recipient(
        actor_of(request), services.RecipientData(**payload.model_dump())
    )
    return Status(201, recipient_out(recipient))


@router.put(
    "/recipients/{int:recipient_id}",
    response={200: RecipientOut, **ERRORS},
    summary="Change a recipient (their site among the rest)",
)
@allow(MANAGE_DIRECTORY, "changing a recipient")
def update_recipient(
    request: HttpRequest, recipient_id: Path[RecipientId], payload: RecipientUpdate
) -> RecipientOut:
    employee_id = (
        Recipient.objects.filter(pk=recipient_id).values_list("employee_id", flat=True).first()
    )
    if employee_id is None:
        raise NotFound(f"no recipient {recipient_id}", "recipient_id")
    recipient = services.update_recipient(
        actor_of(request),
        employee_id,
        services.RecipientData(employee_id=employee_id, **payload.model_dump()),
    )
    return recipient_out(recipient)


_CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


def _csv_bytes(request: HttpRequest) -> bytes:
    if request.content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise ServiceError("upload the CSV as the form field 'file'", "file")
        return upload_bytes(upload, "file")
    if request.content_type in ("text/csv", "text/plain"):
        return request.body
    raise ServiceError("send the CSV as a text/csv body or a multipart upload", "file")


@router.post(
    "/recipients/import",
    response={200: ImportOut, **ERRORS},
    summary="Import recipients from CSV (all rows or none)",
    openapi_extra=_CSV_BODY,
)
@allow(MANAGE_DIRECTORY, "importing recipients")
def import_recipients(request: HttpRequest) -> ImportOut | Status[ErrorOut]:
    data = _csv_bytes(request)
    try:
        result = services.import_recipients(actor_of(request), decode_csv(data))
    except CsvImportError as exc:
        first = exc.errors[0]
        return Status(
            400,
            ErrorOut(
                message=str(exc),
                field=first.field,
                errors=[
                    FieldErrorOut(line=e.line, field=e.field, message=e.reason) for e in exc.errors
                ],
            ),
        )
    return ImportOut(created=result.created, updated=result.updated)


@router.get(
    "/departments", response={200: list[DepartmentOut], **ERRORS}, summary="List departments"
)
@allow(VIEW_ITEMS, "listing departments")
def list_departments(request: HttpRequest) -> list[DepartmentOut]:
    require(actor_of(request), VIEW_ITEMS, "listing departments")
    rows = Department.objects.annotate(n=Count("members")).order_by("name")
    return [DepartmentOut(id=d.pk, name=d.name, members=d.n) for d in rows]
