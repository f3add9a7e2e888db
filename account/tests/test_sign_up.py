"""Signing up: register, the email with its code, verifying the address, and asking for the code again."""

import pytest
from django.core import mail

from account import codes, services
from account.models import User
from account.tests.factories import UserFactory
from account.tests.helpers import NEW_PASSWORD, REGISTER, RESEND, VERIFY, VERIFY_EMAIL, answer, register
from conftest import last_code

pytestmark = pytest.mark.django_db


# Registering.


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


def test_register_stores_the_names_and_time_zone_given(api_client):
    body = {"email": "grace@example.com", "password": NEW_PASSWORD, "first_name": "Grace", "last_name": "Hopper"}

    response = api_client.post(REGISTER, {**body, "timezone": "Africa/Lagos"}, format="json")

    assert response.status_code == 201
    reader = User.objects.get(email="grace@example.com")
    assert (reader.first_name, reader.last_name, reader.timezone) == ("Grace", "Hopper", "Africa/Lagos")


def test_register_rejects_a_taken_email_whatever_its_case(api_client, user):
    response = register(api_client, email=user.email.upper())

    assert response.status_code == 400
    assert response.json()["code"] == "email_taken"
    assert "email" in response.json()["errors"]


def test_a_taken_address_answers_email_taken_even_with_a_weak_password(api_client, user):
    response = api_client.post(REGISTER, {"email": user.email, "password": "12345678"}, format="json")

    assert answer(response) == (400, "email_taken")


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


# Verifying the address.


def test_verify_email_with_the_emailed_code_returns_tokens(api_client):
    register(api_client)

    response = api_client.post(VERIFY, {"email": "new@example.com", "code": last_code()}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh", "user"}
    assert response.json()["user"]["is_verified"] is True
    assert User.objects.get().is_verified


def test_verification_keeps_a_profile_change_made_while_the_code_was_checked(api_client, monkeypatch):
    reader = UserFactory(is_verified=False)
    code = codes.code_issue(user=reader, purpose=VERIFY_EMAIL)
    real_check = services.code_check

    def check_while_renamed(**kwargs):
        User.objects.filter(pk=reader.pk).update(first_name="Grace")  # a profile edit lands meanwhile
        return real_check(**kwargs)

    monkeypatch.setattr(services, "code_check", check_while_renamed)
    assert api_client.post(VERIFY, {"email": reader.email, "code": code}, format="json").status_code == 200

    reader.refresh_from_db()
    assert (reader.is_verified, reader.first_name) == (True, "Grace")


# Asking for the code again.


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
