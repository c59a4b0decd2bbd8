"""Time on item gets its own column; earlier decisions kept it as a line of their notes."""

import re

from django.db import migrations, models

OLD_LINE = re.compile(r"^Time on item: (\d+) s$", re.MULTILINE)


def move_time_out_of_notes(apps, schema_editor):
    Decision = apps.get_model("screening", "Decision")
    for decision in Decision.objects.filter(notes__contains="Time on item: "):
        found = OLD_LINE.search(decision.notes)
        if found is None:
            continue
        decision.seconds_on_item = int(found.group(1))
        decision.notes = OLD_LINE.sub("", decision.notes).strip()
        decision.save(update_fields=["seconds_on_item", "notes"])


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0002_indicator_catalogue"),
    ]

    operations = [
        migrations.AddField(
            model_name="decision",
            name="seconds_on_item",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(move_time_out_of_notes, migrations.RunPython.noop),
    ]
