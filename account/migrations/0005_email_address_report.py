# Stored addresses under the one-spelling rules (issue 12): the safe rewrites, and a report of the rest.

from django.db import migrations

from account.addresses import migrate_addresses


def check_user_addresses(apps, schema_editor):
    migrate_addresses(apps.get_model("account", "User"))


class Migration(migrations.Migration):

    dependencies = [
        ('account', '0004_worker_heartbeat_trial_emails'),
    ]

    operations = [
        migrations.RunPython(check_user_addresses, migrations.RunPython.noop),
    ]
