"""Access control for ``mailwarden demo`` (:class:`AccessDemo`, declared on AccessConfig): the demo
site's doors, readers, controller, people and cards (:func:`seed_access`), a few days of badge
history, and the simulated edge controller that keeps the door board alive while the demo runs
(:class:`DemoEdge`).

Everything is made through the access services, and the history goes through the real edge
library and the real ingestion service, so the demo's log, ledger and report are what a real
mailroom would show. :class:`DemoEdge` needs no Django: it is an edge controller like any other,
configured from the files seeding left in the data folder, and talks to the server over HTTP.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import secrets
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mailwarden.core.demo_thread import BesideServer, local_url
from mailwarden.core.plugins import DemoOptions, DemoSeeder
from mailwarden.edge.clock import ManualClock
from mailwarden.edge.config import write_key_file
from mailwarden.edge.controller import AccessController as EdgeController
from mailwarden.edge.decisions import DecisionEngine
from mailwarden.edge.doors import DoorConfig, DoorStateMachine, SimulatedIO
from mailwarden.edge.outbox import Outbox
from mailwarden.edge.reader_events import CardRead
from mailwarden.edge.rules import WEEKDAYS
from mailwarden.edge.traffic import Presentation, TrafficGenerator
from mailwarden.edge.wiegand import WiegandError, decode

if TYPE_CHECKING:
    from mailwarden.access.demo_edge import DemoEdgeProcess
    from mailwarden.access.models import AccessController, AccessLevel, Cardholder, Credential
    from mailwarden.core.actor import Actor
    from mailwarden.directory.models import Recipient, Site
    from mailwarden.edge.process import EdgeProcess

log = logging.getLogger(__name__)

CONTROLLER = "demo-edge"
FOLDER = "demo-edge"
CONFIG_FILE = "edge.yaml"
TOKEN_FILE = "token"
SECRET_FILE = "sync.key"
FACILITY = 42
HISTORY_DAYS = 2
PLACEHOLDER_URL = "http://127.0.0.1:8000"

# (code, name, location code, unlock seconds, held-open seconds)
DOORS = (
    ("mailroom-entrance", "Mailroom entrance", "dock", 5, 30),
    ("screening-room", "Screening room", "xray", 5, 45),
    ("quarantine-room", "Quarantine room", "quarantine", 5, 60),
)
# (reader code, door code, OSDP address, direction)
READERS = (
    ("mailroom-in", "mailroom-entrance", 1, "in"),
    ("screening-in", "screening-room", 2, "in"),
    ("quarantine-in", "quarantine-room", 3, "in"),
    ("quarantine-out", "quarantine-room", 4, "out"),
)
TWO_PERSON_WINDOW_S = 30
# Demo staff by username, and the level each badge opens.
STAFF_LEVELS = {
    "manager": "Quarantine team",
    "operator": "Quarantine team",
    "screener": "Quarantine team",
    "clerk": "Mailroom staff",
}
EXTRA_STAFF = 4  # employees from the directory who work in the mailroom
COUNTER_PEOPLE = 8  # employees who may come to the mailroom counter


def folder(data_dir: str | Path) -> Path:
    return Path(data_dir) / FOLDER


@dataclass(frozen=True)
class AccessSeed:
    created: bool
    doors: int = 0
    readers: int = 0
    cardholders: int = 0
    credentials: int = 0
    events: int = 0

    def summary(self) -> str:
        if not self.created:
            return "Access control already seeded."
        return (
            f"Access control: {self.doors} doors, {self.readers} readers, "
            f"{self.cardholders} cardholders, {self.credentials} credentials, "
            f"{self.events} events of badge history."
        )


class AccessDemo(DemoSeeder):
    """Access control at the demo site for the directory's people, and the live controller."""

    def seed(self, options: DemoOptions) -> str:
        from mailwarden.directory.models import Recipient, Site

        site = Site.objects.order_by("pk").first()
        if site is None:
            return ""
        people = list(Recipient.objects.order_by("pk"))
        # Doors, cards and badge history for the same site and people; the summary line says so.
        return seed_access(site, people, options.seed).summary()

    def banner(self, url: str) -> list[str]:
        return [f"  Doors:    a simulated edge controller badges people in: {url}access/"]

    def live(self, host: str, port: int, options: DemoOptions) -> DemoEdgeProcess:
        # The controller talks to the server over HTTP like a real one, so it starts (in a process
        # of its own, see demo_edge) once the server listens; if it fails it says so once and the
        # console carries on.
        from django.conf import settings

        from mailwarden.access.demo_edge import DemoEdgeProcess

        where = folder(settings.DATA_DIR)
        return DemoEdgeProcess(where, local_url(host, port), seed=options.seed).start()


def seed_access(
    site: Site,
    people: Sequence[Recipient],
    seed: int,
    *,
    history_days: int = HISTORY_DAYS,
    data_dir: str | Path | None = None,
) -> AccessSeed:
    """Doors, readers, a controller, cardholders and cards at ``site``; once only.

    The controller's device token and sync secret are written to ``<data>/demo-edge/`` (mode
    0600), with the edge configuration the demo's simulated controller runs from.
    """
    from django.conf import settings

    from mailwarden.access import services
    from mailwarden.access.models import AccessController, Cardholder, Credential
    from mailwarden.core import clock
    from mailwarden.core.actor import Actor
    from mailwarden.core.clock import FrozenClock, use_clock
    from mailwarden.core.roles import Role
    from mailwarden.directory.models import Location

    if AccessController.objects.filter(name=CONTROLLER).exists():
        return AccessSeed(False)
    rng = random.Random(f"access:{seed}")
    admin = Actor.job("demo-seed")
    manager = Actor("user", "manager", frozenset({Role.SECURITY_MANAGER}))
    now = clock.now()
    start = now - timedelta(days=history_days)
    where = folder(data_dir or settings.DATA_DIR)
    # Set up before the history starts, so the first badge of the history finds its card.
    with use_clock(FrozenClock(start - timedelta(hours=1))):
        every_day = [*WEEKDAYS]
        office = services.levels.create_schedule(
            manager,
            site=site.code,
            name="Office hours",
            windows=[{"days": every_day[:5], "start": "07:00", "end": "19:00"}],
        )
        always = services.levels.create_schedule(
            manager,
            site=site.code,
            name="Around the clock",
            windows=[{"days": every_day, "start": "00:00", "end": "24:00"}],
            holiday_windows=[{"start": "00:00", "end": "24:00"}],
        )
        for day, name in _holidays(now.date()):
            services.levels.add_holiday(manager, site=site.code, day=day, name=name)
        room = services.doors.create_area(
            manager, site=site.code, code="quarantine-room", mode="soft", name="Quarantine room"
        )
        locations = set(Location.objects.filter(site=site).values_list("code", flat=True))
        doors = {}
        for code, name, location, unlock_s, held_s in DOORS:
            doors[code] = services.doors.create_door(
                manager,
                services.doors.DoorData(
                    site=site.code,
                    code=code,
                    name=name,
                    location=location if location in locations else None,
                    unlock_s=unlock_s,
                    held_open_s=held_s,
                    area_inside=room.code if code == "quarantine-room" else None,
                ),
            )
        services.doors.set_door_rules(
            manager, site.code, "quarantine-room", two_person_window_s=TWO_PERSON_WINDOW_S
        )
        enrolment = services.doors.create_controller(admin, name=CONTROLLER, site=site.code)
        for code, door, address, direction in READERS:
            services.doors.create_reader(
                manager,
                controller=CONTROLLER,
                door=door,
                code=code,
                osdp_address=address,
                direction=direction,
            )
        levels = {
            "Mailroom staff": services.levels.create_level(
                manager,
                site=site.code,
                name="Mailroom staff",
                schedule_id=always.pk,
                doors=["mailroom-entrance", "screening-room"],
            ),
            "Quarantine team": services.levels.create_level(
                manager,
                site=site.code,
                name="Quarantine team",
                schedule_id=always.pk,
                doors=list(doors),
            ),
            # Employees collect at the counter whenever the mailroom is staffed, which in the
            # demo is always, so the board is not a wall of refusals at night.
            "Mailroom counter": services.levels.create_level(
                manager,
                site=site.code,
                name="Mailroom counter",
                schedule_id=always.pk,
                doors=["mailroom-entrance"],
            ),
            "Visitors": services.levels.create_level(
                manager,
                site=site.code,
                name="Visitors",
                schedule_id=office.pk,
                doors=["mailroom-entrance"],
            ),
        }
        cards = iter(rng.sample(range(1000, 65000), 64))
        _people(manager, people, levels, cards, rng, now)
    _write_secrets(where, enrolment.token, enrolment.sync_secret)
    _write_config(where)
    events = _history(enrolment.controller, enrolment.sync_secret, seed, start, now)
    return AccessSeed(
        True,
        doors=len(doors),
        readers=len(READERS),
        cardholders=Cardholder.objects.count(),
        credentials=Credential.objects.filter(revoked_at__isnull=True).count(),
        events=events,
    )


def _holidays(today: date) -> list[tuple[date, str]]:
    christmas = date(today.year, 12, 25)
    if christmas < today:
        christmas = date(today.year + 1, 12, 25)
    return [(christmas, "Christmas Day"), (christmas + timedelta(days=1), "Boxing Day")]


def _people(
    actor: Actor,
    people: Sequence[Recipient],
    levels: dict[str, AccessLevel],
    cards: Iterator[int],
    rng: random.Random,
    now: datetime,
) -> None:
    from django.contrib.auth.models import User

    from mailwarden.access import services

    def card(holder: Cardholder, *level_names: str, **extra: Any) -> Credential:
        return services.credentials.issue_credential(
            actor,
            services.credentials.CredentialData(
                holder_id=holder.pk,
                format="H10301",
                facility=FACILITY,
                card=next(cards),
                level_ids=[levels[name].pk for name in level_names],
                **extra,
            ),
        )

    for username, level in STAFF_LEVELS.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            continue
        name = user.get_full_name() or username
        card(services.credentials.create_cardholder(actor, name=name, user_id=user.pk), level)
    staff = list(people[: EXTRA_STAFF + COUNTER_PEOPLE])
    for n, person in enumerate(staff):
        holder = services.credentials.create_cardholder(actor, employee_id=person.employee_id)
        if n < EXTRA_STAFF:
            card(holder, "Quarantine team" if n == 0 else "Mailroom staff")
        else:
            card(holder, "Mailroom counter")
    if len(staff) > EXTRA_STAFF:
        # A lost card, revoked: the log shows it refused if it is ever tried again.
        lost = card(
            services.credentials.create_cardholder(actor, employee_id=staff[-1].employee_id),
            "Mailroom counter",
        )
        services.credentials.revoke_credential(actor, lost.pk, reason="reported lost")
    courier = services.credentials.create_cardholder(
        actor, name="Dana Courier", kind="contractor", company="Parcelforce"
    )
    card(courier, "Visitors", valid_until=now + timedelta(days=rng.randint(40, 90)))
    # The clerk's keypad PIN for the day a badge is left at home.
    clerk = services.credentials.create_cardholder(actor, name="Jamie Clarke (PIN)")
    services.credentials.issue_credential(
        actor,
        services.credentials.CredentialData(
            holder_id=clerk.pk,
            kind="pin",
            pin=f"{rng.randint(0, 999_999):06d}",
            level_ids=[levels["Mailroom staff"].pk],
        ),
    )


def _write_secrets(where: Path, token: str, sync_secret: str) -> None:
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, value in ((TOKEN_FILE, token), (SECRET_FILE, sync_secret)):
        path = where / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a file that already existed
            os.write(fd, (value + "\n").encode("ascii"))
        finally:
            os.close(fd)
    for code, *_ in READERS:
        write_key_file(where / f"{code}.key", secrets.token_bytes(16))


def _write_config(where: Path) -> None:
    """The edge configuration the demo controller runs from, as an installer would write it.

    The readers' channels name no real bus: the demo wires simulated readers to the controller
    in-process, and replaces the server URL with the one the demo listens on.
    """
    unlock = {code: (unlock_s, held_s) for code, _, _, unlock_s, held_s in DOORS}
    config = {
        "name": CONTROLLER,
        "data_dir": "data",
        "server": {
            "url": PLACEHOLDER_URL,
            "token_file": TOKEN_FILE,
            "sync_secret_file": SECRET_FILE,
            "poll_interval_s": 1.0,
            "retry_base_s": 0.5,
            "retry_max_s": 5.0,
        },
        "readers": [
            {
                "id": code,
                "channel": f"tcp://simulated-{code}:4001",
                "address": address,
                "key_file": f"{code}.key",
                "door": door,
            }
            for code, door, address, _ in READERS
        ],
        "doors": {
            code: {"strike_s": unlock_s, "held_open_s": held_s}
            for code, (unlock_s, held_s) in unlock.items()
        },
        "log_level": "WARNING",
    }
    path = where / CONFIG_FILE
    path.write_text(
        "# The demo's simulated edge controller (see mailwarden.access.demo).\n"
        + yaml.safe_dump(config, sort_keys=False)
    )


# ----------------------------------------------------------------------------- history


class _NoFeedback:
    """Reader LEDs for a history that no reader shows."""

    def grant(self, reader_id: str) -> bool:
        return True

    def deny(self, reader_id: str) -> bool:
        return True

    def pending(self, reader_id: str, wait_s: float) -> bool:
        return True


def _history(
    controller: AccessController, sync_secret: str, seed: int, start: datetime, end: datetime
) -> int:
    """Badge traffic from ``start`` to ``end``, decided by the edge library from the controller's
    published rules and delivered through the ingestion service, as the controller would have."""
    from mailwarden.access import services
    from mailwarden.core.actor import Actor
    from mailwarden.core.roles import Role

    if start >= end:
        return 0
    device = Actor.device(controller.name, Role.SECURITY_OPERATOR)
    answer = services.sync.sync_rules(device, controller.name, None, now=start)
    engine = DecisionEngine({controller.name: bytes.fromhex(sync_secret)})
    assert answer.document is not None
    engine.load_snapshot(answer.document)
    assert engine.rules is not None
    snapshot = engine.rules.snapshot
    generator = TrafficGenerator.from_snapshot(snapshot, seed=seed)
    clock = ManualClock(start)
    doors = {
        d.id: DoorStateMachine(DoorConfig(d.id), SimulatedIO(), clock.monotonic)
        for d in snapshot.doors
    }
    with tempfile.TemporaryDirectory() as tmp, Outbox(Path(tmp) / "outbox", clock=clock.now) as out:
        edge = EdgeController(
            engine, out, _NoFeedback(), doors, clock=clock.now, monotonic_clock=clock.monotonic
        )
        for presentation in generator.between(start, end):
            _run_until(edge, clock, presentation.at)
            bits = presentation.bits
            try:
                read = CardRead(
                    presentation.reader_id,
                    bits.length,
                    bits.to_osdp(),
                    decode(bits.value, bits.length),
                    None,
                )
            except WiegandError as exc:
                read = CardRead(presentation.reader_id, bits.length, bits.to_osdp(), None, exc)
            edge.handle(read)
        _run_until(edge, clock, min(end, clock.now() + timedelta(minutes=1)))
        events = out.due(limit=1_000_000)
    # Each batch is received a moment after its last event, as a polling controller would send it.
    for first in range(0, len(events), 200):
        batch = events[first : first + 200]
        items = [{"key": str(e.key), "type": e.kind, "event": e.payload} for e in batch]
        received = min(end, batch[-1].created_at + timedelta(seconds=2))
        services.ingest.ingest_events(device, controller.name, items, now=received)
    return len(events)


def _run_until(edge: EdgeController, clock: ManualClock, when: datetime) -> None:
    """Move the simulated time on in steps, so door strikes end and relock as they would."""
    while clock.now() < when:
        clock.advance(min(5.0, (when - clock.now()).total_seconds()))
        edge.tick()


# ----------------------------------------------------------------------------- the live demo


class DemoTraffic:
    """Plays the traffic generator's days on the simulated readers, faster than real time.

    The simulated day starts at 07:45 (site time) and runs ``speed`` times faster than the real
    clock; when nothing is due for ``max_gap_s`` real seconds (the middle of the morning, the
    night, a weekend) it skips ahead to the next presentation, so the board is busy whenever
    someone looks at it. Only the traffic keeps this time: the controller decides and stamps its
    events with the real time, as it would in a mailroom.
    """

    OPENS = day_time(7, 45)

    def __init__(
        self,
        generator: TrafficGenerator,
        present: Callable[[Presentation], bool],
        *,
        speed: float,
        max_gap_s: float,
        today: date,
    ) -> None:
        self._present = present
        self.speed = speed
        self.max_gap_s = max_gap_s
        self.sim = datetime.combine(today, self.OPENS, tzinfo=generator.zone).astimezone(UTC)
        # Lazy: the generator makes each day only when the traffic reaches it.
        self._upcoming = iter(generator.between(self.sim, self.sim + timedelta(days=3650)))
        self._next = next(self._upcoming, None)
        self._last: float | None = None
        self.presented = 0

    def step(self, now: float) -> int:
        """Present what is due by the real monotonic time ``now``; how many were presented."""
        if self._last is not None:
            self.sim += timedelta(seconds=(now - self._last) * self.speed)
        self._last = now
        shown = 0
        while self._next is not None and self._next.at <= self.sim:
            shown += bool(self._present(self._next))
            self._next = next(self._upcoming, None)
        if self._next is not None:
            gap = self._next.at - self.sim
            longest = timedelta(seconds=self.max_gap_s * self.speed)
            if gap > longest:
                self.sim = self._next.at - longest
        self.presented += shown
        return shown


class DemoEdge(BesideServer):
    """The demo's edge controller and its simulated readers and people, in this process.

    Once the server listens, it starts an :class:`~mailwarden.edge.process.EdgeProcess` with
    simulated libosdp readers on Secure Channel, and plays badge traffic
    (:mod:`mailwarden.edge.traffic`) on them; people walk through the doors that open for them.
    """

    thread_name = "demo-edge"
    what = "the simulated door controller"
    lacking = "live door traffic"

    def __init__(
        self,
        where: str | Path,
        server_url: str,
        *,
        speed: float = 30.0,
        max_gap_s: float = 6.0,
        seed: int = 7,
        step_s: float = 0.2,
        wait_s: float = 60.0,
        report: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(where, server_url, wait_s=wait_s, report=report)
        self.speed = speed
        self.max_gap_s = max_gap_s
        self.seed = seed
        self.step_s = step_s
        self.process: EdgeProcess | None = None
        self.traffic: DemoTraffic | None = None
        self._wiring: _Wiring | None = None

    def run(self) -> None:
        process, self._wiring = self._build()
        self.process = process
        process.start()
        self._play(process, self._wiring)

    def cleanup(self) -> None:
        if self.process is not None:
            with contextlib.suppress(Exception):
                self.process.stop()
        if self._wiring is not None:
            self._wiring.close()

    def _build(self) -> tuple[EdgeProcess, _Wiring]:
        import osdp as libosdp

        from mailwarden.edge.config import load_config, load_secrets
        from mailwarden.edge.process import EdgeProcess

        path = self.where / CONFIG_FILE
        if not path.exists():
            raise RuntimeError(f"no demo controller in {self.where} (seeded by an older version?)")
        config = load_config(path)
        config = config.model_copy(
            update={"server": config.server.model_copy(update={"url": self.server_url})}
        )
        keys = load_secrets(config)
        # The edge library's journal logs every refusal; the demo's console is for people.
        logging.getLogger("mailwarden.edge").setLevel(logging.WARNING)
        wiring = _Wiring(config, keys.reader_keys)
        process = EdgeProcess(
            config, keys, channel_factory=wiring.channel, osdp_log_level=libosdp.LogLevel.Error
        )
        return process, wiring

    def _play(self, process: EdgeProcess, wiring: _Wiring) -> None:
        while process.engine.rules is None:
            if self._stop.wait(0.2):
                return
        snapshot = process.engine.rules.snapshot
        generator = TrafficGenerator.from_snapshot(snapshot, seed=self.seed)

        def present(presentation: Presentation) -> bool:
            reader = wiring.readers.get(presentation.reader_id)
            return bool(reader is not None and reader.present_card(presentation.bits))

        today = datetime.now(generator.zone).date()
        self.traffic = DemoTraffic(
            generator, present, speed=self.speed, max_gap_s=self.max_gap_s, today=today
        )
        walker = _Walker(process, random.Random(self.seed))
        self.running.set()
        while True:
            now = time.monotonic()
            self.traffic.step(now)
            walker.step(now)
            if self._stop.wait(self.step_s):
                return


class _Walker:
    """People go through a door once it unlocks for them, and now and then hold it open."""

    def __init__(self, process: EdgeProcess, rng: random.Random) -> None:
        self._process = process
        self._rng = rng
        self._close_at: dict[str, float] = {}
        self._opened_at: dict[str, float] = {}

    def step(self, now: float) -> None:
        for door_id, io in self._process.ios.items():
            if not isinstance(io, SimulatedIO):
                continue
            closes = self._close_at.get(door_id)
            if closes is not None:
                if now >= closes:
                    io.closed = True
                    del self._close_at[door_id]
                continue
            if io.locked is False and now - self._opened_at.get(door_id, float("-inf")) > 8:
                io.closed = False
                self._opened_at[door_id] = now
                held = self._process.config.door_settings(door_id).held_open_s
                # One in forty is propped open past its held-open time: an alarm to handle.
                stay = held + 5 if self._rng.random() < 0.025 else self._rng.uniform(2, 4)
                self._close_at[door_id] = now + stay


class _Wiring:
    """A socketpair per reader: the controller's end as its channel, a simulated reader on the
    other end holding the reader's key (on Secure Channel from the first poll)."""

    def __init__(self, config: Any, keys: dict[str, bytes]) -> None:
        self._config = config
        self._keys = keys
        self.readers: dict[str, Any] = {}
        self._sockets: list[socket.socket] = []

    def channel(self, address: str) -> Any:
        import osdp as libosdp

        from mailwarden.edge.channels import SocketChannel
        from mailwarden.edge.simulated_reader import SimulatedReader

        reader = next(r for r in self._config.readers if r.channel == address)
        reader_end, panel_end = socket.socketpair()
        self._sockets += [reader_end, panel_end]
        simulated = SimulatedReader(
            SocketChannel(reader_end),
            reader.address,
            self._keys[reader.id],
            log_level=libosdp.LogLevel.Error,
        )
        simulated.start()
        self.readers[reader.id] = simulated
        return SocketChannel(panel_end)

    def close(self) -> None:
        for reader in self.readers.values():
            with contextlib.suppress(Exception):
                reader.stop()
        for sock in self._sockets:
            sock.close()
