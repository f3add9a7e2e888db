"""Books' data migrations keep existing rows: the trial state moves to account's Subscription, and a trial's
address is rewritten to its one spelling."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from books.models import FreeTrial

BEFORE = [("account", "0005_email_address_report"), ("books", "0005_freetrial_address_report")]
AFTER = [("account", "0006_subscription"), ("books", "0006_subscriptions_from_trials")]


@pytest.mark.django_db(transaction=True)
def test_running_and_ended_trials_become_subscriptions_and_nothing_is_lost():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User, FreeTrial = old.get_model("account", "User"), old.get_model("books", "FreeTrial")
    now = timezone.now()
    running = User.objects.create(email="running@example.com", plan="basic", is_verified=True)
    ended = User.objects.create(email="ended@example.com", plan="free", is_verified=True)
    waiting = User.objects.create(email="waiting@example.com", plan="free", is_verified=True)
    FreeTrial.objects.create(
        email=running.email, user_id=running.pk, plan="basic", starts_at=now, ends_at=now + timedelta(days=30)
    )
    FreeTrial.objects.create(
        email=ended.email,
        user_id=ended.pk,
        plan="basic",
        starts_at=now - timedelta(days=40),
        ends_at=now - timedelta(days=10),
        ended_at=now,
    )
    FreeTrial.objects.create(email=waiting.email, user_id=waiting.pk, plan="basic")  # its grant has not run yet

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    Subscription, FreeTrial = new.get_model("account", "Subscription"), new.get_model("books", "FreeTrial")

    rows = {s.user.email: (s.plan, s.status, s.trial_ends_at) for s in Subscription.objects.select_related("user")}
    assert rows == {
        "running@example.com": ("basic", "trialing", now + timedelta(days=30)),
        "ended@example.com": ("basic", "expired", now - timedelta(days=10)),
    }
    assert FreeTrial.objects.count() == 3  # one trial per address ever: the rows stay
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest schema for the next tests


@pytest.mark.django_db
def test_the_trials_migration_keeps_a_rewritten_address_on_the_trial_it_had(capsys):
    FreeTrial.objects.create(email='"once"@example.com')
    migration = importlib.import_module("books.migrations.0005_freetrial_address_report")

    migration.check_trial_addresses(apps, schema_editor=None)

    assert list(FreeTrial.objects.values_list("email", flat=True)) == ["once@example.com"]
    assert "books.FreeTrial.email: rewritten" in capsys.readouterr().out
