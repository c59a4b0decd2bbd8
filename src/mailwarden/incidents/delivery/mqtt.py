"""MQTT: each message is published as JSON at QoS 1 to its topic under ``mailwarden/``, and
the try counts as delivered only once the broker's PUBACK has come back.

The broker is ``delivery.mqtt_host``/``mqtt_port`` (with optional credentials and TLS). A
connection per try keeps a dead broker from holding a socket open between ticks; incident
messages are few, so the cost of connecting is not felt.
"""

from __future__ import annotations

import json
import threading
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from mailwarden.config import get_settings
from mailwarden.incidents.delivery import TOPIC_ROOT
from mailwarden.incidents.delivery.channels import SendFailed, Undeliverable, payload_of
from mailwarden.incidents.models import Delivery

QOS = 1


def topic_of(delivery: Delivery) -> str:
    topic = delivery.address.strip()
    if not topic.startswith(f"{TOPIC_ROOT}/") or topic == f"{TOPIC_ROOT}/":
        raise Undeliverable(f"MQTT topic {topic!r} is not under {TOPIC_ROOT}/")
    if any(c in topic for c in "+#\x00"):
        raise Undeliverable(f"MQTT topic {topic!r} holds a wildcard: a publish names one topic")
    return topic


def publish(topic: str, body: bytes) -> None:
    """Publish at QoS 1 and wait for the broker's PUBACK, or raise :class:`SendFailed`."""
    cfg = get_settings().delivery
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"mailwarden-{uuid.uuid4().hex[:12]}",
        clean_session=True,
    )
    if cfg.mqtt_username:
        client.username_pw_set(cfg.mqtt_username, cfg.mqtt_password)
    if cfg.mqtt_tls:
        client.tls_set()
    connected = threading.Event()
    refused: list[str] = []

    def on_connect(
        client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object
    ) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    where = f"MQTT broker {cfg.mqtt_host}:{cfg.mqtt_port}"
    try:
        client.connect(cfg.mqtt_host, cfg.mqtt_port, keepalive=max(5, int(cfg.mqtt_timeout_s)))
    except (OSError, ValueError) as exc:
        raise SendFailed(f"{where} unreachable: {type(exc).__name__}: {exc}") from exc
    client.loop_start()
    try:
        if not connected.wait(cfg.mqtt_timeout_s):
            raise SendFailed(f"{where} did not answer the connection")
        if refused:
            raise SendFailed(f"{where} refused the connection: {refused[0]}")
        info = client.publish(topic, body, qos=QOS)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise SendFailed(f"{where} publish failed: {mqtt.error_string(info.rc)}")
        try:
            info.wait_for_publish(cfg.mqtt_timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise SendFailed(f"{where} publish failed: {exc}") from exc
        if not info.is_published():
            raise SendFailed(f"{where} sent no PUBACK within {cfg.mqtt_timeout_s:g} s")
    finally:
        client.disconnect()
        client.loop_stop()


def send(delivery: Delivery) -> None:
    topic = topic_of(delivery)
    publish(topic, json.dumps(payload_of(delivery), separators=(",", ":")).encode())
