# Departments become records: each distinct name a recipient had becomes one Department, and the
# recipient points at it. Names differing only in case or surrounding spaces are one department.

import django.db.models.deletion
from django.db import migrations, models


def to_records(apps, schema_editor) -> None:
    department = apps.get_model("directory", "Department")
    recipient = apps.get_model("directory", "Recipient")
    db = schema_editor.connection.alias
    by_key: dict[str, int] = {}
    for name in (
        recipient.objects.using(db).exclude(department="").values_list("department", flat=True).distinct()
    ):
        clean = " ".join(name.split())
        if not clean:
            continue
        key = clean.casefold()
        if key not in by_key:
            by_key[key] = department.objects.using(db).create(name=clean).pk
        recipient.objects.using(db).filter(department=name).update(department_ref=by_key[key])


def to_names(apps, schema_editor) -> None:
    recipient = apps.get_model("directory", "Recipient")
    db = schema_editor.connection.alias
    for person in recipient.objects.using(db).exclude(department_ref=None).select_related("department_ref"):
        person.department = person.department_ref.name
        person.save(update_fields=["department"])


class Migration(migrations.Migration):

    dependencies = [
        ("directory", "0002_own_tables"),
    ]

    operations = [
        migrations.CreateModel(
            name="Department",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=120, unique=True)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.AddField(
            model_name="recipient",
            name="department_ref",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="directory.department"),
        ),
        migrations.RunPython(to_records, to_names),
        migrations.RemoveField(model_name="recipient", name="department"),
        migrations.RenameField(model_name="recipient", old_name="department_ref", new_name="department"),
        migrations.AlterField(
            model_name="recipient",
            name="department",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="members", to="directory.department"),
        ),
    ]
