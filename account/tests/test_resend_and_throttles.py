import pytest
import time_machine
from django.core import mail

from account.tests.factories import UserFactory
from conftest import throttle_limit as limit

RESEND = "/api/v1/auth/resend-code/"
RESET = "/api/v1/auth/password/reset/"
REGISTER = "/api/v1/auth/register/"
LOGIN = "/api/v1/auth/login/"
VERIFY = "/api/v1/auth/verify-email/"
PASSWORD = "a-long-Reading-passphrase-42"

pytestmark = pytest.mark.django_db


def test_resend_answers_202_for_an_unknown_address_and_sends_nothing(api_client):
    response = api_client.post(RESEND, {"email": "nobody@example.com"}, format="json")

    assert response.status_code == 202
    assert mail.outbox == []


def test_resend_answers_the_same_for_an_existing_unverified_reader_and_sends_a_code(api_client):
    UserFactory(email="new@example.com", is_verified=False)

    response = api_client.post(RESEND, {"email": "new@example.com", "purpose": "verify_email"}, format="json")

    assert response.status_code == 202
    assert response.content == b""
    assert len(mail.outbox) == 1


def test_resend_sends_no_verification_code_to_a_verified_reader(api_client, user):
    response = api_client.post(RESEND, {"email": user.email}, format="json")

    assert response.status_code == 202
    assert mail.outbox == []


def test_resend_rejects_an_unknown_purpose(api_client):
    response = api_client.post(RESEND, {"email": "a@example.com", "purpose": "admin"}, format="json")

    assert response.status_code == 400
    assert "purpose" in response.json()["errors"]


def test_within_the_60_second_cooldown_nothing_is_sent_and_the_earlier_code_stays_valid(api_client):
    UserFactory(email="new@example.com", is_verified=False)
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        api_client.post(RESEND, {"email": "new@example.com"}, format="json")
        first_code = mail.outbox[-1].body
        second = api_client.post(RESEND, {"email": "new@example.com"}, format="json")
    with time_machine.travel("2026-01-01 12:01:01 +0000", tick=False):
        third = api_client.post(RESEND, {"email": "new@example.com"}, format="json")

    assert second.status_code == third.status_code == 202
    assert len(mail.outbox) == 2
    assert mail.outbox[0].body == first_code


def test_cooldown_starts_at_registration(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        api_client.post(REGISTER, {"email": "new@example.com", "password": PASSWORD}, format="json")
        api_client.post(RESEND, {"email": "new@example.com"}, format="json")

    assert len(mail.outbox) == 1


def test_the_daily_cap_stops_an_inbox_flood_without_a_429(api_client):
    UserFactory(email="victim@example.com", is_verified=False)
    statuses = []
    for minute in range(12):
        with time_machine.travel(f"2026-01-01 12:{minute * 2:02d}:00 +0000", tick=False):
            api_client.credentials(REMOTE_ADDR=f"10.0.0.{minute}")
            statuses.append(api_client.post(RESEND, {"email": "victim@example.com"}, format="json").status_code)

    assert statuses == [202] * 12
    assert len(mail.outbox) == limit("code_send_email_daily") == 10


def test_password_reset_shares_the_cooldown_with_resend(api_client, user):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        api_client.post(RESET, {"email": user.email}, format="json")
        api_client.post(RESEND, {"email": user.email, "purpose": "reset_password"}, format="json")

    assert len(mail.outbox) == 1


def answer(response) -> tuple:
    return response.status_code, response.content, response.get("Retry-After")


@pytest.mark.parametrize("endpoint", [RESET, RESEND])
def test_every_address_gets_the_same_answer_whatever_its_state(api_client, endpoint):
    """Unknown, real, real within its cooldown, real past its daily cap: one answer, so none can be told apart."""
    body = {"purpose": "reset_password"} if endpoint == RESEND else {}
    with time_machine.travel("2026-01-01 00:00 +0000", tick=False):
        api_client.post(REGISTER, {"email": "fresh@example.com", "password": PASSWORD}, format="json")
        UserFactory(email="capped@example.com", is_verified=False)
    for minute in range(limit("code_send_email_daily")):
        with time_machine.travel(f"2026-01-01 01:{minute * 2:02d}:00 +0000", tick=False):
            api_client.post(RESEND, {"email": "capped@example.com"}, format="json")
    UserFactory(email="real@example.com")
    sent_before = len(mail.outbox)

    answers = {}
    with time_machine.travel("2026-01-01 02:00:30 +0000", tick=False):
        for email in ("unknown@example.com", "real@example.com", "capped@example.com"):
            answers[email] = answer(api_client.post(endpoint, {"email": email, **body}, format="json"))
    with time_machine.travel("2026-01-01 00:00:30 +0000", tick=False):  # 30 s after its sign-up code
        answers["fresh@example.com"] = answer(api_client.post(endpoint, {"email": "fresh@example.com", **body}))

    assert set(answers.values()) == {(202, b"", None)}
    assert [m.to for m in mail.outbox[sent_before:]] == [["real@example.com"]]


def test_the_per_ip_limit_on_code_emails_still_answers_429(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        statuses = [
            api_client.post(RESET, {"email": f"someone{i}@example.com"}, format="json").status_code
            for i in range(limit("code_send_ip") + 1)
        ]

    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {202}


def test_login_is_throttled_per_address(api_client, user):
    statuses = []
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        for attempt in range(limit("login_email") + 1):
            api_client.credentials(REMOTE_ADDR=f"10.0.1.{attempt}")
            body = {"email": user.email, "password": "wrong-password"}
            statuses.append(api_client.post(LOGIN, body, format="json").status_code)

    assert set(statuses[:-1]) == {401}
    assert statuses[-1] == 429


def test_login_is_throttled_per_client_address(api_client, user):
    statuses = []
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        for attempt in range(limit("login_ip") + 1):
            body = {"email": f"guess{attempt}@example.com", "password": "wrong-password"}
            statuses.append(api_client.post(LOGIN, body, format="json").status_code)

    assert set(statuses[:-1]) == {401}
    assert statuses[-1] == 429


def test_code_checks_are_throttled_per_client_address(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        statuses = [
            api_client.post(VERIFY, {"email": f"a{i}@example.com", "code": "123456"}, format="json").status_code
            for i in range(limit("code_check_ip") + 1)
        ]

    assert set(statuses[:-1]) == {400}
    assert statuses[-1] == 429


def test_spoofed_forwarded_for_does_not_dodge_the_ip_throttle(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        statuses = [
            api_client.post(
                VERIFY,
                {"email": f"a{i}@example.com", "code": "123456"},
                format="json",
                HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
            ).status_code
            for i in range(limit("code_check_ip") + 1)
        ]

    assert statuses[-1] == 429
