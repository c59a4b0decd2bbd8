"""The shipped configuration must pass Django's deployment checks in production."""

import os
import subprocess
import sys


def run_check(tmp_path, **env):
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment would not.
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MW_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    base.update(
        MW_DATA_DIR=str(tmp_path),
        MW_ALLOWED_HOSTS='["mail.example.org"]',
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "mailwarden.cli", "check", "--deploy"],
        capture_output=True,
        text=True,
        env=base,
    )


def ledger_key(tmp_path):
    path = tmp_path / "keys" / "ledger.key"
    command = ["ledger", "generate-key", str(path), "--name", "mail.example.org/ledger"]
    done = subprocess.run(
        [sys.executable, "-m", "mailwarden.cli", *command],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("mail.example.org/ledger+")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return str(path)


def test_production_config_is_deploy_clean(tmp_path):
    result = run_check(
        tmp_path,
        MW_ENV="production",
        MW_SECRET_KEY="k" * 20 + os.urandom(24).hex(),
        MW_LEDGER_KEY_FILE=ledger_key(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr


def test_production_without_a_ledger_key_is_reported_and_none_is_made(tmp_path):
    secret = "k" * 20 + os.urandom(24).hex()
    result = run_check(tmp_path, MW_ENV="production", MW_SECRET_KEY=secret)
    assert result.returncode == 1
    assert "mailwarden.E001" in result.stderr and "MW_LEDGER_KEY_FILE" in result.stderr
    assert not (tmp_path / "ledger_key").exists()
    unreadable = tmp_path / "missing.key"
    result = run_check(
        tmp_path, MW_ENV="production", MW_SECRET_KEY=secret, MW_LEDGER_KEY_FILE=str(unreadable)
    )
    assert result.returncode == 1 and "mailwarden.E002" in result.stderr
    assert not unreadable.exists()


def test_production_without_a_secret_is_refused(tmp_path):
    result = run_check(tmp_path, MW_ENV="production")
    assert result.returncode == 2
    assert "MW_SECRET_KEY" in result.stderr


def test_development_config_is_not_deploy_clean(tmp_path):
    result = run_check(tmp_path, MW_ENV="development")
    assert result.returncode == 1
    assert "security.W" in result.stderr + result.stdout
