# State only: the models moved to the directory app keep their tables (renamed in directory 0002).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('access', '0003_sites_and_people_from_directory'),
        ('custody', '0002_search_indexes'),
        ('directory', '0001_initial'),
        ('screening', '0004_sites_from_directory'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='mailitem',
                    name='location',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='items', to='directory.location'),
                ),
                migrations.RemoveField(
                    model_name='recipient',
                    name='manager',
                ),
                migrations.RemoveField(
                    model_name='recipient',
                    name='user',
                ),
                migrations.AlterField(
                    model_name='mailitem',
                    name='recipient',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='items', to='directory.recipient'),
                ),
                migrations.AlterField(
                    model_name='mailitem',
                    name='site',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='items', to='directory.site'),
                ),
                migrations.DeleteModel(
                    name='Location',
                ),
                migrations.DeleteModel(
                    name='Recipient',
                ),
                migrations.DeleteModel(
                    name='Site',
                ),
            ],
        ),
    ]
