"""The reader's profile (`account/me/`): what it shows, what a reader may change, and deleting the account."""

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from account import services
from account.models import User
from account.tests.factories import PASSWORD, UserFactory
from account.tests.helpers import LOGIN, ME, REFRESH, answer

pytestmark = pytest.mark.django_db


# What it shows, and what a reader may change.


def test_profile_shows_the_readers_fields(auth_client, user):
    body = auth_client.get(ME).json()

    assert body == {
        "id": user.pk,
        "email": user.email,
        "first_name": "Ada",
        "last_name": "Reader",
        "interests": [],
        "timezone": "UTC",
        "avatar_url": None,
        "is_verified": True,
        "date_joined": body["date_joined"],
        "subscription": body["subscription"],
    }
    assert body["subscription"]["plan"] == "free"


def test_patch_updates_names_interests_and_timezone(auth_client, user):
    body = {"first_name": "Grace", "interests": ["history", "science", "history"], "timezone": "Africa/Lagos"}

    response = auth_client.patch(ME, body, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Grace", "Reader")
    assert user.interests == ["history", "science"]
    assert user.timezone == "Africa/Lagos"


def test_patch_ignores_fields_readers_may_not_change(auth_client, user):
    auth_client.patch(ME, {"email": "evil@example.com", "is_staff": True, "is_verified": False}, format="json")

    user.refresh_from_db()
    assert user.email != "evil@example.com"
    assert not user.is_staff
    assert user.is_verified


def test_interests_must_be_known_categories(auth_client):
    response = auth_client.patch(ME, {"interests": ["history", "astrology"]}, format="json")

    assert response.status_code == 400
    assert "astrology" in response.json()["errors"]["interests"][0]


def test_patch_rejects_an_unknown_timezone(auth_client):
    response = auth_client.patch(ME, {"timezone": "Nowhere/Land"}, format="json")

    assert response.status_code == 400
    assert "timezone" in response.json()["errors"]


def test_errors_about_items_of_a_list_name_the_item_and_stay_lists_of_strings(auth_client):
    # Found by schemathesis: per-item errors came back as {"interests": {"1": [...]}}, against the schema.
    response = auth_client.patch(ME, {"interests": ["fiction", "", "no such thing"]}, format="json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"interests.1", "interests.2"}  # blank, and not a slug
    assert all(isinstance(messages, list) and all(isinstance(m, str) for m in messages) for messages in errors.values())


def test_a_profile_edit_does_not_undo_a_deactivation_made_meanwhile():
    reader = UserFactory()
    loaded = User.objects.get(pk=reader.pk)
    User.objects.filter(pk=reader.pk).update(is_active=False)

    services.user_update(user=loaded, data={"first_name": "Grace"})

    reader.refresh_from_db()
    assert not reader.is_active and reader.first_name == "Grace"


# Deleting the account.


def test_delete_account_needs_the_password(auth_client, user):
    response = auth_client.delete(ME, {"password": "wrong"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_password"
    assert User.objects.filter(pk=user.pk).exists()


def test_a_wrong_password_on_account_deletion_names_the_password_field(auth_client):
    response = auth_client.delete(ME, {"password": "wrong"}, format="json")

    assert answer(response) == (400, "invalid_password")
    assert list(response.json()["errors"]) == ["password"]


def test_delete_account_removes_the_reader_and_ends_the_session(auth_client, user):
    response = auth_client.delete(ME, {"password": PASSWORD}, format="json")

    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert auth_client.get(ME).status_code == 401
    relogin = auth_client.post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json")
    assert relogin.status_code == 401


def test_deleting_the_account_revokes_its_refresh_tokens(auth_client, user):
    refresh = auth_client.tokens["refresh"]

    auth_client.delete(ME, {"password": PASSWORD}, format="json")

    assert BlacklistedToken.objects.filter(token__token=refresh).exists()
    assert auth_client.post(REFRESH, {"refresh": refresh}, format="json").status_code == 401


def test_deleted_address_can_register_again(auth_client, user):
    auth_client.delete(ME, {"password": PASSWORD}, format="json")

    response = auth_client.post("/api/v1/auth/register/", {"email": user.email, "password": PASSWORD}, format="json")

    assert response.status_code == 201
