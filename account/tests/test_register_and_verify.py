import secrets

import pytest
import time_machine
from django.core import mail

from account.models import OneTimeCode, User
from conftest import last_code

REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/verify-email/"
RESEND = "/api/v1/auth/resend-code/"

pytestmark = pytest.mark.django_db


def register(api_client, email="new@example.com", password="a-long-Reading-passphrase-42", **extra):
    return api_client.post(REGISTER, {"email": email, "password": password, **extra}, format="json")


def test_register_creates_an_unverified_reader_and_emails_a_code(api_client):
    response = register(api_client, email="  New@Example.COM ", first_name="Ada", timezone="Europe/Paris")

    assert response.status_code == 201
    assert response.json()["email"] == "new@example.com"
    assert response.json()["is_verified"] is False
    assert "password" not in response.json()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.com"]
    assert message.alternatives[0][1] == "text/html"
    assert last_code() in message.alternatives[0][0]


def test_code_is_stored_hashed(api_client):
    register(api_client)

    otp = OneTimeCode.objects.get()
    assert last_code() not in otp.code_hash
    assert len(otp.code_hash) == 64


def test_register_rejects_a_taken_email_whatever_its_case(api_client, user):
    response = register(api_client, email=user.email.upper())

    assert response.status_code == 400
    assert response.json()["code"] == "email_taken"
    assert "email" in response.json()["errors"]


def test_register_rejects_a_weak_password(api_client):
    response = register(api_client, password="12345678")

    assert response.status_code == 400
    assert response.json()["code"] == "weak_password"
    assert response.json()["errors"]["password"]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"password": "a-long-Reading-passphrase-42"}, "email"),
        ({"email": "not-an-email", "password": "a-long-Reading-passphrase-42"}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": "a-long-Reading-passphrase-42", "timezone": "Mars/Base"}, "timezone"),
    ],
)
def test_register_validation_errors_name_the_field(api_client, body, field):
    response = api_client.post(REGISTER, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]


def test_verify_email_with_the_emailed_code_returns_tokens(api_client):
    register(api_client)

    response = api_client.post(VERIFY, {"email": "new@example.com", "code": last_code()}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh", "user"}
    assert response.json()["user"]["is_verified"] is True
    assert User.objects.get().is_verified


def test_a_code_works_only_once(api_client):
    register(api_client)
    code = last_code()
    api_client.post(VERIFY, {"email": "new@example.com", "code": code}, format="json")

    response = api_client.post(VERIFY, {"email": "new@example.com", "code": code}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"


def test_wrong_code_is_rejected(api_client):
    register(api_client)
    wrong = f"{(int(last_code()) + 1) % 10**6:06d}"

    response = api_client.post(VERIFY, {"email": "new@example.com", "code": wrong}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
    assert not User.objects.get().is_verified


def test_malformed_code_is_a_validation_error(api_client):
    response = api_client.post(VERIFY, {"email": "new@example.com", "code": "12ab"}, format="json")

    assert response.status_code == 400
    assert "code" in response.json()["errors"]


def test_expired_code_is_rejected(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        register(api_client)
    code = last_code()

    with time_machine.travel("2026-01-01 12:10:01 +0000", tick=False):
        response = api_client.post(VERIFY, {"email": "new@example.com", "code": code}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "code_expired"


def test_code_still_works_just_before_it_expires(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        register(api_client)
    with time_machine.travel("2026-01-01 12:09:59 +0000", tick=False):
        response = api_client.post(VERIFY, {"email": "new@example.com", "code": last_code()}, format="json")

    assert response.status_code == 200


def test_attempts_are_exhausted_after_five_wrong_codes_even_for_the_right_one(api_client, settings):
    register(api_client)
    code = last_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(settings.OTP_MAX_ATTEMPTS):
        assert (
            api_client.post(VERIFY, {"email": "new@example.com", "code": wrong}, format="json").json()["code"]
            == "invalid_code"
        )

    response = api_client.post(VERIFY, {"email": "new@example.com", "code": code}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "too_many_attempts"
    assert not User.objects.get().is_verified


def test_a_new_code_voids_the_previous_one(api_client, monkeypatch):
    codes = iter([111111, 222222])  # two random codes could be equal, and then the first would still work
    monkeypatch.setattr(secrets, "randbelow", lambda limit: next(codes))
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        register(api_client)
    first = last_code()
    with time_machine.travel("2026-01-01 12:01:01 +0000", tick=False):
        assert api_client.post(RESEND, {"email": "new@example.com"}, format="json").status_code == 202
        second = last_code()
        old = api_client.post(VERIFY, {"email": "new@example.com", "code": first}, format="json")
        new = api_client.post(VERIFY, {"email": "new@example.com", "code": second}, format="json")

    assert len(mail.outbox) == 2
    assert (first, second) == ("111111", "222222")
    assert old.json()["code"] == "invalid_code"
    assert new.status_code == 200


def test_verify_answers_the_same_for_an_unknown_address(api_client):
    response = api_client.post(VERIFY, {"email": "nobody@example.com", "code": "123456"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
