"""Rate limits on signing in, checking codes and changing passwords: whom they count (an address, a client
address, a reader), behind a proxy or not, and their windows at the edges (a window that closes mid-count, a lost
start, long windows, sub-second waits)."""

from datetime import timedelta

import pytest
import time_machine
from rest_framework.throttling import SimpleRateThrottle

from account.tests.factories import UserFactory
from account.tests.helpers import (
    CHANGE,
    LOGIN,
    NEW_PASSWORD,
    NOON,
    REAL_CACHE,
    VERIFY,
    WindowClosesBetweenAddAndIncr,
    signed_in,
)
from account.throttles import LoginEmailThrottle, LoginIPThrottle
from conftest import throttle_limit

pytestmark = pytest.mark.django_db


def rate(scope: str) -> tuple[int, int]:
    """(requests allowed, window in seconds) of a throttle scope, as configured."""
    return SimpleRateThrottle.parse_rate(None, SimpleRateThrottle.THROTTLE_RATES[scope])


def window(scope: str) -> int:
    """A scope's window in seconds, as configured."""
    return SimpleRateThrottle.parse_rate(None, SimpleRateThrottle.THROTTLE_RATES[scope])[1]


def failed_logins(client, count: int) -> list:
    """`count` wrong logins from one client address, each for a different email (no per-address limit)."""
    body = {"password": "wrong-password"}
    return [client.post(LOGIN, {**body, "email": f"guess{i}@example.com"}, format="json") for i in range(count)]


def wrong_logins(client, count: int, email: str = "someone@example.com") -> list[int]:
    body = {"email": email, "password": "wrong-password"}
    return [client.post(LOGIN, body, format="json").status_code for _ in range(count)]


@pytest.fixture
def race(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "cache", WindowClosesBetweenAddAndIncr("login_email"))


# Whom they count.


def test_login_is_throttled_per_address(api_client, user):
    statuses = []
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        for attempt in range(throttle_limit("login_email") + 1):
            api_client.credentials(REMOTE_ADDR=f"10.0.1.{attempt}")
            body = {"email": user.email, "password": "wrong-password"}
            statuses.append(api_client.post(LOGIN, body, format="json").status_code)

    assert set(statuses[:-1]) == {401}
    assert statuses[-1] == 429


def test_login_is_throttled_per_client_address(api_client, user):
    statuses = []
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        for attempt in range(throttle_limit("login_ip") + 1):
            body = {"email": f"guess{attempt}@example.com", "password": "wrong-password"}
            statuses.append(api_client.post(LOGIN, body, format="json").status_code)

    assert set(statuses[:-1]) == {401}
    assert statuses[-1] == 429


def test_code_checks_are_throttled_per_client_address(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        statuses = [
            api_client.post(VERIFY, {"email": f"a{i}@example.com", "code": "123456"}, format="json").status_code
            for i in range(throttle_limit("code_check_ip") + 1)
        ]

    assert set(statuses[:-1]) == {400}
    assert statuses[-1] == 429


def test_the_password_throttle_counts_each_reader_apart():
    wrong = {"current_password": "not-the-password", "new_password": NEW_PASSWORD}
    with time_machine.travel(NOON, tick=False):
        reader, other = signed_in(UserFactory()), signed_in(UserFactory())
        tries = throttle_limit("password_user") + 1
        statuses = [reader.post(CHANGE, wrong, format="json").status_code for _ in range(tries)]
        others_status = other.post(CHANGE, wrong, format="json").status_code

    assert set(statuses[:-1]) == {400}
    assert statuses[-1] == 429
    assert others_status == 400


def test_a_scope_with_no_rate_never_throttles(api_client, monkeypatch):
    limit = throttle_limit("login_ip")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login_ip", None)
    with time_machine.travel(NOON, tick=False):
        statuses = [
            api_client.post(LOGIN, {"email": f"guess{i}@example.com", "password": "x"}, format="json").status_code
            for i in range(limit + 1)
        ]

    assert set(statuses) == {401}


# Behind a proxy, or pretending to be.


@pytest.mark.parametrize(
    "num_proxies, forwarded_for",
    [(0, "203.0.113.{i}"), (1, "203.0.113.{i}, 198.51.100.7")],
    ids=["no proxy", "behind one proxy"],
)
def test_a_spoofed_forwarded_for_does_not_dodge_the_ip_throttle(api_client, settings, num_proxies, forwarded_for):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        statuses = [
            api_client.post(
                VERIFY,
                {"email": f"a{i}@example.com", "code": "123456"},
                format="json",
                HTTP_X_FORWARDED_FOR=forwarded_for.format(i=i),
            ).status_code
            for i in range(throttle_limit("code_check_ip") + 1)
        ]

    assert statuses[-1] == 429


# Windows.


def test_a_429_says_how_long_is_left_in_the_window(api_client):
    limit, window = rate("login_ip")
    elapsed = window // 3
    with time_machine.travel(NOON, tick=False):
        failed_logins(api_client, limit)
    with time_machine.travel(NOON + timedelta(seconds=elapsed), tick=False):
        response = failed_logins(api_client, 1)[0]

    assert response.status_code == 429
    assert response.json()["retry_after"] == window - elapsed
    assert response["Retry-After"] == str(window - elapsed)


def test_a_new_window_opens_once_the_period_has_passed(api_client):
    limit, window = rate("login_ip")
    with time_machine.travel(NOON, tick=False):
        throttled = failed_logins(api_client, limit + 1)[-1]
    with time_machine.travel(NOON + timedelta(seconds=window), tick=False):
        response = failed_logins(api_client, 1)[0]

    assert throttled.status_code == 429
    assert response.status_code == 401


def test_a_window_opened_after_a_race_allows_the_rate_and_then_closes_on_time(api_client, race):
    limit = throttle_limit("login_email")
    with time_machine.travel(NOON, tick=False):
        statuses = wrong_logins(api_client, limit + 1)
    with time_machine.travel(NOON + timedelta(seconds=window("login_email")), tick=False):
        after = wrong_logins(api_client, 1)

    assert statuses == [401] * limit + [429]
    assert after == [401]


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
