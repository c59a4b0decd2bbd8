"""Migration core 0005 finds each existing token's issuer in the ledger: a token that someone
issued for another person then never counts as that person in a two-person rule."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.tokens import TOKEN_PREFIX, authenticate, secret_hash

BEFORE = [("core", "0004_notification_withdrawn")]
AFTER = [("core", "0005_token_issuer")]


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_issuers_come_from_the_ledger():
    User.objects.create_user("ada", is_superuser=True)
    rita = User.objects.create_user("rita")
    try:
        ApiToken = migrate(BEFORE).get_model("core", "ApiToken")
        secrets = {}
        for prefix, user, issuer in (
            ("aaaa0001", rita, "user:rita"),  # her own
            ("aaaa0002", rita, "user:ada"),  # minted for her by an admin
            ("aaaa0003", rita, "job:cli"),  # from the command line
        ):
            secrets[prefix] = f"{TOKEN_PREFIX}{prefix}_secret"
            ApiToken.objects.create(
                name=prefix,
                prefix=prefix,
                secret_hash=secret_hash(secrets[prefix]),
                role="recipient",
                user_id=user.pk,
                created_at=clock.now(),
            )
            kind, name = issuer.split(":")
            with transaction.atomic():
                ledger.append(Actor(kind, name), "token.issue", "token", prefix, {"name": prefix})  # type: ignore[arg-type]
        migrate(AFTER)
        own, minted, cli = (authenticate(secrets[p]) for p in ("aaaa0001", "aaaa0002", "aaaa0003"))
        assert own is not None and own.person_id == rita.pk
        assert minted is not None and minted.delegated and minted.person_id is None
        assert cli is not None and cli.delegated and cli.person_id is None
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
