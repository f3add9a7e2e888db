"""A trial ends on time with one email, after one reminder about three days before; a plan an admin set
survives both, and the hourly and daily jobs hold against batches, races and each other."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from account.models import Plan, User
from account.tests.factories import UserFactory
from books import trials
from books.models import FreeTrial
from books.tasks import expire_trials, trial_ending_reminders
from books.tests.helpers import ENDED, ENDING, subjects, trial_mail
from conftest import committing, sign_up, subscription

pytestmark = pytest.mark.django_db


# The end.


def test_the_trial_ends_on_time_once_with_one_email(api_client, trialing, time_machine):
    time_machine.move_to(timezone.now() + timedelta(days=29, hours=23))
    assert committing(expire_trials) == 0

    time_machine.move_to(timezone.now() + timedelta(hours=2))
    assert committing(expire_trials) == 1
    assert committing(expire_trials) == 0

    state = subscription(api_client, trialing)
    assert (state["plan"], state["status"]) == ("free", "expired")
    assert state["quotas"]["summaries"]["limit"] == 1
    assert subjects("reader@example.com") == ["Your BookFlow free trial has ended"]


def test_a_plan_an_admin_set_during_the_trial_survives_its_end(api_client, trialing, time_machine):
    User.objects.filter(email="reader@example.com").update(plan=Plan.PREMIUM)

    time_machine.move_to(timezone.now() + timedelta(days=31))
    committing(expire_trials)

    state = subscription(api_client, trialing)
    assert (state["plan"], state["status"]) == ("premium", "active")


def test_a_reader_who_keeps_an_admin_set_plan_is_not_told_they_are_back_on_free(trialing, time_machine):
    User.objects.filter(pk=trialing.pk).update(plan=Plan.PREMIUM)

    time_machine.move_to(timezone.now() + timedelta(days=31))
    committing(expire_trials)

    trialing.refresh_from_db()
    assert trialing.plan == Plan.PREMIUM
    wrong = [m.subject for m in mail.outbox if "back on the free plan" in m.body]
    assert wrong == []


def test_expire_trials_does_not_end_a_trial_an_admin_extended_while_the_job_ran(trialing, time_machine, monkeypatch):
    time_machine.move_to(timezone.now() + timedelta(days=30, minutes=5))
    trial = FreeTrial.objects.get()
    real_trial_end = trials.trial_end

    def admin_extends_first(*, trial, **kwargs):
        # The admin's "Extend by 7 days" commits after expire_trials read its batch, before it reaches this row.
        assert trials.trial_extend(trial=trial, days=7)
        return real_trial_end(trial=trial, **kwargs)

    monkeypatch.setattr(trials, "trial_end", admin_extends_first)
    committing(expire_trials)

    trial.refresh_from_db()
    trialing.refresh_from_db()
    assert trial.ends_at > timezone.now()
    assert (trial.ended_at, trialing.plan) == (None, Plan.BASIC)


def test_the_hourly_expiry_ends_every_due_trial_across_batches_and_finishes(
    api_client, pinned, time_machine, monkeypatch
):
    monkeypatch.setattr(trials, "BATCH_SIZE", 2)
    real_end, handed = trials.trial_end, []

    def end_once(*, trial, due=False):
        assert trial.pk not in handed, "the job came back to a trial it had handled: it would never finish"
        handed.append(trial.pk)
        return real_end(trial=trial, due=due)

    monkeypatch.setattr(trials, "trial_end", end_once)
    lengths = {"early": 1, "due1": 1, "due2": 2, "due3": 3, "later1": 30, "later2": 30}
    readers = {name: UserFactory(email=f"{name}@example.com") for name in lengths}
    for name, days in lengths.items():
        committing(trials.trial_grant_now, user=readers[name], days=days)
    committing(real_end, trial=FreeTrial.objects.get(user=readers["early"]))  # an admin ended it early

    time_machine.move_to(pinned + timedelta(days=4))
    assert committing(trials.expire_trials) == 3

    statuses = {name: subscription(api_client, reader)["status"] for name, reader in readers.items()}
    assert statuses == {name: "trialing" if days == 30 else "expired" for name, days in lengths.items()}


# The reminder.


def test_one_reminder_about_three_days_before_the_end(trialing, time_machine):
    assert committing(trial_ending_reminders) == 0
    time_machine.move_to(timezone.now() + timedelta(days=26, hours=23))
    assert committing(trial_ending_reminders) == 0

    time_machine.move_to(timezone.now() + timedelta(hours=2))
    assert committing(trial_ending_reminders) == 1
    time_machine.move_to(timezone.now() + timedelta(hours=1))
    assert committing(trial_ending_reminders) == 0

    assert subjects("reader@example.com") == ["Your BookFlow free trial ends soon"]
    assert "free plan" in mail.outbox[0].body


def test_a_trial_shorter_than_the_reminder_window_gets_no_reminder(api_client, tasks, settings):
    settings.FREE_TRIAL_DAYS = 2
    sign_up(api_client)
    tasks.run_all()

    assert committing(trial_ending_reminders) == 0


def test_no_ending_reminder_for_a_reader_an_admin_moved_to_a_plan_of_their_own(trialing, time_machine):
    User.objects.filter(pk=trialing.pk).update(plan=Plan.PREMIUM)

    time_machine.move_to(timezone.now() + timedelta(days=27, hours=1))

    assert committing(trials.trial_ending_reminders) == 0
    assert mail.outbox == []


@pytest.fixture
def two_ending_soon(pinned, time_machine) -> list[User]:
    readers = [UserFactory(email="one@example.com"), UserFactory(email="two@example.com")]
    for reader in readers:
        committing(trials.trial_grant_now, user=reader)
    time_machine.move_to(pinned + timedelta(days=27, hours=1))
    mail.outbox.clear()
    return readers


def race_at_the_first_reminder(monkeypatch, race) -> None:
    """Run `race(user)` while the reminder job sends its first email, between its query and its other updates."""
    real, raced = trials.email_enqueue, []

    def enqueue(*, user, kind):
        if not raced:
            raced.append(user)
            race(user)
        return real(user=user, kind=kind)

    monkeypatch.setattr(trials, "email_enqueue", enqueue)


def test_two_reminder_jobs_running_at_once_remind_each_reader_once(two_ending_soon, monkeypatch):
    race_at_the_first_reminder(monkeypatch, lambda user: trials.trial_ending_reminders())

    committing(trials.trial_ending_reminders)

    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        ("one@example.com", ENDING),
        ("two@example.com", ENDING),
    ]


def test_a_trial_ended_while_the_reminder_job_runs_gets_no_ends_soon_email(two_ending_soon, monkeypatch):
    def admin_ends_the_other(user):
        trials.trial_end(trial=FreeTrial.objects.exclude(user=user).get())

    race_at_the_first_reminder(monkeypatch, admin_ends_the_other)

    assert committing(trials.trial_ending_reminders) == 1
    by_reader = {reader.email: trial_mail(reader.email) for reader in two_ending_soon}
    assert sorted(by_reader.values()) == [[ENDING], [ENDED]]
