"""Security review regressions: bad input, enumeration, one-time codes, tokens, throttles, leaks.

The tests marked POSTGRES_ONLY race two requests in threads; SQLite's shared in-memory test database
locks the table instead, so run them with DATABASE_URL=postgres://...
"""

import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django import db

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
ANONYMOUS_POSTS = [REGISTER, VERIFY, RESEND, LOGIN, REFRESH, LOGOUT, RESET, CONFIRM]
POSTGRES_ONLY = pytest.mark.skipif(db.connection.vendor == "sqlite", reason="needs a real multi-connection database")

pytestmark = pytest.mark.django_db


def post_raw(client, url, body: str, content_type="application/json"):
    """Send `body` as is (the test client cannot encode a lone surrogate; a real client sends \\ud800)."""
    return client.generic("POST", url, body.encode(), content_type=content_type)


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


# --- Bad input never answers 500 -------------------------------------------------------------------


@pytest.mark.parametrize("url", [LOGIN, REGISTER, REFRESH])
def test_deeply_nested_json_is_a_400_not_a_500(api_client, url):
    response = post_raw(api_client, url, "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_too_many_form_fields_is_a_json_400(api_client):
    body = "&".join(f"f{i}=1" for i in range(1500)) + "&email=a@example.com&password=x"

    response = post_raw(api_client, LOGIN, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "code" in response.json()


def test_a_json_body_larger_than_the_upload_limit_is_refused(api_client, settings):
    padding = "y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = post_raw(api_client, LOGIN, json.dumps({"email": "a@example.com", "password": "x", "pad": padding}))

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "request_too_large"


NUL_BODIES = {
    REGISTER: {"email": "a@example.com", "password": NEW_PASSWORD, "first_name": "Ada", "timezone": "UTC"},
    VERIFY: {"email": "a@example.com", "code": "123456"},
    RESEND: {"email": "a@example.com", "purpose": "verify_email"},
    LOGIN: {"email": "a@example.com", "password": NEW_PASSWORD},
    REFRESH: {"refresh": "abcdef"},
    LOGOUT: {"refresh": "abcdef"},
    RESET: {"email": "a@example.com"},
    CONFIRM: {"email": "a@example.com", "code": "123456", "new_password": NEW_PASSWORD},
}


# --- No user enumeration -------------------------------------------------------------------------


# --- One-time codes --------------------------------------------------------------------------------


# --- Tokens -----------------------------------------------------------------------------------------


# --- Throttles --------------------------------------------------------------------------------------


# --- Secrets in responses, logs, admin; admin-made accounts --------------------------------------


def test_production_settings_never_send_codes_to_the_console():
    env = {k: v for k, v in os.environ.items() if k not in ("EMAIL_BACKEND", "MAIL_SMTP_PASSWORD")}
    env.update(DEBUG="0", APP_SECRET_KEY="x" * 50, DATABASE_URL="sqlite:///:memory:")
    env.update(DJANGO_SETTINGS_MODULE="bookflow_api.settings")
    script = "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    root = Path(__file__).resolve().parents[2]

    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=root, capture_output=True, text=True)

    assert "console" not in result.stdout
    assert result.returncode != 0 and "MAIL_SMTP_PASSWORD is not set" in result.stderr
