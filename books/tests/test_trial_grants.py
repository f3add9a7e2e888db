"""A free trial is granted once per address (however it is spelled), a few seconds after the address is
verified, by a durable task that survives lost timers, crashed runs and accounts deleted or re-created."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.message import sanitize_address
from django.utils import timezone

from account.models import EmailTask, Plan, User
from account.tasks import resume_stale_tasks
from account.tests.factories import PASSWORD, UserFactory
from bookflow_api.durable import LEASE, TaskStatus
from books import trials
from books.models import FreeTrial
from books.tests.helpers import STARTED, delete_before_the_grant, subjects, trial_mail
from books.trials import trial_grant_run
from conftest import committing, last_code, sign_up, subscription

REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/verify-email/"
RESEND = "/api/v1/auth/resend-code/"

pytestmark = pytest.mark.django_db


class ProcessDied(Exception):
    """A grant's run stopped half-way, as a killed process would (the row stays `running`)."""


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


def test_proving_the_address_with_a_reset_code_also_starts_the_trial(api_client, tasks):
    user = UserFactory(email="unverified@example.com", is_verified=False)
    api_client.post("/api/v1/auth/password/reset/", {"email": user.email}, format="json")
    body = {"email": user.email, "code": last_code(), "new_password": "another-Long-passphrase-77"}

    assert api_client.post("/api/v1/auth/password/reset/confirm/", body, format="json").status_code == 200
    tasks.run_all()
    user.refresh_from_db()
    assert user.plan == Plan.BASIC


def test_verifying_an_account_an_admin_put_on_premium_does_not_downgrade_it_to_the_trial_plan(api_client, tasks):
    # An admin creates the account (admin forms leave it unverified) and comps it premium.
    partner = User.objects.create_user("partner@example.com", PASSWORD, plan=Plan.PREMIUM)
    assert not partner.is_verified
    api_client.post(RESEND, {"email": partner.email, "purpose": "verify_email"}, format="json")
    assert api_client.post(VERIFY, {"email": partner.email, "code": last_code()}, format="json").status_code == 200

    tasks.run_all()

    partner.refresh_from_db()
    assert partner.plan == Plan.PREMIUM  # today: basic for 30 days, then free


def test_a_reader_on_a_paid_plan_whose_grant_started_nothing_is_active_not_trialing(api_client, tasks):
    reader = sign_up(api_client)
    User.objects.filter(pk=reader.pk).update(plan=Plan.BASIC)  # an admin's plan, before the grant runs
    tasks.run_all()

    answer = subscription(api_client, reader)

    assert FreeTrial.objects.get(user=reader).starts_at is None  # the grant ran and left them alone
    assert (answer["status"], answer["trial_ends_at"]) == ("active", None)


# One trial per address, ever.


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


@pytest.mark.parametrize(
    "variant",
    [
        "reader@\uff45xample.com",  # a full-width "e": IDNA (nameprep/NFKC) maps it to example.com
        "reader@exa\u00admple.com",  # an invisible soft hyphen: IDNA drops it
    ],
)
def test_one_mailbox_gets_one_trial_whatever_unicode_spelling_of_its_domain(api_client, tasks, variant):
    first = sign_up(api_client, "reader@example.com")
    tasks.run_all()
    # The same mailbox: Django's SMTP backend delivers mail for `variant` to reader@example.com.
    assert sanitize_address(variant, "utf-8") == "reader@example.com"

    response = api_client.post(REGISTER, {"email": variant, "password": PASSWORD}, format="json")
    tasks.run_all()

    # Refused as the address it is (after deleting the account: the one-trial-ever test above).
    assert response.json()["code"] == "email_taken"
    trialing_accounts = [u.email for u in User.objects.all() if subscription(api_client, u)["status"] == "trialing"]
    assert trialing_accounts == [first.email]
    assert FreeTrial.objects.filter(starts_at__isnull=False).count() == 1


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


# Lost timers and runs that died.


def test_a_lost_timer_is_picked_up_by_the_worker(api_client, tasks, time_machine):
    reader = sign_up(api_client)
    tasks.pending.clear()  # the web process died before the timer fired

    time_machine.move_to(timezone.now() + timedelta(minutes=1))
    committing(resume_stale_tasks)

    assert subscription(api_client, reader)["status"] == "trialing"


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


# Accounts deleted before their grant, and re-created.


def test_an_account_deleted_before_the_grant_gets_nothing_and_nothing_crashes(api_client, tasks):
    sign_up(api_client)
    User.objects.filter(email="new@example.com").delete()

    tasks.run_all()

    trial = FreeTrial.objects.get()
    assert (trial.status, trial.error_code, trial.starts_at) == (TaskStatus.FAILED, "account_deleted", None)


def test_an_account_re_created_after_one_deleted_before_its_grant_gets_the_trial(api_client, tasks):
    sign_up(api_client)
    User.objects.filter(email="new@example.com").delete()
    tasks.run_all()  # the grant finds no account: failed, trial never started

    reader = sign_up(api_client)
    tasks.run_all()

    assert subscription(api_client, reader)["status"] == "trialing"
    assert FreeTrial.objects.count() == 1


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


def test_re_creating_one_deleted_account_leaves_another_address_its_own_trial(api_client, tasks):
    delete_before_the_grant(api_client, tasks, "first@example.com", "second@example.com")

    first = sign_up(api_client, "first@example.com")
    tasks.run_all()
    second = sign_up(api_client, "second@example.com")
    tasks.run_all()

    assert subscription(api_client, first)["status"] == "trialing"
    assert subscription(api_client, second)["status"] == "trialing"
    assert trial_mail("second@example.com") == [STARTED]
