"""Settings from a YAML file (``MW_CONFIG``) plus ``MW_*`` environment variables.

Environment variables win over the file. Unknown keys in the file are refused by name, so a typo
never silently leaves a security setting at its default.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


class ConfigError(Exception):
    """A configuration problem, phrased for the person who wrote the file."""


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # "file" writes each message into <data_dir>/sent-mail instead of sending it (the demo).
    backend: Literal["smtp", "file"] = "smtp"
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    from_address: str = "mailwarden@localhost"
    timeout_s: float = Field(default=10.0, gt=0)


class NotificationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reminder_after_days: int = Field(default=3, ge=1)
    escalate_after_days: int = Field(default=7, ge=1)
    max_attempts: int = Field(default=12, ge=1)
    backoff_base_s: float = Field(default=30.0, gt=0)
    backoff_max_s: float = Field(default=3600.0, gt=0)


class DeliveryConfig(BaseModel):
    """The incident channels (``incidents.delivery``): retries, and where SMS and MQTT go."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=10, ge=1)
    backoff_base_s: float = Field(default=15.0, gt=0)
    backoff_max_s: float = Field(default=1800.0, gt=0)
    # Rows tried per tick: each try may wait up to its channel's timeout.
    batch: int = Field(default=50, ge=1, le=1000)
    # SMS: a JSON POST gateway; unset, SMS messages wait (visibly) until one is configured.
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None
    sms_sender: str = "mailwarden"
    sms_timeout_s: float = Field(default=10.0, gt=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_tls: bool = False
    # How long a publish may take, connecting included, until the broker's PUBACK.
    mqtt_timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("sms_gateway_url")
    @classmethod
    def _gateway_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


class SecurityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login_failure_limit: int = Field(default=5, ge=1)
    login_cooloff_minutes: int = Field(default=15, ge=1)
    # Failed sign-ins from one address, whatever the names tried, before it is paused likewise.
    login_failure_limit_per_address: int = Field(default=20, ge=1)
    mfa_required_roles: list[str] = Field(default_factory=list)
    session_age_minutes: int = Field(default=480, ge=5)
    # Addresses (or networks) of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto
    # are believed. Empty: no proxy is trusted, and a client is the address that connected.
    trusted_proxies: list[str] = Field(default_factory=list)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (such as 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        return value


class UploadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_bytes: int = Field(default=15 * 1024 * 1024, ge=1024)
    max_pixels: int = Field(default=40_000_000, ge=1024)


class IntakeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duplicate_window_minutes: int = Field(default=24 * 60, ge=0)


class SurveillanceSettings(BaseModel):
    """Cameras and video events (``surveillance``): evidence retention and worker health."""

    model_config = ConfigDict(extra="forbid")

    # Snapshots and clips of video events older than this are removed (the event stays).
    evidence_days: int = Field(default=30, ge=1)
    # And the oldest go first while all of them together take more than this.
    evidence_max_mb: int = Field(default=20_000, ge=10)
    # A camera whose worker has not reported for this long is offline ("worker silent").
    worker_silent_s: int = Field(default=120, ge=10)
    # Where workers publish events on MQTT (None: they do not publish).
    mqtt_host: str | None = None
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_topic_prefix: str = "mailwarden/vision"
    # Seconds between a worker's polls for configuration changes and status reports.
    worker_poll_s: float = Field(default=10.0, ge=1, le=3600)


class RetentionConfig(BaseModel):
    """How long personal content is kept (``retention``; docs/retention.md). These apply at every
    site without its own rules (``directory.SiteRetention``); None keeps forever, which is what
    an installation did before it had rules, so an upgrade deletes nothing by itself."""

    model_config = ConfigDict(extra="forbid")

    # Photos, X-ray images and signatures: this many days after the item's last step.
    media_days: int | None = Field(default=None, ge=1, le=36500)
    # Access events lose who made them this many months after they happened.
    access_event_months: int | None = Field(default=None, ge=1, le=1200)
    # A deactivated person's name, email, phone and employee ID are replaced this many days on.
    departed_person_days: int | None = Field(default=None, ge=1, le=36500)


class BackupConfig(BaseModel):
    """Scheduled backups (``mailwarden backup``, docs/backup.md); off while ``to`` is unset."""

    model_config = ConfigDict(extra="forbid")

    # A folder, or s3://bucket/prefix on S3-compatible storage.
    to: str | None = None
    # The UTC hour from which the day's backup is taken.
    schedule_hour: int = Field(default=2, ge=0, le=23)
    # Archives kept: the newest of each of the last N days, ISO weeks and months.
    keep_daily: int = Field(default=7, ge=0)
    keep_weekly: int = Field(default=4, ge=0)
    keep_monthly: int = Field(default=12, ge=0)
    # Scheduled archives carry the secrets, encrypted with MW_BACKUP_PASSPHRASE.
    with_secrets: bool = False
    # S3-compatible storage other than AWS (MinIO, Ceph, ...); credentials come from the
    # standard AWS_* variables or files.
    s3_endpoint_url: str | None = None
    s3_region: str | None = None

    @field_validator("to")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        if value and "://" in value and not value.startswith("s3://"):
            raise ValueError("must be a folder or an s3://bucket/prefix URL")
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MW_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    env: Literal["development", "production", "test"] = "development"
    debug: bool = False
    data_dir: Path = Path("var")
    database_url: str | None = None
    queue_url: str | None = None
    secret_key: str | None = None
    secret_key_file: Path | None = None
    allowed_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost"])
    csrf_trusted_origins: list[str] = Field(default_factory=list)
    base_url: str = "http://127.0.0.1:8000"
    run_tasks_in_process: bool = True
    # Of several server processes, one runs the background work; another takes over this many
    # seconds after it stops renewing its lease (it renews every two seconds).
    background_lease_s: float = Field(default=30.0, ge=5, le=3600)
    # Threads that run requests' sync work; None picks 2 on SQLite (writes take turns anyway)
    # and 8 on PostgreSQL.
    request_threads: int | None = Field(default=None, ge=1, le=64)
    email: EmailConfig = Field(default_factory=EmailConfig)
    notifications: NotificationConfig = Field(default_factory=NotificationConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    uploads: UploadConfig = Field(default_factory=UploadConfig)
    intake: IntakeConfig = Field(default_factory=IntakeConfig)
    surveillance: SurveillanceSettings = Field(default_factory=SurveillanceSettings)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    # The Ed25519 key that signs the ledger's checkpoints; None keeps it in the data folder
    # (development only: production must name a file outside the database and the data folder).
    ledger_key_file: Path | None = None
    # Where signed checkpoints go; None is <data_dir>/checkpoints. Point it at storage the
    # database's users cannot rewrite.
    ledger_checkpoint_dir: Path | None = None
    # How often the background tick writes a checkpoint, when the ledger has grown; 0 writes
    # them only on demand (`mailwarden ledger checkpoint`).
    ledger_checkpoint_interval_s: int = Field(default=3600, ge=0)
    # Witnesses: each receives every checkpoint as an HTTP POST of its text.
    ledger_witness_urls: list[str] = Field(default_factory=list)
    # Auditors receive every checkpoint by email: these addresses, and every active auditor's.
    ledger_auditor_emails: list[str] = Field(default_factory=list)

    @field_validator("queue_url")
    @classmethod
    def _queue_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @field_validator("ledger_witness_urls")
    @classmethod
    def _witness_scheme(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} must be an http:// or https:// URL")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))

    def resolve_secret_key(self) -> str:
        """The signing key: from the environment, a file, or (not in production) the data folder."""
        if self.secret_key:
            return self.secret_key
        if self.secret_key_file:
            return self.secret_key_file.read_text().strip()
        if self.env == "production":
            raise ConfigError("MW_SECRET_KEY or MW_SECRET_KEY_FILE must be set in production")
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(50))
            path.chmod(0o600)
        return path.read_text().strip()

    def checkpoint_dir(self) -> Path:
        return self.ledger_checkpoint_dir or self.data_dir / "checkpoints"

    def ledger_key_path(self) -> Path:
        """The file of the key that signs checkpoints; in development it is created if absent.

        Production never generates one: a key made beside the database would prove nothing.
        """
        if self.ledger_key_file:
            return self.ledger_key_file
        if self.env == "production":
            raise ConfigError("MW_LEDGER_KEY_FILE must be set in production")
        return self.data_dir / "ledger_key"


class _YamlSource(PydanticBaseSettingsSource):
    """Reads the file named by ``MW_CONFIG``; absent variable means no file."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("MW_CONFIG")
        if not path:
            return {}
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} must hold a mapping of settings")
        return data


def describe_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(root)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{field}: unknown setting")
        else:
            lines.append(f"{field}: {err['msg']}")
    return "invalid configuration: " + "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
