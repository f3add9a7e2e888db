import pytest
import time_machine
from django.core import mail

from account.tests.factories import UserFactory

RESEND = "/api/v1/auth/resend-code/"
RESET = "/api/v1/auth/password/reset/"
LOGIN = "/api/v1/auth/login/"
VERIFY = "/api/v1/auth/verify-email/"

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


def test_resend_cooldown_is_60_seconds_per_address(api_client):
    UserFactory(email="new@example.com", is_verified=False)
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        assert api_client.post(RESEND, {"email": "new@example.com"}, format="json").status_code == 202
        second = api_client.post(RESEND, {"email": "new@example.com"}, format="json")
    with time_machine.travel("2026-01-01 12:01:01 +0000", tick=False):
        third = api_client.post(RESEND, {"email": "new@example.com"}, format="json")

    assert second.status_code == 429
    assert second.json()["code"] == "throttled"
    assert 0 < second.json()["retry_after"] <= 60
    assert second["Retry-After"]
    assert third.status_code == 202
    assert len(mail.outbox) == 2


def test_cooldown_starts_at_registration(api_client):
    body = {"email": "new@example.com", "password": "a-long-Reading-passphrase-42"}
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        api_client.post("/api/v1/auth/register/", body, format="json")
        response = api_client.post(RESEND, {"email": "new@example.com"}, format="json")

    assert response.status_code == 429
    assert len(mail.outbox) == 1


def test_cooldown_is_the_same_for_unknown_addresses_so_429_reveals_nothing(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        api_client.post(RESEND, {"email": "nobody@example.com"}, format="json")
        response = api_client.post(RESEND, {"email": "NOBODY@example.com"}, format="json")

    assert response.status_code == 429


def test_daily_cap_stops_an_inbox_flood(api_client):
    UserFactory(email="victim@example.com", is_verified=False)
    statuses = []
    for minute in range(12):
        with time_machine.travel(f"2026-01-01 12:{minute * 2:02d}:00 +0000", tick=False):
            api_client.credentials(REMOTE_ADDR=f"10.0.0.{minute}")
            statuses.append(api_client.post(RESEND, {"email": "victim@example.com"}, format="json").status_code)

    assert statuses[:10] == [202] * 10
    assert statuses[10:] == [429, 429]
    assert len(mail.outbox) == 10


def test_password_reset_shares_the_cooldown_with_resend(api_client, user):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        first = api_client.post(RESET, {"email": user.email}, format="json")
        second = api_client.post(RESEND, {"email": user.email, "purpose": "reset_password"}, format="json")

    assert first.status_code == 202
    assert second.status_code == 429


def test_login_is_throttled_per_address(api_client, user):
    statuses = []
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        for attempt in range(21):
            api_client.credentials(REMOTE_ADDR=f"10.0.1.{attempt}")
            body = {"email": user.email, "password": "wrong-password"}
            statuses.append(api_client.post(LOGIN, body, format="json").status_code)

    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429


def test_login_is_throttled_per_client_address(api_client, user):
    statuses = []
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        for attempt in range(11):
            body = {"email": f"guess{attempt}@example.com", "password": "wrong-password"}
            statuses.append(api_client.post(LOGIN, body, format="json").status_code)

    assert statuses[-1] == 429
    assert statuses[:10] == [401] * 10


def test_code_checks_are_throttled_per_client_address(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        statuses = [
            api_client.post(VERIFY, {"email": f"a{i}@example.com", "code": "123456"}, format="json").status_code
            for i in range(11)
        ]

    assert statuses[:10] == [400] * 10
    assert statuses[10] == 429


def test_spoofed_forwarded_for_does_not_dodge_the_ip_throttle(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        statuses = [
            api_client.post(
                VERIFY,
                {"email": f"a{i}@example.com", "code": "123456"},
                format="json",
                HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
            ).status_code
            for i in range(11)
        ]

    assert statuses[10] == 429
