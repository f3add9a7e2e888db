"""An admin grants, extends and ends trials: over any earlier state of the address, on the configured plan,
with the emails a reader would get, and leaving every other reader alone."""

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from account.models import Plan, User
from account.tests.factories import UserFactory
from bookflow_api.durable import TaskStatus
from books import trials
from books.models import FreeTrial
from books.tests.helpers import ENDED, ENDING, STARTED, delete_before_the_grant, subjects, trial_mail
from conftest import committing, sign_up, subscription

USERS = "/admin/account/user/"
FREE_TRIALS = "/admin/books/freetrial/"
ADMIN = "admin@example.com"  # the admin_client fixture's

pytestmark = pytest.mark.django_db


def admin_action(admin_client, changelist: str, action: str, objects) -> list[str]:
    """Run an admin action on `objects` as an admin would; return the messages the admin is shown."""
    admin_client.force_login(User.objects.get(email=ADMIN))  # afresh: the clock may have outrun the session
    data = {"action": action, "_selected_action": [obj.pk for obj in objects]}
    response = committing(admin_client.post, changelist, data, follow=True)
    assert (response.status_code, response.request["PATH_INFO"]) == (200, changelist)
    return [str(message) for message in response.context["messages"]]


# Granting.


def test_admin_grants_extends_and_ends_a_trial(admin_client, api_client):
    reader = UserFactory(email="granted@example.com")

    committing(
        admin_client.post, "/admin/account/user/", {"action": "grant_free_trial", "_selected_action": [reader.pk]}
    )
    trial = FreeTrial.objects.get(email="granted@example.com")
    ends = trial.ends_at
    committing(
        admin_client.post, "/admin/books/freetrial/", {"action": "extend_7_days", "_selected_action": [trial.pk]}
    )
    trial.refresh_from_db()
    extended = trial.ends_at
    committing(admin_client.post, "/admin/books/freetrial/", {"action": "end_now", "_selected_action": [trial.pk]})
    trial.refresh_from_db()
    reader.refresh_from_db()

    assert extended - ends == timedelta(days=7)
    assert trial.ended_at is not None and reader.plan == Plan.FREE
    assert subjects("granted@example.com") == [
        "Your BookFlow free trial has started",
        "Your BookFlow free trial has ended",
    ]
    page = admin_client.get(f"/admin/books/freetrial/{trial.pk}/change/")
    assert page.status_code == 200 and b"granted@example.com" in page.content


def test_the_admin_is_told_how_many_readers_got_a_trial_and_how_many_were_left_alone(admin_client):
    reader = UserFactory(email="reader@example.com")
    paying = UserFactory(email="paying@example.com", plan=Plan.PREMIUM)

    shown = admin_action(admin_client, USERS, "grant_free_trial", [reader, paying])

    assert shown == ["Granted 30 days of basic to 1 reader(s); 1 already on a paid plan were left alone."]
    paying.refresh_from_db()
    assert paying.plan == Plan.PREMIUM
    assert trial_mail("paying@example.com") == []
    assert trial_mail("reader@example.com") == [STARTED]


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


# Extending and ending.


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
