"""Free trials: granted once per address after verification, reminded, ended, and managed in admin."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from account.models import EmailTask, Plan, User
from account.tasks import resume_stale_tasks
from account.tests.factories import PASSWORD, UserFactory
from bookflow_api.durable import TaskStatus
from books.models import FreeTrial
from books.tasks import expire_trials, trial_ending_reminders
from books.trials import trial_grant_run
from conftest import committing, last_code, sign_up, subscription

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/verify-email/"
SUBSCRIPTION = "/api/v1/account/subscription/"


def subjects(to: str) -> list[str]:
    return [m.subject for m in mail.outbox if to in m.to]


def test_a_verified_reader_is_trialing_five_seconds_later_with_one_email(api_client, tasks, settings):
    reader = sign_up(api_client)
    before = subscription(api_client, reader)
    [(func, args, delay)] = tasks.pending
    tasks.run_all()
    after = subscription(api_client, reader)

    assert delay == settings.FREE_TRIAL_DELAY_SECONDS == 5
    assert before["status"] == "none" and before["plan"] == "free"
    assert after["status"] == "trialing" and after["plan"] == "basic"
    assert after["quotas"]["summaries"]["limit"] == 10
    ends = timezone.datetime.fromisoformat(after["trial_ends_at"])
    assert abs(ends - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert subjects("new@example.com").count("Your BookFlow free trial has started") == 1
    message = [m for m in mail.outbox if m.subject.endswith("has started")][0]
    assert "30 days" in message.body and "basic" in message.body.lower()
    assert message.alternatives[0][1] == "text/html"


def test_the_grant_runs_once_however_often_its_task_is_run(api_client, tasks):
    sign_up(api_client)
    trial = FreeTrial.objects.get()
    tasks.run_all()

    committing(trial_grant_run, trial.pk)
    committing(trial_grant_run, trial.pk, stale=True)
    committing(resume_stale_tasks)

    trial.refresh_from_db()
    assert (trial.status, trial.attempts) == (TaskStatus.READY, 1)
    assert EmailTask.objects.filter(kind=EmailTask.Kind.TRIAL_STARTED).count() == 1
    assert subjects("new@example.com").count("Your BookFlow free trial has started") == 1


@pytest.mark.parametrize(
    "spelling",
    [
        "Once@Example.com",
        '"Once"@example.com',
        "once@\uff45xample.com",  # a full-width "e": IDNA (nameprep/NFKC) maps it to example.com
        "once@exa\u00admple.com",  # an invisible soft hyphen: IDNA drops it
    ],
)
def test_an_address_gets_one_trial_ever_even_after_deleting_the_account(api_client, tasks, spelling):
    reader = sign_up(api_client, "once@example.com")
    tasks.run_all()
    api_client.force_authenticate(reader)
    assert api_client.delete("/api/v1/account/me/", {"password": PASSWORD}, format="json").status_code == 204
    api_client.force_authenticate(None)

    reader = sign_up(api_client, spelling)  # the same mailbox
    tasks.run_all()

    assert tasks.pending == []
    assert subscription(api_client, reader)["status"] == "none"
    assert FreeTrial.objects.get().email == "once@example.com"
    assert subjects("once@example.com").count("Your BookFlow free trial has started") == 1


def test_a_lost_timer_is_picked_up_by_the_worker(api_client, tasks, time_machine):
    reader = sign_up(api_client)
    tasks.pending.clear()  # the web process died before the timer fired

    time_machine.move_to(timezone.now() + timedelta(minutes=1))
    committing(resume_stale_tasks)

    assert subscription(api_client, reader)["status"] == "trialing"


def test_proving_the_address_with_a_reset_code_also_starts_the_trial(api_client, tasks):
    user = UserFactory(email="unverified@example.com", is_verified=False)
    api_client.post("/api/v1/auth/password/reset/", {"email": user.email}, format="json")
    body = {"email": user.email, "code": last_code(), "new_password": "another-Long-passphrase-77"}

    assert api_client.post("/api/v1/auth/password/reset/confirm/", body, format="json").status_code == 200
    tasks.run_all()
    user.refresh_from_db()
    assert user.plan == Plan.BASIC


def test_an_account_deleted_before_the_grant_gets_nothing_and_nothing_crashes(api_client, tasks):
    sign_up(api_client)
    User.objects.filter(email="new@example.com").delete()

    tasks.run_all()

    trial = FreeTrial.objects.get()
    assert (trial.status, trial.error_code, trial.starts_at) == (TaskStatus.FAILED, "account_deleted", None)


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


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin@example.com", "admin-pass-123456"))
    return client


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


def test_an_account_re_created_after_one_deleted_before_its_grant_gets_the_trial(api_client, tasks):
    sign_up(api_client)
    User.objects.filter(email="new@example.com").delete()
    tasks.run_all()  # the grant finds no account: failed, trial never started

    reader = sign_up(api_client)
    tasks.run_all()

    assert subscription(api_client, reader)["status"] == "trialing"
    assert FreeTrial.objects.count() == 1
