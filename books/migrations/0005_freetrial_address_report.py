# Free trials are keyed by address: the same check as account's users (issue 12), so an address rewritten to
# its one spelling still finds the trial it had under the old one.

from django.db import migrations

from account.addresses import migrate_addresses


def check_trial_addresses(apps, schema_editor):
    migrate_addresses(apps.get_model("books", "FreeTrial"))


class Migration(migrations.Migration):

    dependencies = [
        ('account', '0005_email_address_report'),
        ('books', '0004_summary_failed_rounds_upstream_usage'),
    ]

    operations = [
        migrations.RunPython(check_trial_addresses, migrations.RunPython.noop),
    ]
