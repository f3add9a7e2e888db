# Trial state moves to account.Subscription (issue 13): one row per reader whose trial started, as
# `subscription_of` used to read it from FreeTrial. FreeTrial keeps its rows (one trial per address ever).

from django.db import migrations


def trials_to_subscriptions(apps, schema_editor):
    FreeTrial = apps.get_model("books", "FreeTrial")
    Subscription = apps.get_model("account", "Subscription")
    started = FreeTrial.objects.filter(user__isnull=False, starts_at__isnull=False).order_by("starts_at")
    for trial in started.iterator(chunk_size=500):  # the latest trial of a reader wins, as trial_of read it
        Subscription.objects.update_or_create(
            user_id=trial.user_id,
            defaults={
                "plan": trial.plan,
                "status": "trialing" if trial.ended_at is None else "expired",
                "trial_started_at": trial.starts_at,
                "trial_ends_at": trial.ends_at,
            },
        )


def subscriptions_to_trials(apps, schema_editor):
    """Back: the trial rows still hold everything; the subscriptions go with their table."""


class Migration(migrations.Migration):
    dependencies = [
        ("account", "0006_subscription"),
        ("books", "0005_freetrial_address_report"),
    ]

    operations = [migrations.RunPython(trials_to_subscriptions, subscriptions_to_trials)]
