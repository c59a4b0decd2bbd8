# Every foreign key now points at the directory's models, so their tables take the directory's
# names, and their content types follow them (rows keep their ids; nothing is copied).

from django.db import migrations


def _move_content_types(apps, schema_editor, source: str, target: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in ("site", "location", "recipient"):
        old = content_type.objects.using(db).filter(app_label=source, model=model)
        if content_type.objects.using(db).filter(app_label=target, model=model).exists():
            old.delete()  # made by an earlier run of post_migrate; the new one stands
        else:
            old.update(app_label=target)


def forwards(apps, schema_editor) -> None:
    _move_content_types(apps, schema_editor, "custody", "directory")


def backwards(apps, schema_editor) -> None:
    _move_content_types(apps, schema_editor, "directory", "custody")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("directory", "0001_initial"),
        ("custody", "0003_directory_models_moved"),
        ("access", "0003_sites_and_people_from_directory"),
        ("screening", "0004_sites_from_directory"),
    ]

    operations = [
        migrations.AlterModelTable(name="site", table=None),
        migrations.AlterModelTable(name="location", table=None),
        migrations.AlterModelTable(name="recipient", table=None),
        migrations.RunPython(forwards, backwards),
    ]
