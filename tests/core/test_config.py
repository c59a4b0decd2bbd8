from pathlib import Path

import pytest

from mailwarden.config import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailwarden.yaml"
    path.write_text(text)
    return path


def test_yaml_file_is_read_and_environment_wins(tmp_path, monkeypatch):
    cfg = write(tmp_path, "base_url: https://mail.example.org\nemail:\n  port: 2525\n")
    monkeypatch.setenv("MW_CONFIG", str(cfg))
    monkeypatch.setenv("MW_EMAIL__PORT", "2526")
    settings = load_settings()
    assert settings.base_url == "https://mail.example.org"
    assert settings.email.port == 2526


def test_unknown_keys_are_refused_by_name(tmp_path, monkeypatch):
    cfg = write(tmp_path, "base_url: x\nemial:\n  port: 1\nsecurity:\n  login_limit: 3\n")
    monkeypatch.setenv("MW_CONFIG", str(cfg))
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert "emial: unknown setting" in message
    assert "security.login_limit: unknown setting" in message


def test_bad_values_name_the_field(tmp_path, monkeypatch):
    monkeypatch.setenv("MW_CONFIG", str(write(tmp_path, "email:\n  port: 70000\n")))
    with pytest.raises(ConfigError, match=r"email\.port"):
        load_settings()


def test_queue_url_must_be_redis(monkeypatch):
    monkeypatch.setenv("MW_QUEUE_URL", "amqp://guest@localhost//")
    with pytest.raises(ConfigError, match="queue_url: Value error, must be a redis"):
        load_settings()


def test_unreadable_or_non_mapping_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MW_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings()
    monkeypatch.setenv("MW_CONFIG", str(write(tmp_path, "- a\n- b\n")))
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_settings()


def test_production_needs_a_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("MW_SECRET_KEY", raising=False)
    settings = load_settings(env="production", data_dir=tmp_path)
    with pytest.raises(ConfigError, match="MW_SECRET_KEY"):
        settings.resolve_secret_key()


def test_secret_from_file_and_generated_outside_production(tmp_path):
    secret_file = tmp_path / "key"
    secret_file.write_text("s3cret-from-file\n")
    assert load_settings(secret_key_file=secret_file).resolve_secret_key() == "s3cret-from-file"
    dev = load_settings(env="development", data_dir=tmp_path / "data")
    first = dev.resolve_secret_key()
    assert len(first) > 40
    assert dev.resolve_secret_key() == first
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o777 == 0o600
