"""Passwords: resetting a forgotten one with an emailed code, changing one, what either does to the reader's
sessions, and passwords too like the address."""

import pytest
import time_machine
from django.core import mail
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from account import services
from account.models import User
from account.tests.factories import PASSWORD, UserFactory
from account.tests.helpers import (
    CHANGE,
    CONFIRM,
    LOGIN,
    ME,
    NEW_PASSWORD,
    REFRESH,
    REGISTER,
    RESET,
    answer,
    confirm,
    login_status,
    refresh_status,
    signed_in,
)
from conftest import CommittingAPIClient, last_code

pytestmark = pytest.mark.django_db


# Resetting a forgotten password.


def test_reset_answers_202_whether_or_not_the_account_exists(api_client, user):
    known = api_client.post(RESET, {"email": user.email}, format="json")
    unknown = api_client.post(RESET, {"email": "nobody@example.com"}, format="json")

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content == b""
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert "reset" in mail.outbox[0].subject.lower()


def test_reset_confirm_sets_the_new_password(api_client, user):
    api_client.post(RESET, {"email": user.email}, format="json")

    response = api_client.post(
        CONFIRM, {"email": user.email, "code": last_code(), "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert api_client.post(LOGIN, {"email": user.email, "password": NEW_PASSWORD}, format="json").status_code == 200
    assert api_client.post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json").status_code == 401


def test_reset_confirm_revokes_every_older_session(auth_client, user):
    old_refresh = auth_client.tokens["refresh"]
    other = CommittingAPIClient()
    other.post(RESET, {"email": user.email}, format="json")

    other.post(CONFIRM, {"email": user.email, "code": last_code(), "new_password": NEW_PASSWORD}, format="json")

    assert other.post(REFRESH, {"refresh": old_refresh}, format="json").status_code == 401
    assert auth_client.get(ME).status_code == 401


def test_a_password_reset_ends_only_the_readers_own_sessions(api_client):
    reader, other = UserFactory(), UserFactory()
    readers_refresh, others_refresh = signed_in(reader).tokens["refresh"], signed_in(other).tokens["refresh"]
    api_client.post(RESET, {"email": reader.email}, format="json")

    assert confirm(api_client, reader.email, last_code()).status_code == 200

    assert refresh_status(others_refresh) == 200
    assert refresh_status(readers_refresh) == 401


def test_reset_confirm_with_a_wrong_code_changes_nothing(api_client, user):
    api_client.post(RESET, {"email": user.email}, format="json")
    wrong = f"{(int(last_code()) + 1) % 10**6:06d}"

    response = api_client.post(
        CONFIRM, {"email": user.email, "code": wrong, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.json()["code"] == "invalid_code"
    assert api_client.post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json").status_code == 200


def test_reset_confirm_rejects_a_weak_password_and_keeps_the_code(api_client, user):
    api_client.post(RESET, {"email": user.email}, format="json")
    code = last_code()

    weak = api_client.post(CONFIRM, {"email": user.email, "code": code, "new_password": "password"}, format="json")
    strong = api_client.post(CONFIRM, {"email": user.email, "code": code, "new_password": NEW_PASSWORD}, format="json")

    assert weak.json()["code"] == "weak_password"
    assert strong.status_code == 200


def test_reset_code_expires(api_client, user):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        api_client.post(RESET, {"email": user.email}, format="json")
    with time_machine.travel("2026-01-01 12:11 +0000", tick=False):
        body = {"email": user.email, "code": last_code(), "new_password": NEW_PASSWORD}
        response = api_client.post(CONFIRM, body, format="json")

    assert response.json()["code"] == "code_expired"


def test_a_verification_code_cannot_reset_a_password(api_client):
    reader = UserFactory(is_verified=False)
    api_client.post("/api/v1/auth/resend-code/", {"email": reader.email}, format="json")

    body = {"email": reader.email, "code": last_code(), "new_password": NEW_PASSWORD}
    response = api_client.post(CONFIRM, body, format="json")

    assert response.json()["code"] == "invalid_code"


def test_reset_proves_the_address_of_an_unverified_account(api_client):
    reader = UserFactory(is_verified=False)
    api_client.post(RESET, {"email": reader.email}, format="json")

    api_client.post(CONFIRM, {"email": reader.email, "code": last_code(), "new_password": NEW_PASSWORD}, format="json")

    reader.refresh_from_db()
    assert reader.is_verified


def test_reset_confirm_does_not_reveal_an_account_through_password_similarity(api_client, user):
    known = {"email": user.email, "code": "123456", "new_password": user.email}
    unknown = {"email": "nobody@example.com", "code": "123456", "new_password": "nobody@example.com"}

    answers = [api_client.post(CONFIRM, body, format="json") for body in (known, unknown)]

    assert answers[0].status_code == answers[1].status_code == 400
    assert answers[0].json()["code"] == answers[1].json()["code"]


def test_a_reset_keeps_a_profile_change_made_while_the_code_was_checked(api_client, monkeypatch):
    reader = UserFactory()
    api_client.post(RESET, {"email": reader.email}, format="json")
    real_check = services.code_check

    def check_while_renamed(**kwargs):
        User.objects.filter(pk=reader.pk).update(first_name="Grace")
        return real_check(**kwargs)

    monkeypatch.setattr(services, "code_check", check_while_renamed)
    assert confirm(api_client, reader.email, last_code()).status_code == 200

    reader.refresh_from_db()
    assert reader.first_name == "Grace" and reader.check_password(NEW_PASSWORD)


# Changing it.


def test_change_password_needs_the_current_one(auth_client):
    body = {"current_password": "wrong", "new_password": NEW_PASSWORD}

    response = auth_client.post(CHANGE, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_password"


def test_a_wrong_current_password_names_the_current_password_field(auth_client):
    response = auth_client.post(CHANGE, {"current_password": "wrong", "new_password": NEW_PASSWORD}, format="json")

    assert answer(response) == (400, "invalid_password")
    assert list(response.json()["errors"]) == ["current_password"]


def test_a_password_change_replaces_the_password_that_logs_in():
    reader = UserFactory()

    response = signed_in(reader).post(
        CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert login_status(reader.email, NEW_PASSWORD) == 200
    assert login_status(reader.email, PASSWORD) == 401


def test_change_password_keeps_this_session_and_ends_the_others(auth_client, user):
    old_refresh = auth_client.tokens["refresh"]

    response = auth_client.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")

    assert response.status_code == 200
    assert auth_client.post(REFRESH, {"refresh": old_refresh}, format="json").status_code == 401
    assert auth_client.get(ME).status_code == 401
    auth_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert auth_client.get(ME).status_code == 200
    assert auth_client.post(REFRESH, {"refresh": response.json()["refresh"]}, format="json").status_code == 200


def test_a_password_change_ends_only_the_readers_own_sessions():
    reader, other = UserFactory(), UserFactory()
    client, others_refresh = signed_in(reader), signed_in(other).tokens["refresh"]

    client.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")

    assert refresh_status(others_refresh) == 200
    assert refresh_status(client.tokens["refresh"]) == 401


def test_rotated_refresh_tokens_are_revoked_by_a_password_change(auth_client):
    rotated = auth_client.post(REFRESH, {"refresh": auth_client.tokens["refresh"]}, format="json").json()["refresh"]

    auth_client.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")

    assert APIClient().post(REFRESH, {"refresh": rotated}, format="json").status_code == 401


def test_change_password_rejects_a_weak_one(auth_client):
    response = auth_client.post(CHANGE, {"current_password": PASSWORD, "new_password": "abc"}, format="json")

    assert response.json()["code"] == "weak_password"


def test_a_password_change_does_not_undo_a_deactivation_made_meanwhile():
    reader = UserFactory()
    loaded = User.objects.get(pk=reader.pk)  # the request's user, loaded before the admin acts
    User.objects.filter(pk=reader.pk).update(is_active=False)

    services.password_change(user=loaded, current_password=PASSWORD, new_password=NEW_PASSWORD)

    reader.refresh_from_db()
    assert not reader.is_active and reader.check_password(NEW_PASSWORD)


def test_a_logout_landing_during_a_password_change_does_not_break_it(monkeypatch):
    reader = UserFactory()
    for _ in range(2):  # two sessions
        signed_in(reader)
    real_filter = OutstandingToken.objects.filter

    def filter_then_logout(*args, **kwargs):
        live = list(real_filter(*args, **kwargs))
        BlacklistedToken.objects.create(token=live[0])  # a parallel logout of one session lands now
        return live

    monkeypatch.setattr(OutstandingToken.objects, "filter", filter_then_logout)
    tokens = services.password_change(user=reader, current_password=PASSWORD, new_password=NEW_PASSWORD)

    assert set(tokens) == {"access", "refresh"}
    assert BlacklistedToken.objects.filter(token__user=reader).count() == 2


# A password like the address is refused everywhere.


def test_register_refuses_a_password_that_is_the_address(api_client):
    email = "margaret.hamilton@example.com"

    response = api_client.post(REGISTER, {"email": email, "password": email}, format="json")

    assert answer(response) == (400, "weak_password")
    assert not User.objects.exists()


def test_reset_confirm_refuses_a_password_that_is_the_address(api_client):
    reader = UserFactory(email="margaret.hamilton@example.com")
    api_client.post(RESET, {"email": reader.email}, format="json")

    response = confirm(api_client, reader.email, last_code(), new_password=reader.email)

    assert answer(response) == (400, "weak_password")
    reader.refresh_from_db()
    assert reader.check_password(PASSWORD)


def test_password_change_refuses_a_password_that_is_the_address():
    reader = UserFactory(email="margaret.hamilton@example.com")

    response = signed_in(reader).post(CHANGE, {"current_password": PASSWORD, "new_password": reader.email})

    assert answer(response) == (400, "weak_password")
    reader.refresh_from_db()
    assert reader.check_password(PASSWORD)
