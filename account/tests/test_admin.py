"""Account's admin: the worker's status, a reader's plan, and never a code, a hash or a token on a page."""

import pytest
from django.urls import reverse
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from account.models import OneTimeCode, User

pytestmark = pytest.mark.django_db


def test_the_worker_status_page_shows_whether_it_is_alive(admin_client):
    from account.tasks import heartbeat

    heartbeat()

    page = admin_client.get(reverse("admin:account_workerheartbeat_changelist")).content.decode()

    assert "scheduler" in page and 'alt="True"' in page


def test_admin_can_change_a_readers_plan(admin_client, user):
    data = {
        "email": user.email,
        "plan": "premium",
        "first_name": "",
        "last_name": "",
        "interests": "[]",
        "timezone": "UTC",
        "is_active": "on",
        "is_verified": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }

    admin_client.post(reverse("admin:account_user_change", args=[user.pk]), data)

    user.refresh_from_db()
    assert user.plan == "premium"


def test_admin_never_shows_a_code_or_its_hash(admin_client, user):
    otp = OneTimeCode.objects.create(
        user=user, purpose="verify_email", code_hash="c0de" * 16, expires_at="2030-01-01T00:00Z"
    )

    pages = [
        reverse("admin:account_onetimecode_changelist"),
        reverse("admin:account_onetimecode_change", args=[otp.pk]),
    ]

    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page  # the page exists, so the check below has something to read
        assert user.email in response.content.decode(), page  # ...and shows the code's row
        assert "c0de" not in response.content.decode(), page


def test_the_admin_never_shows_a_readers_refresh_token(client, auth_client):
    client.force_login(User.objects.create_superuser("admin@example.com", "admin-pass-123456"))
    token = OutstandingToken.objects.get(token=auth_client.tokens["refresh"])

    page = client.get(f"/admin/token_blacklist/outstandingtoken/{token.pk}/change/")

    assert page.status_code == 200  # the page exists, so the check below has something to read
    assert auth_client.tokens["refresh"] not in page.content.decode()
