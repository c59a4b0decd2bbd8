"""Real receivers on loopback for the delivery tests: an HTTP server (webhooks, the SMS
gateway) that can be down, answer errors, or accept; a subscriber on the real Mosquitto; and
the settings of the delivery channels, set per test."""

from __future__ import annotations

import json
import queue as queues
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import transaction

from mailwarden.config import DeliveryConfig, get_settings
from mailwarden.incidents import delivery
from mailwarden.incidents.models import Channel, Delivery
from tests.conftest import port_open, service_missing
from tests.notify.conftest import free_port

BROKER = ("127.0.0.1", 1883)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Down until started; answers every POST with ``status``. Keeps its port across restarts.

    With ``accepts``, a request it refuses (a bad signature, say) is answered 401 instead, and
    kept in ``refused`` rather than ``received``, as a careful receiver would."""

    port: int = field(default_factory=free_port)
    status: int = 200
    received: list[Request] = field(default_factory=list)
    accepts: Callable[[Request], bool] | None = None
    refused: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                request = Request(self.path, dict(self.headers.items()), body)
                if receiver.accepts is not None and not receiver.accepts(request):
                    receiver.refused.append(request)
                    status, answer = 401, b"bad signature"
                else:
                    receiver.received.append(request)
                    status = receiver.status
                    answer = b'{"ok": true}' if status < 300 else b"gateway broke"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def channels() -> Iterator[DeliveryConfig]:
    """Short, known retry settings; a test changes the broker or gateway on the returned object."""
    settings = get_settings()
    before = settings.delivery
    settings.delivery = DeliveryConfig(
        max_attempts=4,
        backoff_base_s=10,
        backoff_max_s=25,
        mqtt_timeout_s=5,
        webhook_timeout_s=5,
        sms_timeout_s=5,
    )
    try:
        yield settings.delivery
    finally:
        settings.delivery = before


class Subscriber:
    """A real MQTT client subscribed at QoS 1 to one test's topics on the real broker."""

    def __init__(self, pattern: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: queues.Queue[Any] = queues.Queue()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"mw-test-{uuid.uuid4().hex[:10]}",
        )
        self.client.on_message = lambda client, userdata, message: self.messages.put(message)
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_connect = lambda client, *args: client.subscribe(pattern, qos=1)
        self.client.connect(*BROKER)
        self.client.loop_start()
        assert subscribed.wait(10), "the broker never confirmed the subscription"

    def next(self) -> Any:
        # Waits for the broker to pass the message on; nothing here lets the clock move.
        return self.messages.get(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def mqtt_topic_root() -> str:
    """A topic level of this test's own, so parallel runs on one broker never cross."""
    if not port_open(*BROKER):
        service_missing("Mosquitto is not reachable at 127.0.0.1:1883")
    return delivery.mqtt_topic("incidents", f"test-{uuid.uuid4().hex[:8]}")


def queue_one(channel: Channel, address: str, *, key: str = "m1", **extra: Any) -> Delivery:
    with transaction.atomic():
        delivery.queue(
            [
                delivery.Outgoing(
                    to=delivery.Address(channel, address, extra.pop("user_id", None)),
                    subject=extra.pop("subject", "Suspicious package at HQ"),
                    text=extra.pop("text", "Level 1: please acknowledge."),
                    key=key,
                    ref=extra.pop("ref", "incident:12"),
                    payload=extra.pop("payload", {"incident": 12, "site": "hq"}),
                    exercise=extra.pop("exercise", False),
                )
            ]
        )
    return Delivery.objects.get(key=key)
