import pytest
from django.contrib.auth.models import User
from django.db import connection

from mailwarden.core.errors import ServiceError
from mailwarden.core.roles import Role, roles_of
from mailwarden.core.services import create_user
from tests.factories import ADMIN


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout():
    if connection.vendor != "sqlite":
        pytest.skip("this run uses PostgreSQL (MW_DATABASE_URL)")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000
    settings_dict = connection.settings_dict
    assert "journal_mode=WAL" in settings_dict["OPTIONS"]["init_command"]


def test_file_database_really_switches_to_wal(tmp_path):
    import sqlite3

    from django.conf import settings

    init = settings.DATABASES["default"].get("OPTIONS", {}).get("init_command")
    if not init:
        pytest.skip("this run uses PostgreSQL (MW_DATABASE_URL)")
    db = sqlite3.connect(tmp_path / "probe.sqlite3")
    db.executescript(init)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2(settings):
    from mailwarden.server import settings as shipped

    # The suite hashes with MD5 for speed (tests/conftest.py); the server's own list is Argon2's.
    settings.PASSWORD_HASHERS = shipped.PASSWORD_HASHERS
    user = create_user(ADMIN, "dana", password="correct horse battery", roles=["clerk"])
    stored = User.objects.get(pk=user.pk).password
    assert stored.startswith("argon2$argon2id$")
    assert roles_of(User.objects.get(pk=user.pk)) == frozenset({Role.CLERK})


@pytest.mark.django_db
def test_weak_passwords_and_unknown_roles_are_refused_by_field():
    with pytest.raises(ServiceError) as weak:
        create_user(ADMIN, "erin", password="12345678", roles=["clerk"])
    assert weak.value.field == "password"
    with pytest.raises(ServiceError) as role:
        create_user(ADMIN, "erin", password="correct horse battery", roles=["janitor"])
    assert role.value.field == "role"
    assert not User.objects.filter(username="erin").exists()
