"""Shared test fixtures: an API client that runs on-commit hooks, users, and a clean cache."""

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

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
    settings.AVATAR_UPLOADS_ENABLED = True  # on that MEDIA_ROOT, as under `make run`
    settings.SECURE_SSL_REDIRECT = False  # tests speak plain HTTP to the app, as Render's proxy would after TLS
    yield
    cache.clear()


CLOCK_START = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday in March: no month or DST edge near


@pytest.fixture
def clock(time_machine):
    """The clock stands still at CLOCK_START until a test moves it."""
    time_machine.move_to(CLOCK_START, tick=False)
    return time_machine


def client_for(user) -> CommittingAPIClient:
    """A client signed in as `user` (without tokens: a moving clock cannot expire them)."""
    client = CommittingAPIClient()
    client.force_authenticate(user)
    return client


def reader_client(plan: str = "free") -> CommittingAPIClient:
    """A client signed in (without tokens: a moving clock cannot expire them) as a new reader on `plan`."""
    return client_for(UserFactory(plan=plan))


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


def sign_up(api_client, email: str = "new@example.com"):
    """Register and verify `email` through the API (its code from the outbox); return the reader."""
    from account.models import User, normalize_email

    response = api_client.post("/api/v1/auth/register/", {"email": email, "password": PASSWORD}, format="json")
    assert response.status_code == 201, response.json()
    body = {"email": email, "code": last_code(to=normalize_email(email))}
    response = api_client.post("/api/v1/auth/verify-email/", body, format="json")
    assert response.status_code == 200, response.json()
    return User.objects.get(email=normalize_email(email))


def subscription(api_client, user) -> dict:
    """`account/subscription/` as `user` sees it (the client is signed out again afterwards)."""
    from account.models import User

    api_client.force_authenticate(User.objects.get(pk=user.pk))
    try:
        return api_client.get("/api/v1/account/subscription/").json()
    finally:
        api_client.force_authenticate(None)


@pytest.fixture
def trialing(api_client, tasks):
    """A reader whose free trial has started (its emails cleared)."""
    reader = sign_up(api_client, "reader@example.com")
    tasks.run_all()
    mail.outbox.clear()
    return reader


def throttle_limit(scope: str) -> int:
    """How many requests a throttle scope allows per window, as configured (THROTTLE_RATES may change it)."""
    return SimpleRateThrottle.parse_rate(None, SimpleRateThrottle.THROTTLE_RATES[scope])[0]


def committing(func, *args, **kwargs):
    """Call a task or job function as the worker would: its on-commit hooks (emails) run."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return func(*args, **kwargs)


class TaskQueue:
    """Stands in for the in-process scheduler: a timer due now runs at once (as it would a moment later);
    later timers wait in `pending` until `run_all()`, which moves the clock to each one."""

    def __init__(self) -> None:
        self.pending: list[tuple] = []
        self.traveller = None

    def __call__(self, func, *args, delay: float = 0) -> None:
        if delay <= 0:
            func(*args)
        else:
            self.pending.append((func, args, delay))

    def run_all(self, limit: int = 20) -> int:
        ran = 0
        while self.pending and ran < limit:
            func, args, delay = self.pending.pop(0)
            self.traveller.move_to(timezone.now() + timedelta(seconds=delay, milliseconds=1))
            committing(func, *args)  # the task's own commits send its emails
            ran += 1
        return ran


@pytest.fixture(autouse=True)
def _task_queue(monkeypatch) -> TaskQueue:
    """Every test's timer: the TaskQueue stands in for the web process's scheduler."""
    from bookflow_api import durable

    queue = TaskQueue()
    monkeypatch.setattr(durable, "_timer", queue)
    return queue


@pytest.fixture
def tasks(_task_queue, time_machine) -> TaskQueue:
    """The task queue, with a clock that `run_all()` may move forward."""
    time_machine.move_to(timezone.now(), tick=True)
    _task_queue.traveller = time_machine
    return _task_queue


# --- Other processes (a worker, a second web process) on this test's database ----------------------------

ROOT = Path(__file__).resolve().parent


def subprocess_env(database_url: str) -> dict:
    """The environment of a production-like process of this project on `database_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "PYTEST"))}
    return env | {
        "DATABASE_URL": database_url,
        "APP_SECRET_KEY": "worker-test-secret-key-0123456789-0123456789",
        "DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "bookflow_api.settings",
    }


def redis_is_up() -> bool:
    """Whether a Redis answers on 127.0.0.1:6379 (tests of a cache shared by processes need one)."""
    try:
        import redis

        return redis.Redis.from_url("redis://127.0.0.1:6379/14", socket_connect_timeout=0.5).ping()
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture
def worker_database(transactional_db, tmp_path_factory) -> str:
    """A DATABASE_URL that subprocesses can share with this test (committed data, real tables)."""
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"
    path = tmp_path_factory.mktemp("worker") / "worker.sqlite3"
    url = f"sqlite:///{path}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        env=subprocess_env(url),
        check=True,
        timeout=120,
    )
    return url
