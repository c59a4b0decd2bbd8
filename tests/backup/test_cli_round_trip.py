"""``mailwarden backup`` and ``restore`` on SQLite, as separate processes on real folders."""

from __future__ import annotations

import json
import stat
import tarfile

import pytest
import yaml

from .conftest import (
    PASSPHRASE,
    database,
    flip_byte,
    mailwarden,
    media_hashes,
    only_archive,
    row_counts,
)

pytestmark = pytest.mark.slow


def test_round_trip_gives_equal_rows_media_and_a_ledger_that_verifies(source, tmp_path):
    done = mailwarden(
        ["backup", "--to", str(tmp_path / "out"), "--with-secrets"],
        source,
        MW_BACKUP_PASSPHRASE=PASSPHRASE,
    )
    assert done.returncode == 0, done.stderr
    assert "secrets encrypted" in done.stdout
    archive = only_archive(tmp_path / "out")

    target = tmp_path / "restored"
    done = mailwarden(["restore", str(archive)], target, MW_BACKUP_PASSPHRASE=PASSPHRASE)
    assert done.returncode == 0, done.stderr
    assert "ledger OK" in done.stdout
    assert "matches 1 signed checkpoint(s)" in done.stdout

    assert row_counts(target) == row_counts(source)
    assert media_hashes(target) == media_hashes(source)
    assert len(media_hashes(target)) == 11
    # The restored installation's own check, with the ledger key the secrets brought back.
    verify = mailwarden(["ledger", "verify", "--json"], target)
    assert verify.returncode == 0, verify.stderr
    result = json.loads(verify.stdout)
    assert result["ok"] and result["head_seq"] > result["checkpoint_size"] > 0


def test_the_manifest_lists_every_member_with_its_state(template_archive):
    with tarfile.open(template_archive) as tar:
        names = tar.getnames()
        raw = tar.extractfile("manifest.json").read()
    manifest = json.loads(raw)
    assert names[-1] == "manifest.json"
    assert set(manifest["files"]) == set(names[:-1])
    assert manifest["database"] == {
        "vendor": "sqlite",
        "member": "database/mailwarden.sqlite3.gz",
    }
    assert "0007_lease" in manifest["migrations"]["core"]
    assert manifest["tables"]["custody_mailitem"] == 11
    assert manifest["ledger"]["head_seq"] > 0
    assert manifest["ledger"]["public_key"]
    assert any(n.startswith("checkpoints/") for n in names)
    assert sum(n.startswith("media/") for n in names) == 11


def test_a_changed_byte_is_refused_naming_the_file_and_nothing_is_written(archive_copy, tmp_path):
    changed = flip_byte(archive_copy, "media/")
    target = tmp_path / "restored"
    done = mailwarden(["restore", str(archive_copy)], target)
    assert done.returncode == 1
    assert changed in done.stderr and "differs from the manifest" in done.stderr
    assert "Traceback" not in done.stderr
    assert not database(target).exists()
    assert not (target / "media").exists()
    assert not (target / "checkpoints").exists()


def test_a_changed_database_dump_is_refused_too(archive_copy, tmp_path):
    changed = flip_byte(archive_copy, "database/")
    done = mailwarden(["restore", str(archive_copy)], tmp_path / "restored")
    assert done.returncode == 1
    assert "database/mailwarden.sqlite3.gz differs" in done.stderr
    assert not database(tmp_path / "restored").exists()
    assert changed == "database/mailwarden.sqlite3.gz"


def test_a_database_with_data_is_kept_unless_forced_and_the_refusal_names_the_loss(
    source, archive_copy
):
    before = row_counts(source)
    done = mailwarden(["restore", str(archive_copy)], source)
    assert done.returncode == 1
    assert "holds data, which restoring would replace" in done.stderr
    assert f"{before['custody_mailitem']} mail items" in done.stderr
    assert f"{before['core_ledgerentry']} ledger entries" in done.stderr
    assert "--force" in done.stderr
    assert row_counts(source) == before

    # --force without a terminal and without --yes asks nobody, so it changes nothing.
    done = mailwarden(["restore", str(archive_copy), "--force"], source)
    assert done.returncode == 1
    assert "not confirmed" in done.stderr

    done = mailwarden(["restore", str(archive_copy), "--force", "--yes"], source)
    assert done.returncode == 0, done.stderr
    assert "ledger OK" in done.stdout


def test_without_secrets_none_of_them_is_in_the_archive(source, tmp_path):
    secret_values = {
        "MW_EMAIL__PASSWORD": "smtp-password-8d1f",
        "MW_DELIVERY__SMS_GATEWAY_TOKEN": "sms-token-77ab",
        "MW_DELIVERY__MQTT_PASSWORD": "mqtt-password-c3c3",
    }
    done = mailwarden(["backup", "--to", str(tmp_path / "out")], source, **secret_values)
    assert done.returncode == 0, done.stderr
    archive = only_archive(tmp_path / "out")
    data = archive.read_bytes()
    for value in [
        *secret_values.values(),
        (source / "secret_key").read_text().strip(),
        (source / "ledger_key").read_text().strip(),
    ]:
        assert value.encode() not in data
    with tarfile.open(archive) as tar:
        settings = yaml.safe_load(tar.extractfile("config/settings.yaml").read())
        assert "config/secrets.enc" not in tar.getnames()
    assert settings["email"]["password"] is None
    assert settings["delivery"]["sms_gateway_token"] is None

    # Restored without the ledger key, the archive's checkpoints still verify the ledger,
    # and the restore says the key must be brought back.
    done = mailwarden(["restore", str(archive)], tmp_path / "restored")
    assert done.returncode == 0, done.stderr
    assert "ledger OK" in done.stdout
    assert "is not the one that signed these checkpoints" in done.stdout


def test_secrets_come_back_with_the_passphrase_and_a_wrong_one_is_refused(source, tmp_path):
    done = mailwarden(
        ["backup", "--to", str(tmp_path / "out"), "--with-secrets"],
        source,
        MW_BACKUP_PASSPHRASE=PASSPHRASE,
        MW_EMAIL__PASSWORD="smtp-password-8d1f",
    )
    assert done.returncode == 0, done.stderr
    archive = only_archive(tmp_path / "out")
    assert b"smtp-password-8d1f" not in archive.read_bytes()

    target = tmp_path / "restored"
    done = mailwarden(["restore", str(archive)], target, MW_BACKUP_PASSPHRASE="wrong")
    assert done.returncode == 1
    assert "passphrase does not open" in done.stderr
    assert not database(target).exists()

    done = mailwarden(["restore", str(archive)], target, MW_BACKUP_PASSPHRASE=PASSPHRASE)
    assert done.returncode == 0, done.stderr
    assert (target / "secret_key").read_text() == (source / "secret_key").read_text()
    assert (target / "ledger_key").read_text() == (source / "ledger_key").read_text()
    config = target / "restored-config.yaml"
    assert yaml.safe_load(config.read_text())["email"]["password"] == "smtp-password-8d1f"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
