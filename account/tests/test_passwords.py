import pytest
import time_machine
from django.core import mail

from account.tests.factories import PASSWORD, UserFactory
from conftest import CommittingAPIClient as APIClient
from conftest import last_code

RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
CHANGE = "/api/v1/auth/password/change/"
LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/account/me/"
NEW_PASSWORD = "another-Long-passphrase-77"

pytestmark = pytest.mark.django_db


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
    other = APIClient()
    other.post(RESET, {"email": user.email}, format="json")

    other.post(CONFIRM, {"email": user.email, "code": last_code(), "new_password": NEW_PASSWORD}, format="json")

    assert other.post(REFRESH, {"refresh": old_refresh}, format="json").status_code == 401
    assert auth_client.get(ME).status_code == 401


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


def test_change_password_needs_the_current_one(auth_client):
    body = {"current_password": "wrong", "new_password": NEW_PASSWORD}

    response = auth_client.post(CHANGE, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_password"


def test_change_password_keeps_this_session_and_ends_the_others(auth_client, user):
    old_refresh = auth_client.tokens["refresh"]

    response = auth_client.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")

    assert response.status_code == 200
    assert auth_client.post(REFRESH, {"refresh": old_refresh}, format="json").status_code == 401
    assert auth_client.get(ME).status_code == 401
    auth_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert auth_client.get(ME).status_code == 200
    assert auth_client.post(REFRESH, {"refresh": response.json()["refresh"]}, format="json").status_code == 200


def test_change_password_rejects_a_weak_one(auth_client):
    response = auth_client.post(CHANGE, {"current_password": PASSWORD, "new_password": "abc"}, format="json")

    assert response.json()["code"] == "weak_password"
