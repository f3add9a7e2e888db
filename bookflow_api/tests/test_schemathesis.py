"""Property-based API tests with schemathesis: every operation in /api/schema/, anonymous and signed in.

Zero server errors and zero responses that break the schema (status codes, content types, bodies,
headers). `make test` runs a few cases per operation; `make fuzz` runs many more (FUZZ_EXAMPLES).
"""

import os
import re

import pytest
import responses
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from account.tests.factories import UserFactory
from books.tests.helpers import payload

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
REPEATABLE = "FUZZ_EXAMPLES" not in os.environ  # the same cases on every CI run; `make fuzz` explores
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]

# As through Render's proxy: HTTPS already ended there (settings redirect plain HTTP when DEBUG is off).
PROXY = {"X-Forwarded-Proto": "https"}
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), headers=PROXY)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=REPEATABLE)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Schemathesis calls the WSGI app directly, whose request signals close "old" connections: inside the
    test's transaction that would close it on PostgreSQL. Django's own test client detaches them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def google_books(settings):
    """Google Books at the transport: searches answer a real recorded page, unknown volumes 404."""
    settings.GOOGLE_BOOKS_BASE_URL = "https://books.fuzz/books/v1"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(re.compile(r"https://books\.fuzz/books/v1/volumes\?.*"), json=payload("search_something.json"))
        mock.get(re.compile(r"https://books\.fuzz/books/v1/volumes/.+"), status=404, json={"error": {"code": 404}})
        yield mock


@pytest.fixture
def generous_throttles(settings):
    """Hundreds of requests in seconds would be throttled (a documented 429); raise the limits to reach the code."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(rates, "100000/min"),
    }


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_anonymous_requests_never_crash_and_follow_the_schema(case, google_books, generous_throttles):
    case.call_and_validate(checks=CHECKS, headers=PROXY)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_signed_in_requests_never_crash_and_follow_the_schema(case, google_books, generous_throttles, reader_token):
    case.call_and_validate(checks=CHECKS, headers={**PROXY, "Authorization": f"Bearer {reader_token}"})


@pytest.fixture
def reader_token(db) -> str:
    from account.services import tokens_for_user

    return tokens_for_user(UserFactory())["access"]
