"""The admin login locks out password guessing (django-axes): per address, per client address, for a cool-off.

Over HTTP against /admin/login/, as a browser (or a guessing script) would post it.
"""

import logging
import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import cache
from django.test import Client, override_settings

from account.admin_lockout import sign_in_turn_keys
from account.models import User
from conftest import ROOT, redis_is_up

pytestmark = pytest.mark.django_db

STAFF, RIGHT, WRONG = "staff@example.com", "staff-pass-123456", "not-the-password"
HOME, ELSEWHERE = "198.51.100.7", "198.51.100.99"


@pytest.fixture
def staff():
    return User.objects.create_superuser(STAFF, RIGHT)


@pytest.fixture
def hashing(monkeypatch) -> list[str]:
    """Every call into the password hasher from now on: checking a password, or hashing one."""
    calls = []

    def spy(name: str):
        original = getattr(MD5PasswordHasher, name)

        def spied(self, *args, **kwargs):
            calls.append(name)
            return original(self, *args, **kwargs)

        return spied

    for name in ("verify", "encode"):
        monkeypatch.setattr(MD5PasswordHasher, name, spy(name))
    return calls


def post_login(email: str, password: str, ip: str = HOME, **headers):
    """The admin login form, posted from a fresh browser at `ip`."""
    body = {"username": email, "password": password, "next": "/admin/"}
    return Client().post("/admin/login/", body, REMOTE_ADDR=ip, **headers)


def sign_in(email: str, password: str, ip: str = HOME, **headers) -> int:
    """The answer's status: 302 signed in, 200 refused, 429 locked out."""
    return post_login(email, password, ip, **headers).status_code


def fail(times: int, email: str = STAFF, ip: str = HOME, **headers) -> list[int]:
    return [sign_in(email, WRONG, ip, **headers) for _ in range(times)]


def test_five_wrong_passwords_lock_the_address_and_the_sixth_try_is_refused_without_hashing(staff, hashing):
    assert fail(5) == [200, 200, 200, 200, 429]
    assert hashing  # the five were checked
    hashing.clear()

    assert sign_in(STAFF, RIGHT) == 429
    assert hashing == []


def test_the_locked_page_is_a_429_that_says_when_to_come_back(staff):
    fail(5)

    response = post_login(STAFF, RIGHT)

    assert response.status_code == 429 and response["Retry-After"] == "900"
    assert "Try again in 15 minutes" in response.content.decode()


def test_the_locked_page_does_not_tell_whether_the_account_exists(staff):
    fail(5, STAFF, ip=HOME)
    fail(5, "nobody@example.com", ip=ELSEWHERE)

    known, unknown = post_login(STAFF, WRONG, HOME), post_login("nobody@example.com", WRONG, ELSEWHERE)

    assert known.status_code == unknown.status_code == 429
    assert known.content == unknown.content


def test_case_variants_of_an_address_count_as_one_address(staff):
    for email in ["Staff@Example.com", "STAFF@example.com", " staff@EXAMPLE.com", "staff@example.COM"]:
        assert sign_in(email, WRONG) == 200

    assert sign_in("sTaFf@example.com", WRONG) == 429
    assert sign_in(STAFF, RIGHT) == 429


def test_the_address_lockout_holds_from_every_client_address_and_spares_other_addresses(staff):
    User.objects.create_superuser("other@example.com", RIGHT)
    fail(5)

    assert sign_in(STAFF, RIGHT, ip=ELSEWHERE) == 429
    assert sign_in("other@example.com", RIGHT, ip=HOME) == 302


def test_twenty_failures_from_one_client_address_lock_it_for_every_address(staff):
    statuses = [sign_in(f"guess{n}@example.com", WRONG) for n in range(20)]

    assert statuses == [200] * 19 + [429]
    assert sign_in("guess99@example.com", WRONG) == 429
    assert sign_in(STAFF, RIGHT) == 429


def test_a_locked_client_address_does_not_lock_other_client_addresses(staff):
    [sign_in(f"guess{n}@example.com", WRONG) for n in range(20)]

    assert sign_in(STAFF, RIGHT, ip=ELSEWHERE) == 302


def test_a_success_before_the_limit_clears_the_address(staff):
    fail(4)
    assert sign_in(STAFF, RIGHT) == 302

    assert fail(4) == [200] * 4
    assert sign_in(STAFF, RIGHT) == 302


def test_after_the_cool_off_the_address_signs_in_again(staff, clock):
    fail(5)

    clock.shift(timedelta(minutes=14, seconds=59))
    assert sign_in(STAFF, RIGHT) == 429
    clock.shift(timedelta(seconds=2))
    assert sign_in(STAFF, RIGHT) == 302


def test_refused_tries_during_the_cool_off_do_not_extend_it(staff, clock):
    fail(5)
    clock.shift(timedelta(minutes=10))
    assert fail(3) == [429] * 3

    clock.shift(timedelta(minutes=5, seconds=1))
    assert sign_in(STAFF, RIGHT) == 302


def test_failures_further_apart_than_the_cool_off_do_not_add_up(staff, clock):
    assert fail(4) == [200] * 4
    clock.shift(timedelta(minutes=16))

    assert fail(4) == [200] * 4
    assert sign_in(STAFF, RIGHT) == 302


def test_the_admin_shows_the_lockout_and_deleting_its_attempts_lifts_it(staff, admin_client):
    fail(5)
    changelist = admin_client.get("/admin/axes/accessattempt/")
    assert changelist.status_code == 200 and STAFF in changelist.content.decode()
    assert '<td class="field-locked_out">address</td>' in changelist.content.decode()

    ids = list(AccessAttempt.objects.filter(username=STAFF).values_list("pk", flat=True))
    body = {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    assert admin_client.post("/admin/axes/accessattempt/", body).status_code == 302

    assert sign_in(STAFF, RIGHT) == 302


def test_a_spoofed_x_forwarded_for_does_not_dodge_the_client_limit_without_a_proxy(staff):
    statuses = [sign_in(f"guess{n}@example.com", WRONG, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}") for n in range(20)]

    assert statuses[-1] == 429
    assert sign_in(STAFF, RIGHT, HTTP_X_FORWARDED_FOR="203.0.113.250") == 429


def test_behind_one_proxy_the_address_it_forwarded_is_the_client(staff, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.1"

    for n in range(20):  # the guesser puts a new address in front of the one Render appends
        sign_in(f"guess{n}@example.com", WRONG, ip=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.7")

    assert sign_in(STAFF, RIGHT, ip=proxy, HTTP_X_FORWARDED_FOR="192.0.2.200, 203.0.113.7") == 429
    assert sign_in(STAFF, RIGHT, ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.8") == 302


def test_the_api_login_is_not_blocked_by_an_admin_lockout(staff, api_client):
    fail(5)

    response = api_client.post("/api/v1/auth/login/", {"email": STAFF, "password": RIGHT}, format="json")

    assert response.status_code == 200


def test_api_login_failures_are_not_counted_by_the_admin_lockout(staff, api_client, caplog):
    with caplog.at_level(logging.WARNING, logger="axes"):
        for _ in range(6):
            response = api_client.post("/api/v1/auth/login/", {"email": STAFF, "password": WRONG}, format="json")
            assert response.status_code == 401

    assert AccessAttempt.objects.count() == 0
    assert [record.getMessage() for record in caplog.records if record.name.startswith("axes")] == []
    assert sign_in(STAFF, RIGHT) == 302


def test_an_address_the_api_would_refuse_is_counted_not_a_500(client):
    answers = [
        client.post("/admin/login/", {"username": "root@localhost", "password": "wrong"}).status_code for _ in range(6)
    ]

    assert answers == [200] * 4 + [429] * 2


# --- A success resets its address only ---------------------------------------------------------------------


def test_signing_in_as_one_staff_member_keeps_the_failures_against_another(staff):
    User.objects.create_user("support@example.com", "support-pass-123456", is_staff=True, is_verified=True)
    guesses = fail(4)

    assert sign_in("support@example.com", "support-pass-123456") == 302

    assert guesses == [200] * 4
    assert sign_in(STAFF, WRONG) == 429


def test_a_low_privilege_sign_in_does_not_lift_a_lockout_of_another_address_from_its_client_address(staff):
    User.objects.create_user("support@example.com", "support-pass-123456", is_staff=True, is_verified=True)
    fail(5)

    assert sign_in("support@example.com", "support-pass-123456") == 302

    assert sign_in(STAFF, RIGHT) == 429
    assert AccessAttempt.objects.filter(username=STAFF).exists()


def test_signing_in_between_guesses_does_not_reset_the_client_address_count(staff):
    User.objects.create_user("support@example.com", "support-pass-123456", is_staff=True, is_verified=True)
    for n in range(19):
        assert sign_in(f"guess{n}@example.com", WRONG) == 200
        if n % 4 == 3:
            assert sign_in("support@example.com", "support-pass-123456") == 302

    assert sign_in("guess99@example.com", WRONG) == 429


# --- One attempt at a time per address and per client address ---------------------------------------------


def while_hashed(monkeypatch, during) -> list[str]:
    """Call `during()` while the next password is being checked (once); return the passwords checked."""
    checked = []
    original = MD5PasswordHasher.verify

    def verify(self, password, encoded):
        checked.append(password)
        if len(checked) == 1:
            during()
        return original(self, password, encoded)

    monkeypatch.setattr(MD5PasswordHasher, "verify", verify)
    return checked


def test_guesses_arriving_while_others_are_hashed_do_not_pass_the_limit(staff, monkeypatch, settings):
    checked, answers = [], []
    original = MD5PasswordHasher.verify

    def verify(self, password, encoded):
        checked.append(password)
        if len(checked) < 12:  # the next guess arrives while this one is being hashed
            answers.append(sign_in(STAFF, f"g{len(checked)}"))
        return original(self, password, encoded)

    monkeypatch.setattr(MD5PasswordHasher, "verify", verify)

    assert sign_in(STAFF, "g0") == 200

    assert len(checked) <= settings.ADMIN_LOGIN_FAILURE_LIMIT
    assert checked == ["g0"] and answers == [429]


def test_an_attempt_refused_as_busy_gets_the_locked_page_unhashed_and_uncounted(staff, monkeypatch):
    fail(5, "nobody@example.com", ip=ELSEWHERE)
    locked = post_login("nobody@example.com", WRONG, ELSEWHERE)
    busy = []
    checked = while_hashed(monkeypatch, lambda: busy.append(post_login(STAFF, RIGHT)))

    assert sign_in(STAFF, WRONG) == 200

    assert checked == [WRONG]  # the one in flight; the busy one was not hashed
    assert busy[0].status_code == 429 and busy[0]["Retry-After"] == locked["Retry-After"]
    assert busy[0].content == locked.content
    assert AccessAttempt.objects.get(username=STAFF).failures_since_start == 1


def test_while_one_attempt_is_checked_its_address_and_its_client_address_wait_and_others_go_on(staff, monkeypatch):
    User.objects.create_superuser("other@example.com", RIGHT)
    answers = {}

    def during():
        answers["same address, other client"] = sign_in(STAFF, RIGHT, ip=ELSEWHERE)
        answers["other address, same client"] = sign_in("other@example.com", RIGHT, ip=HOME)
        answers["other address, other client"] = sign_in("other@example.com", RIGHT, ip=ELSEWHERE)

    while_hashed(monkeypatch, during)

    assert sign_in(STAFF, WRONG, ip=HOME) == 200
    assert answers == {
        "same address, other client": 429,
        "other address, same client": 429,
        "other address, other client": 302,
    }


@pytest.mark.parametrize(
    "email, password, answer",
    [
        (STAFF, RIGHT, 302),  # signed in
        (STAFF, WRONG, 200),  # a failure
        ("reader@example.com", RIGHT, 200),  # the right password of an account that is not staff: no signal at all
    ],
)
def test_an_attempt_lets_the_next_one_in_when_it_ends(staff, email, password, answer, hashing):
    User.objects.create_user("reader@example.com", RIGHT, is_verified=True)

    assert sign_in(email, password) == answer
    hashing.clear()

    assert sign_in(email, password) == answer
    assert hashing  # checked, not refused as busy


def test_an_attempt_that_crashes_lets_the_next_one_in(staff, monkeypatch):
    def broken(self, password, encoded):
        raise RuntimeError("the hasher broke")

    with monkeypatch.context() as patched:
        patched.setattr(MD5PasswordHasher, "verify", broken)
        with pytest.raises(RuntimeError):
            sign_in(STAFF, RIGHT)

    assert sign_in(STAFF, RIGHT) == 302


def test_an_unreachable_cache_refuses_admin_sign_in_as_paused_never_500(staff, caplog):
    unreachable = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    with override_settings(CACHES={"default": unreachable}), caplog.at_level(logging.ERROR):
        response = post_login(STAFF, RIGHT)

    assert response.status_code == 429
    assert "REDIS_URL" in caplog.text


@pytest.mark.skipif(not redis_is_up(), reason="needs Redis on 127.0.0.1:6379 (REDIS_URL)")
def test_with_redis_an_attempt_in_flight_in_another_process_makes_this_one_wait(staff, hashing):
    # Keys of this run only, never a flush: other suites may share this Redis at the same time.
    redis_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/14",
        "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    # Another web process (a second gunicorn worker or instance) is checking a password for this address...
    other_process = "\n".join(
        [
            "import django; django.setup()",
            "from django.test import RequestFactory, override_settings",
            "from account.admin_lockout import sign_in_turn_take",
            f"with override_settings(CACHES={{'default': {redis_cache!r}}}):",
            f"    request = RequestFactory().post('/admin/login/', REMOTE_ADDR={ELSEWHERE!r})",
            f"    assert sign_in_turn_take(request, {{'username': {STAFF!r}}})",
        ]
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bookflow_api.settings"}
    subprocess.run([sys.executable, "-c", other_process], cwd=ROOT, env=env, check=True, timeout=60)

    # ...so this process refuses the address's attempt unchecked, from any client address...
    with override_settings(CACHES={"default": redis_cache}):
        assert sign_in(STAFF, RIGHT) == 429
        assert hashing == []
        # ...until that process is done (its keys only: a clear() would flush the whole Redis database).
        cache.delete_many(sign_in_turn_keys(STAFF, ELSEWHERE))
        assert [sign_in(STAFF, RIGHT), sign_in(STAFF, RIGHT)] == [302, 302]  # each gives its turn back in Redis
        assert cache.get_many(sign_in_turn_keys(STAFF, HOME)) == {}
