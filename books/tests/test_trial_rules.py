"""Free trial rules the happy paths in test_trials.py leave open: re-created accounts, crashed grants, admin
grants and ends over every earlier state, other readers left alone, and the worker jobs' edges."""

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from account.models import Plan, User
from account.tasks import resume_stale_tasks
from account.tests.factories import UserFactory
from bookflow_api.durable import LEASE, TaskStatus
from books import trials
from books.models import FreeTrial
from conftest import committing, sign_up, subscription

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/verify-email/"
SUBSCRIPTION = "/api/v1/account/subscription/"
USERS = "/admin/account/user/"
FREE_TRIALS = "/admin/books/freetrial/"
ADMIN = "admin@example.com"

STARTED = "Your BookFlow free trial has started"
ENDING = "Your BookFlow free trial ends soon"
ENDED = "Your BookFlow free trial has ended"


class ProcessDied(Exception):
    """A grant's run stopped half-way, as a killed process would (the row stays `running`)."""


def trial_mail(to: str) -> list[str]:
    """The subjects of the trial emails `to` got, oldest first."""
    return [m.subject for m in mail.outbox if to in m.to and "trial" in m.subject]


def admin_action(admin_client, changelist: str, action: str, objects) -> list[str]:
    """Run an admin action on `objects` as an admin would; return the messages the admin is shown."""
    admin_client.force_login(User.objects.get(email=ADMIN))  # afresh: the clock may have outrun the session
    data = {"action": action, "_selected_action": [obj.pk for obj in objects]}
    response = committing(admin_client.post, changelist, data, follow=True)
    assert (response.status_code, response.request["PATH_INFO"]) == (200, changelist)
    return [str(message) for message in response.context["messages"]]


def crash_grant_runs(monkeypatch, times: int) -> None:
    """The next `times` grant runs die after claiming their row (before anything else is written)."""
    real, left = trials.email_enqueue, [times]

    def enqueue(**kwargs):
        if left[0]:
            left[0] -= 1
            raise ProcessDied
        return real(**kwargs)

    monkeypatch.setattr(trials, "email_enqueue", enqueue)


def after_the_lease(time_machine) -> None:
    time_machine.move_to(timezone.now() + LEASE + timedelta(seconds=1))


def delete_before_the_grant(api_client, tasks, *emails: str) -> None:
    """Sign up and verify each address, then delete the accounts before their grants run."""
    for email in emails:
        sign_up(api_client, email)
    User.objects.filter(email__in=emails).delete()
    tasks.run_all()  # each grant finds no account: failed, trial never started


@pytest.fixture
def admin_client(client):
    User.objects.create_superuser(ADMIN, "admin-pass-123456")
    return client


@pytest.fixture
def pinned(time_machine) -> datetime:
    """A frozen clock, for dates compared exactly."""
    start = datetime.fromisoformat("2026-03-02T09:00:00+00:00")
    time_machine.move_to(start, tick=False)
    return start


# Granting: the delay, re-created accounts, crashed runs.


def test_the_worker_does_not_grant_a_lost_timers_trial_before_the_delay(api_client, tasks, settings, time_machine):
    settings.FREE_TRIAL_DELAY_SECONDS = 3600
    reader = sign_up(api_client)
    tasks.pending.clear()  # the web process died with the timer

    time_machine.move_to(timezone.now() + timedelta(minutes=10))
    committing(resume_stale_tasks)
    assert subscription(api_client, reader)["status"] == "none"

    time_machine.move_to(timezone.now() + timedelta(minutes=51))
    committing(resume_stale_tasks)
    assert subscription(api_client, reader)["status"] == "trialing"


def test_a_re_created_accounts_grant_starts_afresh_and_waits_the_delay_too(api_client, tasks, settings, time_machine):
    settings.FREE_TRIAL_DELAY_SECONDS = 3600
    delete_before_the_grant(api_client, tasks, "new@example.com")
    reader = sign_up(api_client)
    tasks.pending.clear()  # and this timer is lost

    trial = FreeTrial.objects.get()
    assert (trial.status, trial.attempts, trial.error_code, trial.finished_at) == (TaskStatus.PENDING, 0, "", None)

    time_machine.move_to(timezone.now() + timedelta(minutes=10))
    committing(resume_stale_tasks)
    assert subscription(api_client, reader)["status"] == "none"

    time_machine.move_to(timezone.now() + timedelta(minutes=51))
    committing(resume_stale_tasks)
    assert subscription(api_client, reader)["status"] == "trialing"


def test_a_re_created_accounts_grant_survives_three_dead_runs_like_any_grant(
    api_client, tasks, monkeypatch, time_machine
):
    delete_before_the_grant(api_client, tasks, "new@example.com")
    reader = sign_up(api_client)
    crash_grant_runs(monkeypatch, times=3)

    with pytest.raises(ProcessDied):
        tasks.run_all()
    for _ in range(2):
        after_the_lease(time_machine)
        with pytest.raises(ProcessDied):
            committing(resume_stale_tasks)
    after_the_lease(time_machine)
    committing(resume_stale_tasks)  # the fourth and last run allowed

    assert subscription(api_client, reader)["status"] == "trialing"
    assert trial_mail("new@example.com") == [STARTED]


def test_a_grant_abandoned_after_every_run_died_is_not_rerun_by_re_creating_the_account(
    api_client, tasks, monkeypatch, time_machine
):
    sign_up(api_client)
    crash_grant_runs(monkeypatch, times=4)
    with pytest.raises(ProcessDied):
        tasks.run_all()
    for _ in range(3):
        after_the_lease(time_machine)
        with pytest.raises(ProcessDied):
            committing(resume_stale_tasks)
    after_the_lease(time_machine)
    committing(resume_stale_tasks)
    assert FreeTrial.objects.get().error_code == "abandoned"

    User.objects.filter(email="new@example.com").delete()
    reader = sign_up(api_client)
    tasks.run_all()

    assert tasks.pending == []
    assert subscription(api_client, reader)["status"] == "none"


def test_re_creating_one_deleted_account_leaves_another_address_its_own_trial(api_client, tasks):
    delete_before_the_grant(api_client, tasks, "first@example.com", "second@example.com")

    first = sign_up(api_client, "first@example.com")
    tasks.run_all()
    second = sign_up(api_client, "second@example.com")
    tasks.run_all()

    assert subscription(api_client, first)["status"] == "trialing"
    assert subscription(api_client, second)["status"] == "trialing"
    assert trial_mail("second@example.com") == [STARTED]


# Other readers are never touched.


def test_starting_and_ending_one_readers_trial_leaves_every_other_reader_alone(api_client, tasks, admin_client):
    paying = UserFactory(email="paying@example.com", plan=Plan.BASIC)
    free = UserFactory(email="free@example.com")
    ended = sign_up(api_client, "ended@example.com")
    running = sign_up(api_client, "running@example.com")
    tasks.run_all()

    admin_action(admin_client, FREE_TRIALS, "end_now", FreeTrial.objects.filter(user=ended))

    states = [subscription(api_client, reader) for reader in (ended, running, paying, free)]
    assert [(state["plan"], state["status"]) for state in states] == [
        ("free", "expired"),
        ("basic", "trialing"),
        ("basic", "active"),
        ("free", "none"),
    ]
    assert trial_mail("running@example.com") == [STARTED]
    assert trial_mail("paying@example.com") == trial_mail("free@example.com") == []


# Admin grants.


def test_the_admin_is_told_how_many_readers_got_a_trial_and_how_many_were_left_alone(admin_client):
    reader = UserFactory(email="reader@example.com")
    paying = UserFactory(email="paying@example.com", plan=Plan.PREMIUM)

    shown = admin_action(admin_client, USERS, "grant_free_trial", [reader, paying])

    assert shown == ["Granted 30 days of basic to 1 reader(s); 1 already on a paid plan were left alone."]
    paying.refresh_from_db()
    assert paying.plan == Plan.PREMIUM
    assert trial_mail("paying@example.com") == []
    assert trial_mail("reader@example.com") == [STARTED]


def test_an_admin_grant_over_a_failed_grant_is_a_clean_ready_trial_of_the_new_account(
    api_client, tasks, admin_client, time_machine
):
    delete_before_the_grant(api_client, tasks, "new@example.com")
    reader = UserFactory(email="new@example.com", is_verified=False)  # back, not verified yet
    time_machine.move_to(timezone.now() + timedelta(hours=1), tick=False)

    admin_action(admin_client, USERS, "grant_free_trial", [reader])

    trial = FreeTrial.objects.get()
    assert (trial.user, trial.status, trial.finished_at) == (reader, TaskStatus.READY, timezone.now())
    assert (trial.error_code, trial.error_detail) == ("", "")
    assert subscription(api_client, reader)["status"] == "trialing"


def test_an_admin_grant_during_the_delay_is_the_addresss_one_trial(api_client, tasks, admin_client):
    reader = sign_up(api_client)  # its grant is due in a few seconds

    admin_action(admin_client, USERS, "grant_free_trial", [reader])
    admin_action(admin_client, FREE_TRIALS, "end_now", FreeTrial.objects.all())
    tasks.run_all()  # the scheduled grant's timer fires

    state = subscription(api_client, reader)
    assert (state["plan"], state["status"]) == ("free", "expired")
    assert trial_mail("new@example.com") == [STARTED, ENDED]


def test_an_admin_grant_after_the_address_had_its_trial_ends_on_time_with_its_email(
    api_client, tasks, admin_client, time_machine
):
    sign_up(api_client)
    tasks.run_all()
    User.objects.filter(email="new@example.com").delete()
    reader = sign_up(api_client)  # the address had its trial: nothing is scheduled

    admin_action(admin_client, USERS, "grant_free_trial", [reader])
    assert subscription(api_client, reader)["status"] == "trialing"
    time_machine.move_to(timezone.now() + timedelta(days=30, minutes=1))
    assert committing(trials.expire_trials) == 1

    state = subscription(api_client, reader)
    assert (state["plan"], state["status"]) == ("free", "expired")
    assert trial_mail("new@example.com") == [STARTED, STARTED, ENDED]


def test_a_grant_for_seven_days_ends_seven_days_on_and_says_so(pinned):
    reader = UserFactory(email="week@example.com")

    assert committing(trials.trial_grant_now, user=reader, days=7) is True

    assert FreeTrial.objects.get().ends_at == pinned + timedelta(days=7)
    [message] = mail.outbox
    assert message.subject == STARTED
    assert "For the next 7 days" in message.body and "9 March 2026" in message.body


def test_trials_are_on_the_configured_plan_whoever_grants_them(api_client, tasks, admin_client, settings):
    settings.FREE_TRIAL_PLAN = Plan.PREMIUM
    verified = sign_up(api_client, "verified@example.com")
    tasks.run_all()
    granted = UserFactory(email="granted@example.com")

    admin_action(admin_client, USERS, "grant_free_trial", [granted])

    for reader in (verified, granted):
        state = subscription(api_client, reader)
        assert (state["plan"], state["status"]) == ("premium", "trialing")


def test_a_restarted_trial_is_reminded_and_ended_again(api_client, trialing, admin_client, time_machine):
    time_machine.move_to(timezone.now() + timedelta(days=27, hours=1))
    assert committing(trials.trial_ending_reminders) == 1
    time_machine.move_to(timezone.now() + timedelta(days=3))
    assert committing(trials.expire_trials) == 1

    admin_action(admin_client, USERS, "grant_free_trial", [trialing])
    assert subscription(api_client, trialing)["status"] == "trialing"

    time_machine.move_to(timezone.now() + timedelta(days=27, hours=1))
    assert committing(trials.trial_ending_reminders) == 1
    time_machine.move_to(timezone.now() + timedelta(days=3))
    assert committing(trials.expire_trials) == 1
    assert subscription(api_client, trialing)["status"] == "expired"
    assert trial_mail("reader@example.com") == [ENDING, ENDED, STARTED, ENDING, ENDED]


# Admin extends and ends.


def test_an_extended_trial_is_reminded_again_before_its_new_end_and_no_other_trial_moves(
    api_client, admin_client, pinned, time_machine
):
    extended, other = UserFactory(email="extended@example.com"), UserFactory(email="other@example.com")
    for reader in (extended, other):
        committing(trials.trial_grant_now, user=reader)
    time_machine.move_to(pinned + timedelta(days=27, hours=1))
    assert committing(trials.trial_ending_reminders) == 2

    admin_action(admin_client, FREE_TRIALS, "extend_30_days", FreeTrial.objects.filter(user=extended))
    time_machine.move_to(pinned + timedelta(days=30, hours=1))
    assert committing(trials.expire_trials) == 1
    time_machine.move_to(pinned + timedelta(days=57, hours=1))
    assert committing(trials.trial_ending_reminders) == 1

    ends = datetime.fromisoformat(subscription(api_client, extended)["trial_ends_at"])
    assert ends == pinned + timedelta(days=60)
    assert trial_mail("extended@example.com") == [STARTED, ENDING, ENDING]
    assert trial_mail("other@example.com") == [STARTED, ENDING, ENDED]


def test_extending_changes_only_running_trials(api_client, tasks, admin_client):
    over = sign_up(api_client, "over@example.com")
    tasks.run_all()
    admin_action(admin_client, FREE_TRIALS, "end_now", FreeTrial.objects.all())
    ended_on = subscription(api_client, over)["trial_ends_at"]
    sign_up(api_client, "waiting@example.com")  # its grant has not run yet

    shown = admin_action(admin_client, FREE_TRIALS, "extend_7_days", FreeTrial.objects.all())

    assert shown == ["Extended 0 running trial(s) by 7 days."]
    state = subscription(api_client, over)
    assert (state["status"], state["trial_ends_at"]) == ("expired", ended_on)


def test_ending_a_trial_that_is_not_running_changes_nothing(api_client, tasks, admin_client):
    over = sign_up(api_client, "over@example.com")
    tasks.run_all()
    admin_action(admin_client, FREE_TRIALS, "end_now", FreeTrial.objects.all())
    waiting = sign_up(api_client, "waiting@example.com")  # its grant has not run yet
    User.objects.filter(pk__in=[over.pk, waiting.pk]).update(plan=Plan.BASIC)  # both now pay for basic

    shown = admin_action(admin_client, FREE_TRIALS, "end_now", FreeTrial.objects.all())

    assert shown == ["Ended 0 running trial(s)."]
    assert [User.objects.get(pk=reader.pk).plan for reader in (over, waiting)] == [Plan.BASIC, Plan.BASIC]
    assert trial_mail("over@example.com") == [STARTED, ENDED]
    assert trial_mail("waiting@example.com") == []


# The worker's jobs.


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


def test_a_reader_on_a_paid_plan_whose_grant_started_nothing_is_active_not_trialing(api_client, tasks):
    reader = sign_up(api_client)
    User.objects.filter(pk=reader.pk).update(plan=Plan.BASIC)  # an admin's plan, before the grant runs
    tasks.run_all()

    answer = subscription(api_client, reader)

    assert FreeTrial.objects.get(user=reader).starts_at is None  # the grant ran and left them alone
    assert (answer["status"], answer["trial_ends_at"]) == ("active", None)
