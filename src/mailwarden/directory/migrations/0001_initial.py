# Sites, locations and recipients moved here from custody. Their tables already exist (created by
# custody's first migration), so this adopts them in Django's state only; 0002 renames them once
# every foreign key in the other apps points here.

import django.db.models.deletion
import mailwarden.directory.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("custody", "0002_search_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Site",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("code", models.SlugField(max_length=30, unique=True)),
                        ("name", models.CharField(max_length=120)),
                        ("timezone", models.CharField(default="UTC", max_length=64, validators=[mailwarden.directory.models.validate_timezone])),
                        ("address", models.TextField(blank=True)),
                    ],
                    options={"db_table": "custody_site"},
                ),
                migrations.CreateModel(
                    name="Recipient",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("employee_id", models.CharField(max_length=40, unique=True)),
                        ("first_name", models.CharField(max_length=80)),
                        ("last_name", models.CharField(max_length=80)),
                        ("preferred_name", models.CharField(blank=True, max_length=80)),
                        ("email", models.EmailField(max_length=254)),
                        ("phone", models.CharField(blank=True, max_length=20)),
                        ("department", models.CharField(blank=True, max_length=120)),
                        ("mail_stop", models.CharField(blank=True, max_length=40)),
                        ("active", models.BooleanField(default=True)),
                        ("manager", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="reports", to="directory.recipient")),
                        ("user", models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"ordering": ["last_name", "first_name"], "db_table": "custody_recipient"},
                ),
                migrations.CreateModel(
                    name="Location",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("code", models.SlugField(max_length=40)),
                        ("name", models.CharField(max_length=120)),
                        ("kind", models.CharField(choices=[("dock", "Dock"), ("screening", "Screening room"), ("quarantine", "Quarantine room"), ("shelf", "Shelf"), ("locker", "Locker"), ("vehicle", "Delivery trolley"), ("other", "Other")], max_length=20)),
                        ("site", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="locations", to="directory.site")),
                    ],
                    options={
                        "db_table": "custody_location",
                        "constraints": [models.UniqueConstraint(fields=("site", "code"), name="location_code")],
                    },
                ),
            ],
        ),
    ]
