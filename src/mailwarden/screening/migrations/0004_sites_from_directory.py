# State only: the models moved to the directory app keep their tables (renamed in directory 0002).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('directory', '0001_initial'),
        ('screening', '0003_decision_seconds_on_item'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='sitepolicy',
                    name='site',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='screening_policy', to='directory.site'),
                ),
            ],
        ),
    ]
