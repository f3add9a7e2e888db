"""Throttle windows at their edges: a window that closes mid-count, a lost start, long windows, sub-second waits."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from rest_framework.throttling import SimpleRateThrottle

from account.tests.factories import UserFactory
from account.throttles import LoginEmailThrottle, LoginIPThrottle
from conftest import throttle_limit

LOGIN = "/api/v1/auth/login/"
RESEND = "/api/v1/auth/resend-code/"
NOON = datetime(2026, 1, 1, 12, tzinfo=UTC)
REAL_CACHE = SimpleRateThrottle.cache

pytestmark = pytest.mark.django_db


def window(scope: str) -> int:
    """A scope's window in seconds, as configured."""
    return SimpleRateThrottle.parse_rate(None, SimpleRateThrottle.THROTTLE_RATES[scope])[1]


def wrong_logins(client, count: int, email: str = "someone@example.com") -> list[int]:
    body = {"email": email, "password": "wrong-password"}
    return [client.post(LOGIN, body, format="json").status_code for _ in range(count)]


class WindowClosesBetweenAddAndIncr:
    """The first `add` of `scope` finds its window still open; it closes before the `incr` that follows.

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


@pytest.fixture
def race(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "cache", WindowClosesBetweenAddAndIncr("login_email"))


def test_a_window_opened_after_a_race_allows_the_rate_and_then_closes_on_time(api_client, race):
    limit = throttle_limit("login_email")
    with time_machine.travel(NOON, tick=False):
        statuses = wrong_logins(api_client, limit + 1)
    with time_machine.travel(NOON + timedelta(seconds=window("login_email")), tick=False):
        after = wrong_logins(api_client, 1)

    assert statuses == [401] * limit + [429]
    assert after == [401]


def test_a_code_whose_cooldown_closes_as_it_is_counted_is_still_sent(api_client, monkeypatch):
    UserFactory(email="new@example.com", is_verified=False)
    monkeypatch.setattr(SimpleRateThrottle, "cache", WindowClosesBetweenAddAndIncr("code_send_email"))
    with time_machine.travel(NOON, tick=False):
        response = api_client.post(RESEND, {"email": "new@example.com"}, format="json")

    assert response.status_code == 202
    assert [m.to for m in mail.outbox] == [["new@example.com"]]


def test_a_window_opened_after_a_race_counts_its_retry_after_from_that_request(api_client, race):
    limit, elapsed = throttle_limit("login_email"), window("login_email") // 3
    with time_machine.travel(NOON, tick=False):
        wrong_logins(api_client, 1)
    with time_machine.travel(NOON + timedelta(seconds=elapsed), tick=False):
        statuses = wrong_logins(api_client, limit - 1)
        response = api_client.post(LOGIN, {"email": "someone@example.com", "password": "x"}, format="json")

    assert set(statuses) == {401}
    assert response.status_code == 429
    assert response.json()["retry_after"] == window("login_email") - elapsed
    assert response["Retry-After"] == str(window("login_email") - elapsed)


def test_an_hour_long_window_still_knows_its_start_twenty_minutes_in(api_client):
    limit, elapsed = throttle_limit("login_email"), window("login_email") // 3
    with time_machine.travel(NOON, tick=False):
        for attempt in range(limit):
            api_client.credentials(REMOTE_ADDR=f"10.0.3.{attempt}")
            wrong_logins(api_client, 1)
    with time_machine.travel(NOON + timedelta(seconds=elapsed), tick=False):
        response = api_client.post(LOGIN, {"email": "someone@example.com", "password": "x"}, format="json")

    assert response.status_code == 429
    assert response["Retry-After"] == str(window("login_email") - elapsed)


def test_under_a_second_left_in_the_window_retry_after_is_one_second(api_client):
    limit = throttle_limit("login_ip")
    with time_machine.travel(NOON, tick=False):
        wrong_logins(api_client, limit)
    almost_over = NOON + timedelta(seconds=window("login_ip")) - timedelta(milliseconds=500)
    with time_machine.travel(almost_over, tick=False):
        response = api_client.post(LOGIN, {"email": "other@example.com", "password": "x"}, format="json")

    assert response.status_code == 429
    assert response.json()["retry_after"] == 1
    assert response["Retry-After"] == "1"


def test_when_the_cache_evicts_a_windows_start_retry_after_is_the_whole_window(api_client):
    limit = throttle_limit("login_ip")
    key = LoginIPThrottle.cache_format % {"scope": "login_ip", "ident": "127.0.0.1"}
    with time_machine.travel(NOON, tick=False):
        wrong_logins(api_client, limit)
        REAL_CACHE.delete(f"{key}:start")  # least recently used: every request touches the count, not the start
        response = api_client.post(LOGIN, {"email": "other@example.com", "password": "x"}, format="json")

    assert response.status_code == 429
    assert response["Retry-After"] == str(window("login_ip"))


@pytest.mark.parametrize("raced", [False, True], ids=["plain", "after-a-race"])
def test_once_a_window_closes_nothing_of_the_address_stays_in_the_cache(api_client, monkeypatch, raced):
    if raced:
        monkeypatch.setattr(SimpleRateThrottle, "cache", WindowClosesBetweenAddAndIncr("login_email"))
    key = LoginEmailThrottle.cache_key_for("someone@example.com")
    with time_machine.travel(NOON, tick=False):
        wrong_logins(api_client, 1)
        opened = REAL_CACHE.has_key(key) and REAL_CACHE.has_key(f"{key}:start")
    with time_machine.travel(NOON + timedelta(seconds=window("login_email")), tick=False):
        left = [k for k in (key, f"{key}:start") if REAL_CACHE.has_key(k)]

    assert opened
    assert left == []


def test_a_scope_with_no_rate_never_throttles(api_client, monkeypatch):
    limit = throttle_limit("login_ip")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login_ip", None)
    with time_machine.travel(NOON, tick=False):
        statuses = [
            api_client.post(LOGIN, {"email": f"guess{i}@example.com", "password": "x"}, format="json").status_code
            for i in range(limit + 1)
        ]

    assert set(statuses) == {401}
