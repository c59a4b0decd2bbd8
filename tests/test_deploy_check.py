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


def test_production_config_is_deploy_clean(tmp_path):
    result = run_check(tmp_path, MW_ENV="production", MW_SECRET_KEY="k" * 20 + os.urandom(24).hex())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr


def test_production_without_a_secret_is_refused(tmp_path):
    result = run_check(tmp_path, MW_ENV="production")
    assert result.returncode == 2
    assert "MW_SECRET_KEY" in result.stderr


def test_development_config_is_not_deploy_clean(tmp_path):
    result = run_check(tmp_path, MW_ENV="development")
    assert result.returncode == 1
    assert "security.W" in result.stderr + result.stdout
