"""Access API: the edge controllers' sync operations, and the configuration, log, alarms and
reports for people.

Every change goes through :mod:`mailwarden.access.services`, which checks the caller's role;
reads check it here. An edge controller's device token reaches only ``GET /access/rules`` and
``POST /access/events`` (:func:`controller_scope`, declared on AccessConfig); nothing else
here accepts a device.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status

from mailwarden.access import queries, services
from mailwarden.access.models import (
    AccessAlarm,
    AccessController,
    AccessLevel,
    Cardholder,
    Credential,
    Door,
    Schedule,
)
from mailwarden.access.schemas import (
    AccessEventOut,
    AcknowledgeIn,
    AlarmOut,
    AlarmQuery,
    AreaIn,
    AreaOut,
    CardholderIn,
    CardholderOut,
    CardholderQuery,
    CardholderUpdate,
    Code,
    ControllerIn,
    ControllerOut,
    CredentialIn,
    CredentialLevelsIn,
    CredentialOut,
    CredentialQuery,
    DbId,
    DoorIn,
    DoorModeIn,
    DoorOut,
    DoorRulesIn,
    EnrolmentOut,
    EntryOut,
    EventBatchIn,
    EventBatchOut,
    HolidayIn,
    HolidayOut,
    LevelDoorsIn,
    LevelIn,
    LevelOut,
    LiftIn,
    LockdownIn,
    LogQuery,
    ReaderIn,
    ReaderOut,
    RejectedOut,
    RekeyIn,
    RevokeIn,
    RulesOut,
    RulesQuery,
    ScheduleIn,
    ScheduleOut,
    ScheduleTimesIn,
    SiteRulesOut,
    WhoEnteredQuery,
    alarm_out,
    cardholder_out,
    controller_out,
    credential_out,
    door_out,
    entry_out,
    event_out,
    level_out,
    reader_out,
    schedule_out,
)
from mailwarden.core.actor import Actor
from mailwarden.core.api import ERRORS, IsoDate, actor_of, allow, devices_only
from mailwarden.core.errors import Forbidden, NotFound
from mailwarden.core.permissions import require
from mailwarden.directory.models import Site
from mailwarden.directory.schemas import SiteCode

router = Router(tags=["access"])

RULES, EVENTS = "access_rules", "access_events"
DEVICE_OPERATIONS = frozenset({RULES, EVENTS})


def controller_scope(device: str) -> frozenset[str] | None:
    """The operations a controller's token may call; None for a device that is no controller."""
    exists = AccessController.objects.filter(name=device).exists()
    return DEVICE_OPERATIONS if exists else None


def _site(code: str, field: str = "code") -> Site:
    """The site a path names: an unknown one is refused naming the path's ``code``."""
    return queries.site_named(code, field)


# ----------------------------------------------------------------------------- device sync


def _device_controller(request: HttpRequest) -> tuple[Actor, AccessController]:
    actor = actor_of(request)
    if actor.kind != "device":
        raise Forbidden("only an edge controller's device token may call this", "Authorization")
    controller = AccessController.objects.select_related("site").filter(name=actor.name).first()
    if controller is None:
        raise Forbidden(f"device {actor.name!r} is not an enrolled controller", "Authorization")
    return actor, controller


@router.get(
    "/access/rules",
    response={200: RulesOut, **ERRORS},
    url_name=RULES,
    summary="Edge: fetch the controller's signed rules (a snapshot, or a delta from since)",
)
@devices_only("syncing a controller's rules")
def sync_rules(request: HttpRequest, filters: Query[RulesQuery]) -> HttpResponse:
    actor, controller = _device_controller(request)
    answer = services.sync.sync_rules(actor, controller.name, filters.since)
    if answer.document is None:
        body = b'{"up_to_date":true,"version":%d}' % answer.version
    else:
        # The signed bytes go out as they are: re-encoding a large snapshot would cost time
        # and could only risk the signature.
        body = b'{"up_to_date":false,"version":%d,"document":%s}' % (
            answer.version,
            answer.document,
        )
    return HttpResponse(body, content_type="application/json")


@router.post(
    "/access/events",
    response={200: EventBatchOut, **ERRORS},
    url_name=EVENTS,
    summary="Edge: deliver outbox events; each is applied once, whatever how often it is sent",
)
@devices_only("delivering access events")
def deliver_events(request: HttpRequest, payload: EventBatchIn) -> EventBatchOut:
    actor, controller = _device_controller(request)
    result = services.ingest.ingest_events(actor, controller.name, payload.events)
    return EventBatchOut(
        applied=result.applied,
        duplicates=result.duplicates,
        rejected=[RejectedOut(key=k, reason=r) for k, r in result.rejected],
    )


# ----------------------------------------------------------------------------- controllers


@router.get(
    "/access/controllers",
    response={200: list[ControllerOut], **ERRORS},
    summary="List edge controllers",
)
@allow(services.VIEW_ACCESS, "listing controllers")
def list_controllers(request: HttpRequest) -> list[ControllerOut]:
    require(actor_of(request), services.VIEW_ACCESS, "listing controllers")
    controllers = AccessController.objects.select_related("site").prefetch_related("readers")
    return [controller_out(c) for c in controllers.order_by("name")]


@router.post(
    "/access/controllers",
    response={201: EnrolmentOut, **ERRORS},
    summary="Enrol an edge controller (its token and sync secret are shown once)",
)
@allow(services.ENROL_CONTROLLERS, "enrolling an access controller")
def create_controller(request: HttpRequest, payload: ControllerIn) -> Status[EnrolmentOut]:
    enrolment = services.doors.create_controller(
        actor_of(request),
        name=payload.name,
        site=payload.site,
        fail_mode=payload.fail_mode.value,
        offline_after_s=payload.offline_after_s,
    )
    return Status(201, _enrolment_out(enrolment))


@router.post(
    "/access/controllers/{name}/rekey",
    response={200: EnrolmentOut, **ERRORS},
    summary="Replace an edge controller's token and sync secret (the old ones stop working)",
)
@allow(services.ENROL_CONTROLLERS, "re-keying an access controller")
def rekey_controller(request: HttpRequest, payload: RekeyIn, name: Path[Code]) -> EnrolmentOut:
    enrolment = services.doors.rekey_controller(actor_of(request), name, reason=payload.reason)
    return _enrolment_out(enrolment)


def _enrolment_out(enrolment: services.doors.Enrolment) -> EnrolmentOut:
    out = controller_out(enrolment.controller).model_dump()
    return EnrolmentOut(**out, token=enrolment.token, sync_secret=enrolment.sync_secret)


# ----------------------------------------------------------------------------- schedules


@router.get(
    "/access/sites/{code}/schedules",
    response={200: list[ScheduleOut], **ERRORS},
    summary="List a site's access schedules",
)
@allow(services.VIEW_ACCESS, "listing schedules")
def list_schedules(request: HttpRequest, code: Path[SiteCode]) -> list[ScheduleOut]:
    require(actor_of(request), services.VIEW_ACCESS, "listing schedules")
    return [schedule_out(s) for s in Schedule.objects.filter(site=_site(code)).order_by("name")]


@router.post(
    "/access/sites/{code}/schedules",
    response={201: ScheduleOut, **ERRORS},
    summary="Create a weekly schedule (site time)",
)
@allow(services.MANAGE_ACCESS, "creating a schedule")
def create_schedule(
    request: HttpRequest, payload: ScheduleIn, code: Path[SiteCode]
) -> Status[ScheduleOut]:
    schedule = services.levels.create_schedule(
        actor_of(request),
        site=_site(code).code,
        name=payload.name,
        windows=[w.model_dump() for w in payload.windows],
        holiday_windows=[w.model_dump() for w in payload.holiday_windows],
    )
    return Status(201, schedule_out(schedule))


@router.put(
    "/access/sites/{code}/schedules/{schedule_id}",
    response={200: ScheduleOut, **ERRORS},
    summary="Replace a schedule's weekly and holiday windows",
)
@allow(services.MANAGE_ACCESS, "changing a schedule")
def update_schedule(
    request: HttpRequest, payload: ScheduleTimesIn, code: Path[SiteCode], schedule_id: Path[DbId]
) -> ScheduleOut:
    actor = actor_of(request)
    # Role first, so a refused caller learns nothing about which sites exist.
    require(actor, services.MANAGE_ACCESS, "changing a schedule")
    schedule = services.levels.update_schedule(
        actor,
        _site(code).code,
        schedule_id,
        windows=[w.model_dump() for w in payload.windows],
        holiday_windows=[w.model_dump() for w in payload.holiday_windows],
    )
    return schedule_out(schedule)


@router.post(
    "/access/sites/{code}/holidays",
    response={201: HolidayOut, **ERRORS},
    summary="Add a site holiday (only holiday windows apply that day)",
)
@allow(services.MANAGE_ACCESS, "adding a holiday")
def add_holiday(
    request: HttpRequest, payload: HolidayIn, code: Path[SiteCode]
) -> Status[HolidayOut]:
    holiday = services.levels.add_holiday(
        actor_of(request), site=_site(code).code, day=payload.date, name=payload.name
    )
    return Status(201, HolidayOut(date=holiday.date, name=holiday.name))


@router.delete(
    "/access/sites/{code}/holidays/{day}",
    response={204: None, **ERRORS},
    summary="Remove a site holiday",
)
@allow(services.MANAGE_ACCESS, "removing a holiday")
def remove_holiday(request: HttpRequest, code: Path[SiteCode], day: Path[IsoDate]) -> Status[None]:
    actor = actor_of(request)
    require(actor, services.MANAGE_ACCESS, "removing a holiday")
    services.levels.remove_holiday(actor, site=_site(code).code, day=day)
    return Status(204, None)


# ----------------------------------------------------------------------------- areas and doors


@router.post(
    "/access/sites/{code}/areas",
    response={201: AreaOut, **ERRORS},
    summary="Create an anti-passback area",
)
@allow(services.MANAGE_ACCESS, "creating an anti-passback area")
def create_area(request: HttpRequest, payload: AreaIn, code: Path[SiteCode]) -> Status[AreaOut]:
    area = services.doors.create_area(
        actor_of(request),
        site=_site(code).code,
        code=payload.code,
        name=payload.name,
        mode=payload.mode.value,
        reentry_s=payload.reentry_s,
    )
    return Status(
        201, AreaOut(code=area.code, name=area.name, mode=area.mode, reentry_s=area.reentry_s)
    )


def _doors(site: Site) -> list[Door]:
    return list(
        Door.objects.filter(site=site)
        .select_related("location", "area_inside", "area_outside")
        .prefetch_related("first_person_levels", "lockdown_levels", "readers__controller")
        .order_by("code")
    )


@router.get(
    "/access/sites/{code}/doors", response={200: list[DoorOut], **ERRORS}, summary="List doors"
)
@allow(services.VIEW_ACCESS, "listing doors")
def list_doors(request: HttpRequest, code: Path[SiteCode]) -> list[DoorOut]:
    require(actor_of(request), services.VIEW_ACCESS, "listing doors")
    return [door_out(d) for d in _doors(_site(code))]


@router.post(
    "/access/sites/{code}/doors", response={201: DoorOut, **ERRORS}, summary="Create a door"
)
@allow(services.MANAGE_ACCESS, "creating a door")
def create_door(request: HttpRequest, payload: DoorIn, code: Path[SiteCode]) -> Status[DoorOut]:
    door = services.doors.create_door(
        actor_of(request),
        services.doors.DoorData(
            site=_site(code).code,
            code=payload.code,
            name=payload.name,
            location=payload.location,
            mode=payload.mode.value,
            unlock_schedule_id=payload.unlock_schedule_id,
            unlock_s=payload.unlock_s,
            held_open_s=payload.held_open_s,
            fail_mode=payload.fail_mode.value,
            area_outside=payload.area_outside,
            area_inside=payload.area_inside,
        ),
    )
    return Status(201, door_out(door))


@router.post(
    "/access/sites/{code}/door-mode",
    response={200: DoorOut, **ERRORS},
    summary="Set a door's mode: locked, scheduled unlock or lockdown",
)
@allow((*services.MANAGE_ACCESS, *services.LOCKDOWN), "changing a door's mode")
def set_door_mode(request: HttpRequest, payload: DoorModeIn, code: Path[SiteCode]) -> DoorOut:
    door = services.doors.set_door_mode(
        actor_of(request),
        _site(code).code,
        payload.door,
        payload.mode.value,
        unlock_schedule_id=payload.unlock_schedule_id,
    )
    return door_out(door)


@router.post(
    "/access/sites/{code}/door-rules",
    response={200: DoorOut, **ERRORS},
    summary="Set a door's two-person, first-person-in and lockdown-override rules",
)
@allow(services.MANAGE_ACCESS, "changing a door's rules")
def set_door_rules(request: HttpRequest, payload: DoorRulesIn, code: Path[SiteCode]) -> DoorOut:
    door = services.doors.set_door_rules(
        actor_of(request),
        _site(code).code,
        payload.door,
        two_person_window_s=payload.two_person_window_s,
        first_person_level_ids=payload.first_person_level_ids,
        first_person_others_wait=payload.first_person_others_wait,
        lockdown_level_ids=payload.lockdown_level_ids,
    )
    return door_out(door)


@router.post("/access/readers", response={201: ReaderOut, **ERRORS}, summary="Add a reader")
@allow(services.MANAGE_ACCESS, "adding a reader")
def create_reader(request: HttpRequest, payload: ReaderIn) -> Status[ReaderOut]:
    reader = services.doors.create_reader(
        actor_of(request),
        controller=payload.controller,
        door=payload.door,
        code=payload.code,
        name=payload.name,
        osdp_address=payload.osdp_address,
        direction=payload.direction.value,
    )
    return Status(201, reader_out(reader))


# ----------------------------------------------------------------------------- levels


@router.get(
    "/access/sites/{code}/levels",
    response={200: list[LevelOut], **ERRORS},
    summary="List access levels",
)
@allow(services.VIEW_ACCESS, "listing access levels")
def list_levels(request: HttpRequest, code: Path[SiteCode]) -> list[LevelOut]:
    require(actor_of(request), services.VIEW_ACCESS, "listing access levels")
    levels = AccessLevel.objects.filter(site=_site(code)).prefetch_related("doors")
    return [level_out(lv) for lv in levels.order_by("name")]


@router.post(
    "/access/sites/{code}/levels",
    response={201: LevelOut, **ERRORS},
    summary="Create an access level (doors x schedule)",
)
@allow(services.MANAGE_ACCESS, "creating an access level")
def create_level(request: HttpRequest, payload: LevelIn, code: Path[SiteCode]) -> Status[LevelOut]:
    level = services.levels.create_level(
        actor_of(request),
        site=_site(code).code,
        name=payload.name,
        schedule_id=payload.schedule_id,
        doors=payload.doors,
    )
    return Status(201, level_out(level))


@router.put(
    "/access/sites/{code}/levels/{level_id}",
    response={200: LevelOut, **ERRORS},
    summary="Change an access level's schedule and doors (its name stays)",
)
@allow(services.MANAGE_ACCESS, "changing an access level")
def update_level(
    request: HttpRequest, payload: LevelDoorsIn, code: Path[SiteCode], level_id: Path[DbId]
) -> LevelOut:
    actor = actor_of(request)
    # Role first, so a refused caller learns nothing about which sites exist.
    require(actor, services.MANAGE_ACCESS, "changing an access level")
    level = services.levels.set_level(
        actor,
        _site(code).code,
        level_id,
        schedule_id=payload.schedule_id,
        doors=payload.doors,
    )
    return level_out(level)


# ----------------------------------------------------------------------------- cardholders


@router.get(
    "/access/cardholders",
    response={200: list[CardholderOut], **ERRORS},
    summary="List cardholders",
)
@allow(services.VIEW_ACCESS, "listing cardholders")
def list_cardholders(request: HttpRequest, filters: Query[CardholderQuery]) -> list[CardholderOut]:
    require(actor_of(request), services.VIEW_ACCESS, "listing cardholders")
    holders = Cardholder.objects.select_related("recipient", "user")
    if filters.q.strip():
        q = filters.q.strip()
        holders = holders.filter(Q(name__icontains=q) | Q(company__icontains=q))
    page = holders.order_by("name", "id")[filters.offset : filters.offset + filters.limit]
    return [cardholder_out(h) for h in page]


@router.post(
    "/access/cardholders", response={201: CardholderOut, **ERRORS}, summary="Add a cardholder"
)
@allow(services.MANAGE_ACCESS, "adding a cardholder")
def create_cardholder(request: HttpRequest, payload: CardholderIn) -> Status[CardholderOut]:
    from django.contrib.auth import get_user_model

    user_id = None
    if payload.username is not None:
        user = get_user_model().objects.filter(username=payload.username).first()
        if user is None:
            raise NotFound(f"no user {payload.username!r}", "username")
        user_id = user.pk
    holder = services.credentials.create_cardholder(
        actor_of(request),
        name=payload.name,
        kind=payload.kind.value,
        employee_id=payload.employee_id,
        user_id=user_id,
        company=payload.company,
    )
    return Status(201, cardholder_out(holder))


@router.put(
    "/access/cardholders/{holder_id}",
    response={200: CardholderOut, **ERRORS},
    summary="Correct a cardholder's name, kind or company",
)
@allow(services.MANAGE_ACCESS, "changing a cardholder")
def update_cardholder(
    request: HttpRequest, holder_id: Path[DbId], payload: CardholderUpdate
) -> CardholderOut:
    holder = services.credentials.update_cardholder(
        actor_of(request),
        holder_id,
        name=payload.name,
        kind=payload.kind.value,
        company=payload.company,
    )
    return cardholder_out(holder)


# ----------------------------------------------------------------------------- credentials


@router.get(
    "/access/credentials",
    response={200: list[CredentialOut], **ERRORS},
    summary="List credentials",
)
@allow(services.VIEW_ACCESS, "listing credentials")
def list_credentials(request: HttpRequest, filters: Query[CredentialQuery]) -> list[CredentialOut]:
    require(actor_of(request), services.VIEW_ACCESS, "listing credentials")
    credentials = Credential.objects.select_related("holder").prefetch_related("levels")
    if filters.holder_id is not None:
        credentials = credentials.filter(holder_id=filters.holder_id)
    if not filters.include_revoked:
        credentials = credentials.filter(revoked_at__isnull=True)
    page = credentials.order_by("id")[filters.offset : filters.offset + filters.limit]
    return [credential_out(c) for c in page]


@router.post(
    "/access/credentials",
    response={201: CredentialOut, **ERRORS},
    summary="Issue a card, a PIN, or card and PIN",
)
@allow(services.MANAGE_ACCESS, "issuing a credential")
def issue_credential(request: HttpRequest, payload: CredentialIn) -> Status[CredentialOut]:
    credential = services.credentials.issue_credential(
        actor_of(request),
        services.credentials.CredentialData(
            holder_id=payload.holder_id,
            kind=payload.kind.value,
            format=payload.format.value if payload.format else None,
            facility=payload.facility,
            card=payload.card,
            bit_length=payload.bit_length,
            bits=payload.bits,
            pin=payload.pin,
            level_ids=payload.level_ids,
            valid_from=payload.valid_from,
            valid_until=payload.valid_until,
        ),
    )
    return Status(201, credential_out(credential))


@router.put(
    "/access/credentials/{credential_id}/levels",
    response={200: CredentialOut, **ERRORS},
    summary="Replace the access levels a credential opens",
)
@allow(services.MANAGE_ACCESS, "changing a credential's access levels")
def set_credential_levels(
    request: HttpRequest, payload: CredentialLevelsIn, credential_id: Path[DbId]
) -> CredentialOut:
    credential = services.credentials.set_credential_levels(
        actor_of(request), credential_id, payload.level_ids
    )
    return credential_out(credential)


@router.post(
    "/access/credentials/revoke",
    response={200: CredentialOut, **ERRORS},
    summary="Revoke a credential (lost card, leaver)",
)
@allow(services.REVOKE_CREDENTIALS, "revoking a credential")
def revoke_credential(request: HttpRequest, payload: RevokeIn) -> CredentialOut:
    credential = services.credentials.revoke_credential(
        actor_of(request), payload.credential_id, reason=payload.reason
    )
    return credential_out(credential)


# ----------------------------------------------------------------------------- lockdown


def _rules_out(site: Site) -> SiteRulesOut:
    rules = queries.site_rules(site)
    return SiteRulesOut(
        site=site.code,
        version=rules.version,
        lockdown=rules.lockdown,
        lockdown_at=rules.lockdown_at,
        lockdown_by=rules.lockdown_by,
        lockdown_reason=rules.lockdown_reason,
    )


@router.get(
    "/access/sites/{code}/rules",
    response={200: SiteRulesOut, **ERRORS},
    summary="A site's rules version and lockdown state",
)
@allow(services.VIEW_ACCESS, "reading a site's access state")
def site_rules(request: HttpRequest, code: Path[SiteCode]) -> SiteRulesOut:
    require(actor_of(request), services.VIEW_ACCESS, "reading a site's access state")
    return _rules_out(_site(code))


@router.post(
    "/access/sites/{code}/lockdown",
    response={200: SiteRulesOut, **ERRORS},
    summary="Lock every door of a site down (needs confirm: true)",
)
@allow(services.LOCKDOWN, "locking a site down")
def lockdown(request: HttpRequest, payload: LockdownIn, code: Path[SiteCode]) -> SiteRulesOut:
    site = _site(code)
    services.lockdown.lockdown_site(
        actor_of(request), site.code, payload.confirm, reason=payload.reason
    )
    return _rules_out(site)


@router.post(
    "/access/sites/{code}/lift-lockdown",
    response={200: SiteRulesOut, **ERRORS},
    summary="Lift a site's lockdown",
)
@allow(services.LOCKDOWN, "lifting a lockdown")
def lift_lockdown(request: HttpRequest, payload: LiftIn, code: Path[SiteCode]) -> SiteRulesOut:
    site = _site(code)
    services.lockdown.lift_lockdown(actor_of(request), site.code, reason=payload.reason)
    return _rules_out(site)


# ----------------------------------------------------------------------------- log and alarms


@router.get(
    "/access/log",
    response={200: list[AccessEventOut], **ERRORS},
    summary="The access log, newest first",
)
@allow(services.VIEW_ACCESS, "reading the access log")
def access_log(request: HttpRequest, filters: Query[LogQuery]) -> list[AccessEventOut]:
    require(actor_of(request), services.VIEW_ACCESS, "reading the access log")
    site = _site(filters.site, "site") if filters.site else None
    events = queries.access_log(
        site=site,
        door_code=filters.door,
        granted=filters.granted,
        since=filters.since,
        until=filters.until,
    )
    return [event_out(e) for e in events[filters.offset : filters.offset + filters.limit]]


@router.get("/access/alarms", response={200: list[AlarmOut], **ERRORS}, summary="Access alarms")
@allow(services.VIEW_ACCESS, "reading access alarms")
def list_alarms(request: HttpRequest, filters: Query[AlarmQuery]) -> list[AlarmOut]:
    require(actor_of(request), services.VIEW_ACCESS, "reading access alarms")
    site = _site(filters.site, "site") if filters.site else None
    if filters.open_only:
        alarms = queries.open_alarms(site)
    else:
        alarms = AccessAlarm.objects.select_related("site", "door", "reader", "controller")
        if site is not None:
            alarms = alarms.filter(site=site)
    return [alarm_out(a) for a in alarms[filters.offset : filters.offset + filters.limit]]


@router.post(
    "/access/alarms/acknowledge",
    response={200: AlarmOut, **ERRORS},
    summary="Acknowledge an access alarm",
)
@allow(services.HANDLE_ALARMS, "acknowledging an alarm")
def acknowledge_alarm(request: HttpRequest, payload: AcknowledgeIn) -> AlarmOut:
    alarm = services.alarms.acknowledge_alarm(
        actor_of(request), payload.alarm_id, note=payload.note
    )
    return alarm_out(alarm)


@router.get(
    "/access/reports/who-entered",
    response={200: list[EntryOut], **ERRORS},
    summary="Who entered a kind of room (the quarantine room by default), and when",
)
@allow(services.VIEW_ACCESS, "reading who entered")
def who_entered(request: HttpRequest, filters: Query[WhoEnteredQuery]) -> list[EntryOut]:
    require(actor_of(request), services.VIEW_ACCESS, "reading who entered")
    site = _site(filters.site, "site") if filters.site else None
    rows = queries.who_entered(filters.location_kind.value, filters.since, filters.until, site=site)
    return [entry_out(r) for r in rows]
