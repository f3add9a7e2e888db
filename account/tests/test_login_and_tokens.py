"""Signing in: the tokens a login gives, how long they last, refreshing and revoking them, and whom they
stop working for."""

import threading

import pytest
import time_machine
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import BlacklistMixin

from account.tests.factories import PASSWORD, UserFactory
from account.tests.helpers import LOGIN, LOGOUT, ME, POSTGRES_ONLY, REFRESH, in_parallel, meet
from conftest import CommittingAPIClient

pytestmark = pytest.mark.django_db


def login(api_client, email, password=PASSWORD):
    return api_client.post(LOGIN, {"email": email, "password": password}, format="json")


# Logging in.


def test_login_returns_tokens_and_the_profile(api_client, user):
    response = login(api_client, user.email.upper())

    assert response.status_code == 200
    assert response.json()["user"]["email"] == user.email
    assert response.json()["access"] and response.json()["refresh"]


def test_wrong_password_and_unknown_email_answer_alike(api_client, user):
    wrong = login(api_client, user.email, "not-the-password")
    unknown = login(api_client, "nobody@example.com")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"code": "invalid_credentials", "detail": wrong.json()["detail"]}


def test_unverified_reader_cannot_log_in(api_client):
    reader = UserFactory(is_verified=False)

    response = login(api_client, reader.email)

    assert response.status_code == 403
    assert response.json()["code"] == "email_not_verified"


def test_unverified_status_is_not_revealed_without_the_password(api_client):
    reader = UserFactory(is_verified=False)

    response = login(api_client, reader.email, "not-the-password")

    assert response.json()["code"] == "invalid_credentials"


def test_login_records_the_last_login_time(api_client, user):
    api_client.post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json")

    user.refresh_from_db()
    assert user.last_login is not None


# The access token.


def test_access_token_opens_the_profile(auth_client, user):
    response = auth_client.get(ME)

    assert response.status_code == 200
    assert response.json()["email"] == user.email


def test_profile_needs_a_token(api_client):
    response = api_client.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_garbage_token_is_a_json_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")

    response = api_client.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_access_token_expires_after_60_minutes(api_client, user):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        access = login(api_client, user.email).json()["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    with time_machine.travel("2026-01-01 12:59 +0000", tick=False):
        assert api_client.get(ME).status_code == 200
    with time_machine.travel("2026-01-01 13:01 +0000", tick=False):
        assert api_client.get(ME).status_code == 401


def test_a_deactivated_readers_tokens_stop_working(auth_client, user):
    user.is_active = False
    user.save()

    assert auth_client.get(ME).status_code == 401
    assert APIClient().post(REFRESH, {"refresh": auth_client.tokens["refresh"]}, format="json").status_code == 401


# Refreshing and logging out.


def test_refresh_rotates_and_the_old_refresh_token_stops_working(auth_client):
    old = auth_client.tokens["refresh"]

    rotated = auth_client.post(REFRESH, {"refresh": old}, format="json")
    reused = auth_client.post(REFRESH, {"refresh": old}, format="json")

    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access", "refresh"}
    assert rotated.json()["refresh"] != old
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_not_valid"


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_rotated_by_two_parallel_requests_works_only_once(user, monkeypatch):
    refresh = APIClient().post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json").json()["refresh"]
    barrier, real = threading.Barrier(2, timeout=5), BlacklistMixin.check_blacklist

    def check_then_wait(token):  # both requests pass the blacklist check before either blacklists
        real(token)
        meet(barrier)

    monkeypatch.setattr(BlacklistMixin, "check_blacklist", check_then_wait)
    statuses = in_parallel(lambda: APIClient().post(REFRESH, {"refresh": refresh}, format="json").status_code)

    assert sorted(statuses) == [200, 401]


def test_refresh_token_expires_after_30_days(api_client, user):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        refresh = login(api_client, user.email).json()["refresh"]
    with time_machine.travel("2026-01-31 12:01 +0000", tick=False):
        response = api_client.post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == 401


def test_logout_revokes_the_refresh_token(auth_client):
    refresh = auth_client.tokens["refresh"]

    logout = CommittingAPIClient().post(LOGOUT, {"refresh": refresh}, format="json")
    response = auth_client.post(REFRESH, {"refresh": refresh}, format="json")

    assert logout.status_code == 204
    assert response.status_code == 401


def test_logout_with_a_rotated_refresh_token_ends_it(auth_client):
    rotated = auth_client.post(REFRESH, {"refresh": auth_client.tokens["refresh"]}, format="json").json()["refresh"]

    assert auth_client.post(LOGOUT, {"refresh": rotated}, format="json").status_code == 204
    assert auth_client.post(REFRESH, {"refresh": rotated}, format="json").status_code == 401
    assert auth_client.post(REFRESH, {"refresh": auth_client.tokens["refresh"]}, format="json").status_code == 401


def test_logout_with_a_bad_token_is_401(api_client):
    response = api_client.post(LOGOUT, {"refresh": "garbage"}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_logout_needs_a_refresh_token(api_client):
    response = api_client.post(LOGOUT, {}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()["errors"]


def test_refresh_for_a_deleted_account_is_401_not_500(auth_client, user):
    refresh = auth_client.tokens["refresh"]
    user.delete()

    response = auth_client.post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == 401
