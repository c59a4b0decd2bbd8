"""What the gadget app declares on its AppConfig."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.urls import path
from ninja import Router
from prometheus_client.core import GaugeMetricFamily, Metric

from mailwarden.core.plugins import DemoOptions, DemoSeeder
from mailwarden.core.roles import Role

GADGET_ADMINS = (Role.SECURITY_MANAGER,)


def _page(request: HttpRequest, pk: int = 0) -> HttpResponse:
    return HttpResponse("gadget")


app_name = "gadgets"
urlpatterns = [
    path("", _page, name="list"),
    path("<int:pk>/", _page, name="one"),
    path("admin/", _page, name="admin"),
]

router = Router(tags=["gadgets"])

# The gadget app owns the devices whose names start "gadget-": their tokens reach only its sync.
GADGET_OPERATIONS: frozenset[str] = frozenset({"gadget_sync"})


def gadget_scope(device: str) -> frozenset[str] | None:
    return GADGET_OPERATIONS if device.startswith("gadget-") else None


def metrics() -> Iterator[Metric]:
    gauge = GaugeMetricFamily("mailwarden_gadgets", "Gadgets")
    gauge.add_metric([], 3)
    yield gauge


@dataclass
class Live:
    options: DemoOptions
    stopped: bool = False

    def stop(self) -> None:
        self.stopped = True


@dataclass
class Calls:
    seeded: list[tuple[DemoOptions, int]] = field(default_factory=list)
    live: list[Live] = field(default_factory=list)


CALLS = Calls()


class GadgetDemo(DemoSeeder):
    def seed(self, options: DemoOptions) -> str:
        from mailwarden.custody.models import MailItem

        # An upper app reads what the apps below it seeded.
        CALLS.seeded.append((options, MailItem.objects.count()))
        return "Seeded 3 gadgets."

    def banner(self, url: str) -> list[str]:
        return [f"  Gadgets:  {url}gadgets/"]

    def live(self, host: str, port: int, options: DemoOptions) -> Live:
        CALLS.live.append(Live(options))
        return CALLS.live[-1]
