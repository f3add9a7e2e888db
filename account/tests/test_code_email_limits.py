"""How often a code email goes out: once a minute and ten times a day per address, counted once however many
requests or processes ask at the same moment, and answered alike whether or not anything was sent."""

import os
import subprocess
import sys
import threading
import uuid

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from account.tests.factories import PASSWORD, UserFactory
from account.tests.helpers import (
    NOON,
    REGISTER,
    RESEND,
    RESET,
    WindowClosesBetweenAddAndIncr,
    in_parallel,
    meet,
)
from conftest import ROOT, CommittingAPIClient, redis_is_up, throttle_limit

pytestmark = pytest.mark.django_db


def reply(response) -> tuple:
    """All a client learns from an answer: its status, its body and its Retry-After."""
    return response.status_code, response.content, response.get("Retry-After")


# One a minute, ten a day.


def test_within_the_60_second_cooldown_nothing_is_sent_and_the_earlier_code_stays_valid(api_client):
    UserFactory(email="new@example.com", is_verified=False)
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        api_client.post(RESEND, {"email": "new@example.com"}, format="json")
        first_code = mail.outbox[-1].body
        second = api_client.post(RESEND, {"email": "new@example.com"}, format="json")
    with time_machine.travel("2026-01-01 12:01:01 +0000", tick=False):
        third = api_client.post(RESEND, {"email": "new@example.com"}, format="json")

    assert second.status_code == third.status_code == 202
    assert len(mail.outbox) == 2
    assert mail.outbox[0].body == first_code


def test_cooldown_starts_at_registration(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        api_client.post(REGISTER, {"email": "new@example.com", "password": PASSWORD}, format="json")
        api_client.post(RESEND, {"email": "new@example.com"}, format="json")

    assert len(mail.outbox) == 1


def test_password_reset_shares_the_cooldown_with_resend(api_client, user):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        api_client.post(RESET, {"email": user.email}, format="json")
        api_client.post(RESEND, {"email": user.email, "purpose": "reset_password"}, format="json")

    assert len(mail.outbox) == 1


def test_the_daily_cap_stops_an_inbox_flood_without_a_429(api_client):
    UserFactory(email="victim@example.com", is_verified=False)
    statuses = []
    for minute in range(12):
        with time_machine.travel(f"2026-01-01 12:{minute * 2:02d}:00 +0000", tick=False):
            api_client.credentials(REMOTE_ADDR=f"10.0.0.{minute}")
            statuses.append(api_client.post(RESEND, {"email": "victim@example.com"}, format="json").status_code)

    assert statuses == [202] * 12
    assert len(mail.outbox) == throttle_limit("code_send_email_daily") == 10


@pytest.mark.parametrize("endpoint", [RESET, RESEND])
def test_every_address_gets_the_same_answer_whatever_its_state(api_client, endpoint):
    """Unknown, real, real within its cooldown, real past its daily cap: one answer, so none can be told apart."""
    body = {"purpose": "reset_password"} if endpoint == RESEND else {}
    with time_machine.travel("2026-01-01 00:00 +0000", tick=False):
        api_client.post(REGISTER, {"email": "fresh@example.com", "password": PASSWORD}, format="json")
        UserFactory(email="capped@example.com", is_verified=False)
    for minute in range(throttle_limit("code_send_email_daily")):
        with time_machine.travel(f"2026-01-01 01:{minute * 2:02d}:00 +0000", tick=False):
            api_client.post(RESEND, {"email": "capped@example.com"}, format="json")
    UserFactory(email="real@example.com")
    sent_before = len(mail.outbox)

    answers = {}
    with time_machine.travel("2026-01-01 02:00:30 +0000", tick=False):
        for email in ("unknown@example.com", "real@example.com", "capped@example.com"):
            answers[email] = reply(api_client.post(endpoint, {"email": email, **body}, format="json"))
    with time_machine.travel("2026-01-01 00:00:30 +0000", tick=False):  # 30 s after its sign-up code
        answers["fresh@example.com"] = reply(api_client.post(endpoint, {"email": "fresh@example.com", **body}))

    assert set(answers.values()) == {(202, b"", None)}
    assert [m.to for m in mail.outbox[sent_before:]] == [["real@example.com"]]


def test_the_per_ip_limit_on_code_emails_still_answers_429(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        statuses = [
            api_client.post(RESET, {"email": f"someone{i}@example.com"}, format="json").status_code
            for i in range(throttle_limit("code_send_ip") + 1)
        ]

    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {202}


# Counted once, however many ask at once.


def test_a_code_whose_cooldown_closes_as_it_is_counted_is_still_sent(api_client, monkeypatch):
    UserFactory(email="new@example.com", is_verified=False)
    monkeypatch.setattr(SimpleRateThrottle, "cache", WindowClosesBetweenAddAndIncr("code_send_email"))
    with time_machine.travel(NOON, tick=False):
        response = api_client.post(RESEND, {"email": "new@example.com"}, format="json")

    assert response.status_code == 202
    assert [m.to for m in mail.outbox] == [["new@example.com"]]


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_cannot_dodge_the_resend_cooldown(monkeypatch):
    barrier, real_cache = threading.Barrier(2, timeout=2), SimpleRateThrottle.cache

    class LockstepCache:  # both requests read the throttle history before either writes it
        def __getattr__(self, name):
            return getattr(real_cache, name)

        def get(self, *args, **kwargs):
            value = real_cache.get(*args, **kwargs)
            meet(barrier)
            return value

    UserFactory(email="new@example.com", is_verified=False)
    monkeypatch.setattr(SimpleRateThrottle, "cache", LockstepCache())
    statuses = in_parallel(lambda: APIClient().post(RESEND, {"email": "new@example.com"}, format="json").status_code)

    assert statuses == [202, 202]
    assert len(mail.outbox) == 1


@pytest.mark.skipif(not redis_is_up(), reason="needs Redis on 127.0.0.1:6379 (REDIS_URL)")
def test_with_redis_the_resend_cooldown_holds_across_processes(db):
    # Keys of this run only, never a flush: other suites may share this Redis at the same time.
    redis_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/14",
        "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    UserFactory(email="flood@example.com", is_verified=False)
    # Another web process (a second gunicorn worker or instance) sends a code to this address...
    other_process = "\n".join(
        [
            "import django; django.setup()",
            "from django.test import override_settings",
            "from account.throttles import code_send_allowed",
            f"with override_settings(CACHES={{'default': {redis_cache!r}}}):",
            "    assert code_send_allowed('flood@example.com')",
        ]
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bookflow_api.settings"}
    subprocess.run([sys.executable, "-c", other_process], cwd=ROOT, env=env, check=True, timeout=60)

    # ...so this process sends nothing within the minute, and answers as it would for anyone.
    with override_settings(CACHES={"default": redis_cache}):
        response = CommittingAPIClient().post("/api/v1/auth/resend-code/", {"email": "flood@example.com"})

    assert response.status_code == 202
    assert mail.outbox == []
