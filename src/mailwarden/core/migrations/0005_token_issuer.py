"""Tokens record who issued them, and a person's tokens no longer vanish with the person.

Existing tokens get their issuer from the ledger entry that recorded their issue, when a person
issued them; the others keep an empty issuer, so a token issued for someone else by another
person never counts as its person in a two-person rule (``Actor.delegated``).
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ISSUED = ("token.issue", "core.token.issued")


def issuers_from_ledger(apps: Any, schema_editor: Any) -> None:
    ApiToken = apps.get_model("core", "ApiToken")
    LedgerEntry = apps.get_model("core", "LedgerEntry")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    entries = LedgerEntry.objects.filter(action__in=ISSUED, subject_type="token")
    issuer_of = dict(entries.values_list("subject_id", "actor"))
    for token in ApiToken.objects.filter(issued_by__isnull=True):
        label = issuer_of.get(token.prefix, "")
        if not label.startswith("user:"):
            continue
        user = User.objects.filter(username=label.removeprefix("user:")).first()
        if user is not None:
            ApiToken.objects.filter(pk=token.pk).update(issued_by=user)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_notification_withdrawn"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="issued_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="issued_tokens",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(issuers_from_ledger, migrations.RunPython.noop),
    ]
