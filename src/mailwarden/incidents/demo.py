"""The alarm console's part of the demo. It raises nothing itself: the screening and access
seeders raise their alarms through their own services, and the outbox delivers those events to
this app's handlers, which turn them into console alarms. This seeder adds two alarm rules, then
delivers the events already waiting, so the console opens with the demo's own alarms (the
simulated doors add more while the demo runs)."""

from __future__ import annotations

from datetime import time

from mailwarden.core import outbox
from mailwarden.core.actor import Actor
from mailwarden.core.plugins import DemoOptions, DemoSeeder
from mailwarden.incidents import services
from mailwarden.incidents.models import Alarm, AlarmRule, RuleAction, Severity


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
        services.create_rule(
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
        outbox.dispatch_due(limit=5000)
        alarms = Alarm.objects.count()
        return f"{alarms} alarms in the alarm console" if alarms else ""
