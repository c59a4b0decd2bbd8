# State only: the models moved to the directory app keep their tables (renamed in directory 0002).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('access', '0002_alarm_rules_and_clock'),
        ('directory', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='accessalarm',
                    name='site',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_alarms', to='directory.site'),
                ),
                migrations.AlterField(
                    model_name='accesscontroller',
                    name='site',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_controllers', to='directory.site'),
                ),
                migrations.AlterField(
                    model_name='accessevent',
                    name='site',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_events', to='directory.site'),
                ),
                migrations.AlterField(
                    model_name='accesslevel',
                    name='site',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_levels', to='directory.site'),
                ),
                migrations.AlterField(
                    model_name='antipassbackarea',
                    name='site',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_areas', to='directory.site'),
                ),
                migrations.AlterField(
                    model_name='cardholder',
                    name='recipient',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='cardholders', to='directory.recipient'),
                ),
                migrations.AlterField(
                    model_name='door',
                    name='location',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='doors', to='directory.location'),
                ),
                migrations.AlterField(
                    model_name='door',
                    name='site',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='doors', to='directory.site'),
                ),
                migrations.AlterField(
                    model_name='holiday',
                    name='site',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_holidays', to='directory.site'),
                ),
                migrations.AlterField(
                    model_name='schedule',
                    name='site',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_schedules', to='directory.site'),
                ),
                migrations.AlterField(
                    model_name='siterules',
                    name='site',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='access_rules', to='directory.site'),
                ),
            ],
        ),
    ]
