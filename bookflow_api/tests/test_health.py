from datetime import timedelta
from unittest import mock

import time_machine
from django.db import OperationalError
from django.test import override_settings

from account.tasks import heartbeat


def test_health_reports_the_database_and_a_worker_that_never_ran(api_client, db):
    response = api_client.get("/api/health/")

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("status", "database", "worker")} == {
        "status": "ok",
        "database": "ok",
        "worker": {"last_seen": None, "alive": False},
    }


def test_health_shows_the_workers_heartbeat_and_when_it_stops(api_client, db):
    with time_machine.travel("2026-03-01 12:00:00 +0000", tick=False) as clock:
        heartbeat()
        clock.shift(timedelta(seconds=60))
        alive = api_client.get("/api/health/").json()["worker"]
        clock.shift(timedelta(seconds=60))
        dead = api_client.get("/api/health/")

    assert alive == {"last_seen": "2026-03-01T12:00:00Z", "alive": True}
    assert dead.status_code == 200  # a worker outage must not make Render restart the web service
    assert dead.json()["worker"] == {"last_seen": "2026-03-01T12:00:00Z", "alive": False}


def test_health_is_503_when_the_database_is_unreachable(api_client, db):
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("down")):
        response = api_client.get("/api/health/")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_an_unreachable_cache_does_not_fail_the_health_check(api_client, db):
    unreachable = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    with override_settings(CACHES={"default": unreachable}):
        response = api_client.get("/api/health/")

    assert response.status_code == 200 and response.json()["budgets"]["gemini"]["used"] == 0


def test_health_reads_the_budgets_at_most_every_ten_seconds(api_client, db, django_assert_num_queries):
    api_client.get("/api/health/")

    with django_assert_num_queries(1):  # the worker's heartbeat only
        api_client.get("/api/health/")
