"""Regressions for the findings of a code review (session 2): each test failed before its fix."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.message import sanitize_address
from django.utils import timezone

from account.models import Plan, User
from account.tests.factories import PASSWORD
from books import trials
from books.models import FreeTrial
from books.tasks import expire_trials
from books.tests.test_trials import sign_up, subscription
from conftest import committing, last_code

REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/verify-email/"
RESEND = "/api/v1/auth/resend-code/"


# --- Free trials --------------------------------------------------------------------------------------


@pytest.mark.django_db
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

    # Refused as the address it is (after deleting the account: test_trials.py, one trial ever).
    assert response.json()["code"] == "email_taken"
    trialing_accounts = [u.email for u in User.objects.all() if subscription(api_client, u)["status"] == "trialing"]
    assert trialing_accounts == [first.email]
    assert FreeTrial.objects.filter(starts_at__isnull=False).count() == 1


@pytest.mark.django_db
def test_verifying_an_account_an_admin_put_on_premium_does_not_downgrade_it_to_the_trial_plan(api_client, tasks):
    # An admin creates the account (admin forms leave it unverified) and comps it premium.
    partner = User.objects.create_user("partner@example.com", PASSWORD, plan=Plan.PREMIUM)
    assert not partner.is_verified
    api_client.post(RESEND, {"email": partner.email, "purpose": "verify_email"}, format="json")
    assert api_client.post(VERIFY, {"email": partner.email, "code": last_code()}, format="json").status_code == 200

    tasks.run_all()

    partner.refresh_from_db()
    assert partner.plan == Plan.PREMIUM  # today: basic for 30 days, then free


@pytest.mark.django_db
def test_a_reader_who_keeps_an_admin_set_plan_is_not_told_they_are_back_on_free(trialing, time_machine):
    User.objects.filter(pk=trialing.pk).update(plan=Plan.PREMIUM)

    time_machine.move_to(timezone.now() + timedelta(days=31))
    committing(expire_trials)

    trialing.refresh_from_db()
    assert trialing.plan == Plan.PREMIUM
    wrong = [m.subject for m in mail.outbox if "back on the free plan" in m.body]
    assert wrong == []


@pytest.mark.django_db
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


# --- Errors -------------------------------------------------------------------------------------------
