"""Hostile or malformed input to the account endpoints is refused with a 4xx, never a 500, on every database."""

import json

import pytest
from django.core.cache import cache

from account.models import User
from account.tests.factories import PASSWORD
from account.tests.helpers import (
    CHANGE,
    CONFIRM,
    LOGIN,
    LOGOUT,
    ME,
    NEW_PASSWORD,
    REFRESH,
    REGISTER,
    RESEND,
    RESET,
    VERIFY,
)
from bookflow_api.tests.helpers import post_raw

ANONYMOUS_POSTS = [REGISTER, VERIFY, RESEND, LOGIN, REFRESH, LOGOUT, RESET, CONFIRM]

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", [LOGIN, VERIFY, RESEND, RESET, CONFIRM])
def test_a_lone_surrogate_in_the_email_is_a_400_not_a_500(api_client, url):
    body = {"email": "a\ud800@example.com", "password": "x", "code": "123456", "new_password": NEW_PASSWORD}

    response = post_raw(api_client, url, json.dumps(body))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_lone_surrogate_in_the_purpose_is_a_400_not_a_500(api_client):
    response = post_raw(api_client, RESEND, json.dumps({"email": "a@example.com", "purpose": "\ud800"}))

    assert response.status_code == 400
    assert "purpose" in response.json()["errors"]


@pytest.mark.parametrize("url", ANONYMOUS_POSTS)
@pytest.mark.parametrize("body", [[], ["a"], 1, "text", None, True])
def test_a_body_that_is_not_an_object_is_a_validation_error(api_client, url, body):
    response = post_raw(api_client, url, json.dumps(body))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize("url", ANONYMOUS_POSTS)
@pytest.mark.parametrize("value", [None, 7, 1.5, True, [], ["a"], {"a": 1}, "", "x" * 100_000, "1e400"])
def test_odd_json_types_in_any_field_never_answer_500(api_client, user, url, value):
    body = {"email": user.email, "password": "x", "code": "123456", "refresh": "x", "new_password": NEW_PASSWORD}
    for field in ["email", "password", "code", "purpose", "refresh", "new_password", "first_name", "timezone"]:
        cache.clear()  # let every variant past the throttles, into the view
        response = api_client.post(url, {**body, field: value}, format="json")

        assert response.status_code < 500, (field, value)


NUL_BODIES = {
    REGISTER: {"email": "a@example.com", "password": NEW_PASSWORD, "first_name": "Ada", "timezone": "UTC"},
    VERIFY: {"email": "a@example.com", "code": "123456"},
    RESEND: {"email": "a@example.com", "purpose": "verify_email"},
    LOGIN: {"email": "a@example.com", "password": NEW_PASSWORD},
    REFRESH: {"refresh": "abcdef"},
    LOGOUT: {"refresh": "abcdef"},
    RESET: {"email": "a@example.com"},
    CONFIRM: {"email": "a@example.com", "code": "123456", "new_password": NEW_PASSWORD},
}


@pytest.mark.parametrize("url", NUL_BODIES)
def test_nul_bytes_in_any_field_are_a_400_on_every_database(api_client, url):
    fields = NUL_BODIES[url]
    for name, value in fields.items():
        response = api_client.post(url, {**fields, name: value[:3] + "\x00" + value[3:]}, format="json")

        assert response.status_code == 400, name
        assert name in response.json()["errors"]
    assert not User.objects.exists()


def test_nul_bytes_in_profile_and_password_fields_are_a_400_on_every_database(auth_client, user):
    for body in [{"first_name": "A\x00"}, {"last_name": "\x00"}, {"timezone": "UTC\x00"}, {"interests": ["a\x00"]}]:
        assert auth_client.patch(ME, body, format="json").status_code == 400, body
    assert auth_client.delete(ME, {"password": PASSWORD + "\x00"}, format="json").status_code == 400
    change = {"current_password": PASSWORD, "new_password": "a\x00" * 8}
    assert auth_client.post(CHANGE, change, format="json").status_code == 400
    user.refresh_from_db()
    assert user.first_name == "Ada" and user.check_password(PASSWORD)
