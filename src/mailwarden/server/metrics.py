"""Prometheus metrics: request counters and live gauges read from the database at scrape time."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from mailwarden.core.plugins import app_metrics

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "mailwarden_http_requests",
    "HTTP requests handled",
    ["method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "mailwarden_http_request_seconds",
    "HTTP request latency",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)


class _DomainCollector(Collector):
    def describe(self) -> Iterable[Metric]:
        # Describing without collecting keeps registration free of database queries.
        return []

    def collect(self) -> Iterable[Metric]:
        from mailwarden.core.models import Notification, OutboxEvent

        # Each app's own gauges, declared on its AppConfig.
        yield from app_metrics()
        outbox = GaugeMetricFamily(
            "mailwarden_outbox_events", "Outbox events by status", labels=["status"]
        )
        for row in OutboxEvent.objects.values("status").annotate(n=Count("id")):
            outbox.add_metric([row["status"]], row["n"])
        yield outbox
        notifications = GaugeMetricFamily(
            "mailwarden_notifications", "Notifications by status", labels=["status"]
        )
        for row in Notification.objects.values("status").annotate(n=Count("id")):
            notifications.add_metric([row["status"]], row["n"])
        yield notifications


DOMAIN = _DomainCollector()
REGISTRY.register(DOMAIN)
# Set by ``serve`` when it runs several processes: each writes its request figures there, and a
# scrape answered by any of them adds them all up (prometheus_client's multiprocess mode).
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        LATENCY.observe(time.perf_counter() - started)
        REQUESTS.labels(request.method or "", str(response.status_code)).inc()
        return response


def metrics_text() -> bytes:
    shared = os.environ.get(MULTIPROCESS_ENV)
    if not shared:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=shared)  # type: ignore[no-untyped-call]
    registry.register(DOMAIN)
    return generate_latest(registry)


CONTENT_TYPE = CONTENT_TYPE_LATEST


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape endpoint; needs an API token of an admin, auditor or operator."""
    from mailwarden.core import tokens
    from mailwarden.core.roles import Role

    header = request.headers.get("Authorization", "")
    actor = tokens.authenticate(header[7:]) if header.startswith("Bearer ") else None
    if actor is None and request.user.is_authenticated:
        from mailwarden.core.actor import Actor

        actor = Actor.for_user(request.user)
    if actor is None:
        return HttpResponse("metrics need an API token\n", status=401, content_type="text/plain")
    if not actor.has(Role.AUDITOR, Role.SECURITY_OPERATOR, Role.SECURITY_MANAGER):
        return HttpResponse(
            "this role may not read metrics\n", status=403, content_type="text/plain"
        )
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE)
