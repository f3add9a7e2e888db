"""Security review regressions: bad input, enumeration, one-time codes, tokens, throttles, leaks.

The tests marked POSTGRES_ONLY race two requests in threads; SQLite's shared in-memory test database
locks the table instead, so run them with DATABASE_URL=postgres://...
"""

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import time_machine
from django import db
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import BlacklistMixin

from account.models import OneTimeCode, User
from account.tests.factories import PASSWORD, UserFactory
from conftest import CommittingAPIClient, last_code, throttle_limit

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


@pytest.mark.parametrize("url", [LOGIN, VERIFY, RESEND, RESET, CONFIRM])
def test_a_lone_surrogate_in_the_email_is_a_400_not_a_500(api_client, url):
    body = {"email": "a\ud800@example.com", "password": "x", "code": "123456", "new_password": NEW_PASSWORD}

    response = post_raw(api_client, url, json.dumps(body))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_lone_surrogate_in_the_purpose_is_a_400_not_a_500(api_client):
    response = post_raw(api_client, RESEND, json.dumps({"email": "a@example.com", "purpose": "\ud800"}))

    assert response.status_code == 400
    assert "purpose" in response.json()["errors"]


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


@pytest.mark.parametrize("url", ANONYMOUS_POSTS)
@pytest.mark.parametrize("body", [[], ["a"], 1, "text", None, True])
def test_a_body_that_is_not_an_object_is_a_validation_error(api_client, url, body):
    response = post_raw(api_client, url, json.dumps(body))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize("url", ANONYMOUS_POSTS)
@pytest.mark.parametrize("value", [None, 7, 1.5, True, [], ["a"], {"a": 1}, "", "x" * 100_000, "1e400"])
def test_odd_json_types_in_any_field_are_a_400_not_a_500(api_client, user, url, value):
    body = {"email": user.email, "password": "x", "code": "123456", "refresh": "x", "new_password": NEW_PASSWORD}
    for field in ["email", "password", "code", "purpose", "refresh", "new_password", "first_name", "timezone"]:
        cache.clear()  # let every variant past the throttles, into the view
        response = api_client.post(url, {**body, field: value}, format="json")

        assert response.status_code < 500, (field, value)


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


@pytest.mark.parametrize("url", NUL_BODIES)
def test_nul_bytes_in_any_field_are_a_400_on_every_database(api_client, url):
    fields = NUL_BODIES[url]
    for name, value in fields.items():
        response = api_client.post(url, {**fields, name: value[:3] + "\x00" + value[3:]}, format="json")

        assert response.status_code == 400, name
        assert name in response.json()["errors"]
    assert not User.objects.exists()


def test_nul_bytes_in_profile_and_password_fields_are_a_400_on_every_database(auth_client, user):
    for body in [{"first_name": "A\x00"}, {"last_name": "\x00"}, {"timezone": "UTC\x00"}, {"interests": ["a\x00"]}]:
        assert auth_client.patch(ME, body, format="json").status_code == 400, body
    assert auth_client.delete(ME, {"password": PASSWORD + "\x00"}, format="json").status_code == 400
    change = {"current_password": PASSWORD, "new_password": "a\x00" * 8}
    assert auth_client.post(CHANGE, change, format="json").status_code == 400
    user.refresh_from_db()
    assert user.first_name == "Ada" and user.check_password(PASSWORD)


# --- No user enumeration -------------------------------------------------------------------------


def test_reset_confirm_does_not_reveal_an_account_through_password_similarity(api_client, user):
    known = {"email": user.email, "code": "123456", "new_password": user.email}
    unknown = {"email": "nobody@example.com", "code": "123456", "new_password": "nobody@example.com"}

    answers = [api_client.post(CONFIRM, body, format="json") for body in (known, unknown)]

    assert answers[0].status_code == answers[1].status_code == 400
    assert answers[0].json()["code"] == answers[1].json()["code"]


def test_reset_confirm_answers_an_expired_code_alike_for_known_and_unknown_addresses(api_client, user):
    emails = [user.email, "nobody@example.com"]
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        for email in emails:
            api_client.post(RESET, {"email": email}, format="json")
    with time_machine.travel("2026-01-01 12:11 +0000", tick=False):
        codes = [
            api_client.post(
                CONFIRM, {"email": e, "code": "123456", "new_password": NEW_PASSWORD}, format="json"
            ).json()["code"]
            for e in emails
        ]

    assert codes[0] == codes[1]


def test_reset_confirm_answers_exhausted_attempts_alike_for_known_and_unknown_addresses(api_client, user, settings):
    settings.OTP_MAX_ATTEMPTS = 1
    answers = {}
    for email in [user.email, "nobody@example.com"]:
        api_client.post(RESET, {"email": email}, format="json")
        body = {"email": email, "code": "000000", "new_password": NEW_PASSWORD}
        api_client.post(CONFIRM, body, format="json")  # the one allowed (wrong) try
        answers[email] = api_client.post(CONFIRM, body, format="json").json()["code"]

    assert answers[user.email] == answers["nobody@example.com"]


def test_verify_email_answers_an_expired_code_alike_for_known_and_unknown_addresses(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        api_client.post(REGISTER, {"email": "someone@example.com", "password": NEW_PASSWORD}, format="json")
    with time_machine.travel("2026-01-01 12:11 +0000", tick=False):
        known = api_client.post(VERIFY, {"email": "someone@example.com", "code": "123456"}, format="json")
        unknown = api_client.post(VERIFY, {"email": "nobody@example.com", "code": "123456"}, format="json")

    assert known.json()["code"] == unknown.json()["code"]


# --- One-time codes --------------------------------------------------------------------------------


def test_a_code_in_non_ascii_digits_is_rejected_without_using_up_an_attempt(api_client, user):
    api_client.post(RESET, {"email": user.email}, format="json")
    arabic = last_code().translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    body = {"email": user.email, "code": arabic, "new_password": NEW_PASSWORD}

    response = api_client.post(CONFIRM, body, format="json")

    assert response.status_code == 400
    assert "code" in response.json().get("errors", {})
    assert OneTimeCode.objects.get(user=user).attempts == 0


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_one_reset_code_sent_by_two_parallel_requests_resets_the_password_once(user, monkeypatch):
    CommittingAPIClient().post(RESET, {"email": user.email}, format="json")
    barrier, body = threading.Barrier(2, timeout=5), {"email": user.email, "code": last_code()}
    real = OneTimeCode.is_expired.fget

    def read_then_wait(otp):  # both requests hold the same unused code before either uses it
        meet(barrier)
        return real(otp)

    monkeypatch.setattr(OneTimeCode, "is_expired", property(read_then_wait))
    statuses = in_parallel(lambda: APIClient().post(CONFIRM, {**body, "new_password": NEW_PASSWORD}).status_code)

    assert sorted(statuses) == [200, 400]


# --- Tokens -----------------------------------------------------------------------------------------


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_rotated_by_two_parallel_requests_works_only_once(user, monkeypatch):
    refresh = APIClient().post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json").json()["refresh"]
    barrier, real = threading.Barrier(2, timeout=5), BlacklistMixin.check_blacklist

    def check_then_wait(token):  # both requests pass the blacklist check before either blacklists
        real(token)
        meet(barrier)

    monkeypatch.setattr(BlacklistMixin, "check_blacklist", check_then_wait)
    statuses = in_parallel(lambda: APIClient().post(REFRESH, {"refresh": refresh}, format="json").status_code)

    assert sorted(statuses) == [200, 401]


def test_a_deactivated_readers_tokens_stop_working(auth_client, user):
    user.is_active = False
    user.save()

    assert auth_client.get(ME).status_code == 401
    assert APIClient().post(REFRESH, {"refresh": auth_client.tokens["refresh"]}, format="json").status_code == 401


def test_logout_with_a_rotated_refresh_token_ends_it(auth_client):
    rotated = auth_client.post(REFRESH, {"refresh": auth_client.tokens["refresh"]}, format="json").json()["refresh"]

    assert auth_client.post(LOGOUT, {"refresh": rotated}, format="json").status_code == 204
    assert auth_client.post(REFRESH, {"refresh": rotated}, format="json").status_code == 401
    assert auth_client.post(REFRESH, {"refresh": auth_client.tokens["refresh"]}, format="json").status_code == 401


def test_rotated_refresh_tokens_are_revoked_by_a_password_change(auth_client):
    rotated = auth_client.post(REFRESH, {"refresh": auth_client.tokens["refresh"]}, format="json").json()["refresh"]

    auth_client.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")

    assert APIClient().post(REFRESH, {"refresh": rotated}, format="json").status_code == 401


def test_login_records_the_last_login_time(api_client, user):
    api_client.post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json")

    user.refresh_from_db()
    assert user.last_login is not None


# --- Throttles --------------------------------------------------------------------------------------


def test_email_case_and_whitespace_variants_share_the_login_throttle(api_client, user):
    local, domain = user.email.split("@")
    variants = [user.email, user.email.upper(), f"  {user.email} ", f"{local.title()}@{domain.upper()}"]
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        for attempt in range(21):
            api_client.credentials(REMOTE_ADDR=f"10.0.2.{attempt}")
            body = {"email": variants[attempt % len(variants)], "password": "wrong-password"}
            last = api_client.post(LOGIN, body, format="json")

    assert last.status_code == 429


def test_behind_one_proxy_a_spoofed_forwarded_for_does_not_dodge_the_ip_throttle(api_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        statuses = [
            api_client.post(
                VERIFY,
                {"email": f"a{i}@example.com", "code": "123456"},
                format="json",
                HTTP_X_FORWARDED_FOR=f"203.0.113.{i}, 198.51.100.7",
            ).status_code
            for i in range(throttle_limit("code_check_ip") + 1)
        ]

    assert statuses[-1] == 429


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


# --- Secrets in responses, logs, admin; admin-made accounts --------------------------------------


def test_codes_and_hashes_never_appear_in_responses_or_logs(api_client, caplog):
    caplog.set_level(logging.DEBUG)
    registered = api_client.post(REGISTER, {"email": "new@example.com", "password": NEW_PASSWORD}, format="json")
    code, otp = last_code(), OneTimeCode.objects.get()
    verified = api_client.post(VERIFY, {"email": "new@example.com", "code": code}, format="json")
    password_hash = User.objects.get().password

    for text in [registered.content.decode(), verified.content.decode(), caplog.text]:
        assert code not in text and otp.code_hash not in text and password_hash not in text


def test_the_admin_never_shows_a_readers_refresh_token(client, auth_client):
    client.force_login(User.objects.create_superuser("admin@example.com", "admin-pass-123456"))
    token = OutstandingToken.objects.get(token=auth_client.tokens["refresh"])

    page = client.get(f"/admin/token_blacklist/outstandingtoken/{token.pk}/change/")

    assert page.status_code == 200  # the page exists, so the check below has something to read
    assert auth_client.tokens["refresh"] not in page.content.decode()


def test_a_reader_created_in_the_admin_with_a_mixed_case_email_can_log_in(client, api_client):
    client.force_login(User.objects.create_superuser("admin@example.com", "admin-pass-123456"))
    form = {"email": "Mixed@Example.COM", "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"}
    client.post(reverse("admin:account_user_add"), form)
    User.objects.filter(is_staff=False).update(is_verified=True)

    response = api_client.post(LOGIN, {"email": "Mixed@Example.COM", "password": PASSWORD}, format="json")

    assert response.status_code == 200


def test_production_settings_never_send_codes_to_the_console():
    env = {k: v for k, v in os.environ.items() if k not in ("EMAIL_BACKEND", "MAIL_SMTP_PASSWORD")}
    env.update(DEBUG="0", APP_SECRET_KEY="x" * 50, DATABASE_URL="sqlite:///:memory:")
    env.update(DJANGO_SETTINGS_MODULE="bookflow_api.settings")
    script = "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    root = Path(__file__).resolve().parents[2]

    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=root, capture_output=True, text=True)

    assert "console" not in result.stdout
    assert result.returncode != 0 and "MAIL_SMTP_PASSWORD is not set" in result.stderr
