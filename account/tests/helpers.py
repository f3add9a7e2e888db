"""Helpers shared by account's tests: the endpoints, the passwords they use, and small ways to call them."""

import contextlib
import threading
from datetime import UTC, datetime

import pytest
from django import db
from rest_framework.throttling import SimpleRateThrottle

from account.models import OneTimeCode
from account.tests.factories import PASSWORD
from conftest import CommittingAPIClient

REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/verify-email/"
RESEND = "/api/v1/auth/resend-code/"
LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
CHANGE = "/api/v1/auth/password/change/"
ME = "/api/v1/account/me/"

NEW_PASSWORD = "another-Long-passphrase-77"
OTHER_PASSWORD = "yet-another-Long-passphrase-88"
NOON = datetime(2026, 1, 1, 12, tzinfo=UTC)
VERIFY_EMAIL = OneTimeCode.Purpose.VERIFY_EMAIL
RESET_PASSWORD = OneTimeCode.Purpose.RESET_PASSWORD

REAL_CACHE = SimpleRateThrottle.cache  # the throttles' cache, before a test swaps it

# Two requests raced in threads need connections of their own; SQLite's shared in-memory test database locks instead.
POSTGRES_ONLY = pytest.mark.skipif(db.connection.vendor == "sqlite", reason="needs a real multi-connection database")


def signed_in(reader) -> CommittingAPIClient:
    """A client signed in as `reader` through the API, its tokens in `client.tokens`."""
    client = CommittingAPIClient()
    client.tokens = client.post(LOGIN, {"email": reader.email, "password": PASSWORD}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {client.tokens['access']}")
    return client


def login_status(email: str, password: str) -> int:
    return CommittingAPIClient().post(LOGIN, {"email": email, "password": password}, format="json").status_code


def refresh_status(refresh: str) -> int:
    return CommittingAPIClient().post(REFRESH, {"refresh": refresh}, format="json").status_code


def confirm(client, email: str, code: str, new_password: str = NEW_PASSWORD):
    """Confirm a password reset with `code`."""
    return client.post(CONFIRM, {"email": email, "code": code, "new_password": new_password}, format="json")


def answer(response) -> tuple[int, str | None]:
    """An error answer as a client tells it apart: its status and its `code`."""
    return response.status_code, response.json().get("code")


def register(api_client, email: str = "new@example.com", password: str = PASSWORD, **extra):
    """Sign up through the API (the code email goes out; the address is not verified yet)."""
    return api_client.post(REGISTER, {"email": email, "password": password, **extra}, format="json")


def in_parallel(request, times: int = 2) -> list:
    """Run `request()` in `times` threads at once, each with its own DB connection; return the results."""
    results = []

    def run():
        try:
            results.append(request())
        finally:
            db.connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    [t.start() for t in threads], [t.join() for t in threads]
    return results


def meet(barrier: threading.Barrier) -> None:
    """Wait for the other request; go on alone if it never comes (the code no longer takes that path)."""
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()


class WindowClosesBetweenAddAndIncr:
    """The throttles' cache, except that the first `add` of `scope` finds its window still open; it closes before
    the `incr` that follows.

    (The cooldown, `code_send_email`, is counted before the daily cap, so it is the one raced.)"""

    def __init__(self, scope: str) -> None:
        self.scope, self.raced = scope, False

    def __getattr__(self, name):
        return getattr(REAL_CACHE, name)

    def add(self, key, *args, **kwargs):
        if self.scope in key and not self.raced:
            self.raced = True
            return False
        return REAL_CACHE.add(key, *args, **kwargs)


def change_reader(reader, change: str) -> None:
    """Do to the reader what must end their sessions: `deactivate`, `password` or `delete`."""
    if change == "deactivate":
        reader.is_active = False
        reader.save()
    elif change == "password":
        reader.set_password("a-brand-new-password-123")
        reader.save()
    else:
        reader.delete()
