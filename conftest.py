"""Shared test fixtures: an API client that runs on-commit hooks, users, and a clean cache."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import TestCase
from rest_framework.test import APIClient

from account.tests.factories import PASSWORD, UserFactory


class CommittingAPIClient(APIClient):
    """Run each request's on-commit callbacks (emails) as a real commit would."""

    def generic(self, *args, **kwargs):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().generic(*args, **kwargs)


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    cache.clear()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    cache.clear()


@pytest.fixture
def api_client() -> CommittingAPIClient:
    return CommittingAPIClient()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def auth_client(user, api_client) -> CommittingAPIClient:
    response = api_client.post("/api/v1/auth/login/", {"email": user.email, "password": PASSWORD}, format="json")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.data['access']}")
    api_client.tokens = {"access": response.data["access"], "refresh": response.data["refresh"]}
    return api_client


def last_code(to: str | None = None) -> str:
    """The 6-digit code in the newest email (to `to`, when given)."""
    messages = [m for m in mail.outbox if to is None or to in m.to]
    assert messages, "no email was sent"
    return re.search(r"\b(\d{6})\b", messages[-1].body).group(1)
