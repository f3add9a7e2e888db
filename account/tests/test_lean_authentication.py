"""The lean authenticated path: with a shared cache a reader's token is trusted without reading their row, and
every change that must end sessions — made by any process — still refuses the very next request."""

import os
import subprocess
import sys
import uuid

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import RefreshToken

from account.models import User
from account.tests.factories import UserFactory
from account.tests.helpers import change_reader
from conftest import ROOT, CommittingAPIClient, redis_is_up, subprocess_env

pytestmark = pytest.mark.skipif(not redis_is_up(), reason="needs Redis on 127.0.0.1:6379 (a cache shared by processes)")

LIBRARY = "/api/v1/library/"


@pytest.fixture
def shared_cache():
    """Redis, under a key prefix of this test only (no flush: other suites may share this Redis)."""
    prefix = f"test-{uuid.uuid4().hex}"
    redis_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/14",
        "KEY_PREFIX": prefix,
    }
    with override_settings(CACHES={"default": redis_cache}):
        yield prefix


def signed_in(user: User) -> CommittingAPIClient:
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def user_row_reads(client, path: str = LIBRARY) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return sum('FROM "account_user"' in query["sql"] for query in queries.captured_queries)


def test_with_a_shared_cache_the_readers_row_is_read_once_not_on_every_request(db, shared_cache):
    client = signed_in(UserFactory())

    assert [user_row_reads(client) for _ in range(3)] == [1, 0, 0]


def test_without_a_shared_cache_every_request_reads_the_row(db):
    client = signed_in(UserFactory())

    assert [user_row_reads(client) for _ in range(3)] == [1, 1, 1]


def test_the_first_field_a_view_reads_loads_the_whole_row_once(db, shared_cache):
    reader = UserFactory(first_name="Ada")
    client = signed_in(reader)
    client.get(LIBRARY)

    with CaptureQueriesContext(connection) as queries:
        me = client.get("/api/v1/account/me/")

    assert me.json()["first_name"] == "Ada" and me.json()["email"] == reader.email
    assert sum('FROM "account_user"' in query["sql"] for query in queries.captured_queries) == 1


@pytest.mark.parametrize("change", ["deactivate", "password", "delete"])
def test_a_change_in_this_process_refuses_the_next_request(db, shared_cache, change):
    reader = UserFactory()
    client = signed_in(reader)
    client.get(LIBRARY)  # the state is cached

    change_reader(reader, change)

    assert client.get(LIBRARY).status_code == 401


def test_an_evicted_generation_sends_the_next_request_to_the_row(db, shared_cache):
    from django.core.cache import cache

    reader = UserFactory()
    client = signed_in(reader)
    client.get(LIBRARY)
    cache.delete(f"auth:{reader.pk}:generation")
    User.objects.filter(pk=reader.pk).update(is_active=False)  # behind the signals' back

    assert client.get(LIBRARY).status_code == 401


OTHER_PROCESS = """
import django; django.setup()
from account.models import User
from account.tests.helpers import change_reader
change_reader(User.objects.get(pk={pk}), {change!r})
"""


@pytest.mark.parametrize("change", ["deactivate", "password", "delete"])
def test_a_change_made_by_another_process_refuses_the_next_request_here(worker_database, shared_cache, change):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: on SQLite the other process runs on its own database file, apart from this test's"
        )
    reader = UserFactory()
    client = signed_in(reader)
    assert user_row_reads(client) == 1 and user_row_reads(client) == 0  # this process trusts its cache now

    env = subprocess_env(worker_database) | {
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "CACHE_KEY_PREFIX": shared_cache,
        "PATH": os.environ["PATH"],
    }
    code = OTHER_PROCESS.format(pk=reader.pk, change=change)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)

    assert client.get(LIBRARY).status_code == 401
