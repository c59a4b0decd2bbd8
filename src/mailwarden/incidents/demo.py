"""The alarm console's part of the demo: two alarm rules, and alarms from the demo's own data.

The seeder hands the alarm events the other seeders emitted (screening's do-not-open, access's
door alarms) to this app's handlers, so they are on the console at once; the dispatcher
delivers the same events later and the handlers count each once. The seeded X-ray scans that
show a threat but have no screening decision yet raise a do-not-open alarm each (the two
strongest), through this app's own services. While the demo runs, the simulated doors now and
then stay open too long, and their held-open alarms arrive through the handlers as in a real
mailroom; the critical ones open an incident by the first rule once the dispatcher delivers them.

Before that, the demo's past (:mod:`mailwarden.incidents.demo_history`): an on-call schedule and
an escalation policy for the demo site, incidents run through to closed, a drill with its
after-action report, and a site message with its roll call, all through this app's services
under the demo's back-dated clock."""

from __future__ import annotations

from datetime import time

from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse

from mailwarden.contracts.events import (
    CATALOGUE,
    AccessAlarmRaised,
    DomainEvent,
    LedgerVerifyFailed,
    ScreeningAlarm,
    parse,
)
from mailwarden.core.actor import Actor
from mailwarden.core.models import OutboxEvent, OutboxStatus
from mailwarden.core.plugins import DemoOptions, DemoSeeder
from mailwarden.incidents import demo_history
from mailwarden.incidents.handlers import alarms as handlers
from mailwarden.incidents.models import Alarm, AlarmRule, AlarmSource, RuleAction, Severity
from mailwarden.incidents.services import alarms as services
from mailwarden.screening.models import Scan

# A scan region scoring this high is a threat the screener must look at.
THREAT_SCORE = 0.5

SOURCES: tuple[type[DomainEvent], ...] = (ScreeningAlarm, AccessAlarmRaised, LedgerVerifyFailed)


def _deliver(event: DomainEvent) -> None:
    if isinstance(event, ScreeningAlarm):
        handlers.screening_alarm(event)
    elif isinstance(event, AccessAlarmRaised):
        handlers.access_alarm_raised(event)
    elif isinstance(event, LedgerVerifyFailed):
        handlers.ledger_verify_failed(event)


def _undecided_threats() -> QuerySet[Scan]:
    return (
        Scan.objects.filter(max_score__gte=THREAT_SCORE, item__screenings__isnull=True)
        .select_related("item", "item__site")
        .order_by("-max_score", "id")
    )


class IncidentsDemo(DemoSeeder):
    def present(self) -> str | None:
        rules = AlarmRule.objects.count()
        return f"{rules} alarm rules" if rules else None

    def seed(self, options: DemoOptions) -> str:
        actor = Actor.job("demo")
        services.create_rule(
            actor,
            services.RuleRequest(
                name="Critical alarms open an incident",
                action=RuleAction.OPEN_INCIDENT,
                min_severity=Severity.CRITICAL,
                position=10,
            ),
        )
        notify = services.create_rule(
            actor,
            services.RuleRequest(
                name="High alarms out of hours notify the on-call manager",
                action=RuleAction.NOTIFY,
                min_severity=Severity.HIGH,
                starts_at=time(19, 0),
                ends_at=time(7, 0),
                position=20,
            ),
        )
        past = demo_history.seed_history(options, notify)
        topics = [t for t, m in CATALOGUE.items() if issubclass(m, SOURCES)]
        waiting = OutboxEvent.objects.filter(topic__in=topics, status=OutboxStatus.PENDING)
        for row in waiting.order_by("id")[:500]:
            with transaction.atomic():
                _deliver(parse(row.topic, row.payload))
        for scan in _undecided_threats()[:2]:
            item = scan.item
            services.raise_alarm(
                actor,
                services.AlarmSignal(
                    key=f"demo.scan:{scan.pk}",
                    type=ScreeningAlarm.TOPIC,
                    severity=Severity.CRITICAL,
                    source=AlarmSource.SCREENING,
                    source_key=f"{ScreeningAlarm.TOPIC}:{item.uid}",
                    title=f"Do not open: {item.uid}: X-ray threat (score {scan.max_score:.2f})",
                    occurred_at=scan.created_at,
                    site=item.site.code,
                    evidence=(
                        {
                            "label": f"Item {item.uid}",
                            "url": reverse("item_detail", args=[item.uid]),
                        },
                        {"label": f"X-ray scan #{scan.pk}", "ref": f"screening.scan:{scan.pk}"},
                    ),
                    ref=f"screening.scan:{scan.pk}",
                ),
            )
        alarms = Alarm.objects.count()
        said = [f"Raised {alarms} alarms in the alarm console." if alarms else "", past]
        return " ".join(p for p in said if p)
