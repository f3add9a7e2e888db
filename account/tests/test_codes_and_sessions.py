"""One-time codes, password changes and throttle windows: behaviours that mutation testing found unpinned."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from account import codes
from account.emails import email_task_run
from account.models import EmailTask, OneTimeCode
from account.tasks import delete_otps
from account.tests.factories import PASSWORD, UserFactory
from conftest import CommittingAPIClient, last_code, throttle_limit

VERIFY = "/api/v1/auth/verify-email/"
RESEND = "/api/v1/auth/resend-code/"
LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/token/refresh/"
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
CHANGE = "/api/v1/auth/password/change/"
NEW_PASSWORD = "another-Long-passphrase-77"
OTHER_PASSWORD = "yet-another-Long-passphrase-88"
RESET_PASSWORD = OneTimeCode.Purpose.RESET_PASSWORD
NOON = datetime(2026, 1, 1, 12, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def signed_in(reader) -> CommittingAPIClient:
    client = CommittingAPIClient()
    client.tokens = client.post(LOGIN, {"email": reader.email, "password": PASSWORD}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {client.tokens['access']}")
    return client


def login_status(email: str, password: str) -> int:
    return CommittingAPIClient().post(LOGIN, {"email": email, "password": password}, format="json").status_code


def refresh_status(refresh: str) -> int:
    return CommittingAPIClient().post(REFRESH, {"refresh": refresh}, format="json").status_code


def confirm(client, email: str, code: str, new_password: str = NEW_PASSWORD):
    return client.post(CONFIRM, {"email": email, "code": code, "new_password": new_password}, format="json")


def answer(response) -> tuple[int, str | None]:
    return response.status_code, response.json().get("code")


def rate(scope: str) -> tuple[int, int]:
    """(requests allowed, window in seconds) of a throttle scope, as configured."""
    return SimpleRateThrottle.parse_rate(None, SimpleRateThrottle.THROTTLE_RATES[scope])


# --- One-time codes --------------------------------------------------------------------------------


def test_a_reset_code_works_only_once(api_client):
    reader = UserFactory()
    api_client.post(RESET, {"email": reader.email}, format="json")
    code = last_code()

    first = confirm(api_client, reader.email, code)
    second = confirm(api_client, reader.email, code, OTHER_PASSWORD)

    assert first.status_code == 200
    assert answer(second) == (400, "invalid_code")
    assert login_status(reader.email, NEW_PASSWORD) == 200


def test_codes_are_six_ascii_digits_drawn_from_a_million_values():
    reader = UserFactory()

    issued = [codes.code_issue(user=reader, purpose=RESET_PASSWORD) for _ in range(300)]

    assert all(re.fullmatch(r"[0-9]{6}", code) for code in issued)
    # Among 300 draws from a million a repeat is a 1-in-20 event; five repeats never happen.
    assert len(set(issued)) >= 295


def test_a_small_code_keeps_its_leading_zeros(api_client, monkeypatch):
    reader = UserFactory()
    monkeypatch.setattr(codes.secrets, "randbelow", lambda upper: 42)

    api_client.post(RESET, {"email": reader.email}, format="json")

    assert "000042" in mail.outbox[-1].body
    assert confirm(api_client, reader.email, "000042").status_code == 200


def test_using_the_newer_reset_code_leaves_the_older_one_dead(api_client):
    reader = UserFactory()
    with time_machine.travel(NOON, tick=False):
        api_client.post(RESET, {"email": reader.email}, format="json")
        older = last_code()
    with time_machine.travel(NOON + timedelta(seconds=61), tick=False):  # past the resend cooldown
        api_client.post(RESET, {"email": reader.email}, format="json")
        newer = last_code()
        used = confirm(api_client, reader.email, newer)
        reused = confirm(api_client, reader.email, older, OTHER_PASSWORD)

    assert len(mail.outbox) == 2
    assert used.status_code == 200
    assert answer(reused) == (400, "invalid_code")


def test_a_newer_code_kills_the_older_one_before_the_newer_one_is_used(api_client):
    reader = UserFactory()
    codes.code_issue(user=reader, purpose=RESET_PASSWORD)
    newer = codes.code_issue(user=reader, purpose=RESET_PASSWORD)

    # The nightly cleanup deletes dead codes only: the older one is already among them.
    assert delete_otps() == 1
    assert confirm(api_client, reader.email, newer).status_code == 200


def test_an_unknown_address_runs_out_of_tries_on_the_same_guess_as_a_real_account(api_client, settings):
    reader = UserFactory(is_verified=False)
    wrong = f"{(int(codes.code_issue(user=reader, purpose='verify_email')) + 1) % 10**6:06d}"

    def guesses(email: str, client_ip: str) -> list[tuple[int, str]]:
        api_client.credentials(REMOTE_ADDR=client_ip)  # each address has its own IP throttle
        body = {"email": email, "code": wrong}
        return [answer(api_client.post(VERIFY, body, format="json")) for _ in range(settings.OTP_MAX_ATTEMPTS + 1)]

    real, unknown = guesses(reader.email, "10.0.0.1"), guesses("nobody@example.com", "10.0.0.2")

    assert real == [(400, "invalid_code")] * settings.OTP_MAX_ATTEMPTS + [(400, "too_many_attempts")]
    assert unknown == real


# --- Passwords and sessions ------------------------------------------------------------------------


def test_a_password_change_replaces_the_password_that_logs_in():
    reader = UserFactory()

    response = signed_in(reader).post(
        CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert login_status(reader.email, NEW_PASSWORD) == 200
    assert login_status(reader.email, PASSWORD) == 401


def test_a_password_change_ends_only_the_readers_own_sessions():
    reader, other = UserFactory(), UserFactory()
    client, others_refresh = signed_in(reader), signed_in(other).tokens["refresh"]

    client.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")

    assert refresh_status(others_refresh) == 200
    assert refresh_status(client.tokens["refresh"]) == 401


def test_a_password_reset_ends_only_the_readers_own_sessions(api_client):
    reader, other = UserFactory(), UserFactory()
    readers_refresh, others_refresh = signed_in(reader).tokens["refresh"], signed_in(other).tokens["refresh"]
    api_client.post(RESET, {"email": reader.email}, format="json")

    assert confirm(api_client, reader.email, last_code()).status_code == 200

    assert refresh_status(others_refresh) == 200
    assert refresh_status(readers_refresh) == 401


@pytest.mark.parametrize(
    "url, purpose",
    [(RESET, None), (RESEND, "reset_password"), (RESEND, "verify_email")],
    ids=["reset", "resend-reset", "resend-verify"],
)
def test_a_deactivated_account_is_sent_no_code(api_client, url, purpose):
    reader = UserFactory(is_active=False, is_verified=False)
    body = {"email": reader.email} | ({"purpose": purpose} if purpose else {})

    response = api_client.post(url, body, format="json")

    assert response.status_code == 202
    assert mail.outbox == []


def test_a_reset_code_issued_before_deactivation_cannot_be_used(api_client):
    reader = UserFactory()
    api_client.post(RESET, {"email": reader.email}, format="json")
    reader.is_active = False
    reader.save(update_fields=["is_active"])

    response = confirm(api_client, reader.email, last_code())

    assert answer(response) == (400, "invalid_code")
    reader.refresh_from_db()
    assert reader.check_password(PASSWORD)


# --- Throttle windows ------------------------------------------------------------------------------


def failed_logins(client, count: int) -> list:
    """`count` wrong logins from one client address, each for a different email (no per-address limit)."""
    body = {"password": "wrong-password"}
    return [client.post(LOGIN, {**body, "email": f"guess{i}@example.com"}, format="json") for i in range(count)]


def test_a_429_says_how_long_is_left_in_the_window(api_client):
    limit, window = rate("login_ip")
    elapsed = window // 3
    with time_machine.travel(NOON, tick=False):
        failed_logins(api_client, limit)
    with time_machine.travel(NOON + timedelta(seconds=elapsed), tick=False):
        response = failed_logins(api_client, 1)[0]

    assert response.status_code == 429
    assert response.json()["retry_after"] == window - elapsed
    assert response["Retry-After"] == str(window - elapsed)


def test_a_new_window_opens_once_the_period_has_passed(api_client):
    limit, window = rate("login_ip")
    with time_machine.travel(NOON, tick=False):
        throttled = failed_logins(api_client, limit + 1)[-1]
    with time_machine.travel(NOON + timedelta(seconds=window), tick=False):
        response = failed_logins(api_client, 1)[0]

    assert throttled.status_code == 429
    assert response.status_code == 401


def test_the_password_throttle_counts_each_reader_apart():
    wrong = {"current_password": "not-the-password", "new_password": NEW_PASSWORD}
    with time_machine.travel(NOON, tick=False):
        reader, other = signed_in(UserFactory()), signed_in(UserFactory())
        tries = throttle_limit("password_user") + 1
        statuses = [reader.post(CHANGE, wrong, format="json").status_code for _ in range(tries)]
        others_status = other.post(CHANGE, wrong, format="json").status_code

    assert set(statuses[:-1]) == {400}
    assert statuses[-1] == 429
    assert others_status == 400


def test_after_the_nightly_clean_up_a_real_address_still_answers_like_an_unknown_one(api_client, settings):
    reader = UserFactory(is_verified=False)
    wrong = f"{(int(codes.code_issue(user=reader, purpose='verify_email')) + 1) % 10**6:06d}"

    def guess(email: str, client_ip: str) -> tuple[int, str]:
        api_client.credentials(REMOTE_ADDR=client_ip)
        return answer(api_client.post(VERIFY, {"email": email, "code": wrong}, format="json"))

    for _ in range(settings.OTP_MAX_ATTEMPTS + 1):
        guess(reader.email, "10.0.0.1"), guess("nobody@example.com", "10.0.0.2")
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.OTP_TTL_MINUTES + 1)):
        assert delete_otps() == 1  # 02:00: the spent code is gone
        after = guess(reader.email, "10.0.0.1"), guess("nobody@example.com", "10.0.0.2")

    assert after == ((400, "too_many_attempts"), (400, "too_many_attempts"))


def test_a_code_email_queued_before_deactivation_is_not_sent(api_client):
    reader = UserFactory(is_verified=False)
    task = EmailTask.objects.create(user=reader, kind=EmailTask.Kind.VERIFY_EMAIL)
    reader.is_active = False
    reader.save(update_fields=["is_active"])

    email_task_run(task.pk)

    task.refresh_from_db()
    assert (task.status, task.error_code) == ("failed", "account_inactive")
    assert mail.outbox == [] and not OneTimeCode.objects.exists()
