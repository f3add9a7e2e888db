"""One-time codes: six digits, stored hashed, short-lived, used once, the newest only, a few guesses per
address, and the same answers for every address, known or not."""

import logging
import re
import secrets
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from account import codes, services
from account.emails import email_task_run
from account.models import EmailTask, OneTimeCode, User
from account.tasks import delete_otps
from account.tests.factories import PASSWORD, UserFactory
from account.tests.helpers import (
    CONFIRM,
    NEW_PASSWORD,
    NOON,
    OTHER_PASSWORD,
    POSTGRES_ONLY,
    REGISTER,
    RESEND,
    RESET,
    RESET_PASSWORD,
    VERIFY,
    VERIFY_EMAIL,
    answer,
    confirm,
    in_parallel,
    login_status,
    meet,
    register,
)
from bookflow_api.errors import ApplicationError
from conftest import CommittingAPIClient, last_code

pytestmark = pytest.mark.django_db


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def check_answer(email: str, purpose: str = VERIFY_EMAIL) -> str:
    """The `code` an address without a live code gets for one more (wrong) guess."""
    try:
        services.code_check(user=None, email=email, purpose=purpose, code="123456")
    except ApplicationError as exc:
        return exc.code
    return "accepted"


class CounterExpiresBeforeIncr:
    """The cache, except that the first counter `add`ed expires at once, before its `incr`."""

    def __init__(self) -> None:
        self.raced = False

    def __getattr__(self, name):
        return getattr(cache, name)

    def add(self, key, *args, **kwargs):
        added = cache.add(key, *args, **kwargs)
        if not self.raced:
            self.raced = True
            cache.delete(key)
        return added


# The code itself.


def test_codes_are_six_ascii_digits_drawn_from_a_million_values():
    reader = UserFactory()

    issued = [codes.code_issue(user=reader, purpose=RESET_PASSWORD) for _ in range(300)]

    assert all(re.fullmatch(r"[0-9]{6}", code) for code in issued)
    # Among 300 draws from a million a repeat is a 1-in-20 event; five repeats never happen.
    assert len(set(issued)) >= 295


def test_a_small_code_keeps_its_leading_zeros(api_client, monkeypatch):
    reader = UserFactory()
    monkeypatch.setattr(codes.secrets, "randbelow", lambda upper: 42)

    api_client.post(RESET, {"email": reader.email}, format="json")

    assert "000042" in mail.outbox[-1].body
    assert confirm(api_client, reader.email, "000042").status_code == 200


def test_code_is_stored_hashed(api_client):
    register(api_client)

    otp = OneTimeCode.objects.get()
    assert last_code() not in otp.code_hash
    assert len(otp.code_hash) == 64


def test_codes_and_hashes_never_appear_in_responses_or_logs(api_client, caplog):
    caplog.set_level(logging.DEBUG)
    registered = api_client.post(REGISTER, {"email": "new@example.com", "password": NEW_PASSWORD}, format="json")
    code, otp = last_code(), OneTimeCode.objects.get()
    verified = api_client.post(VERIFY, {"email": "new@example.com", "code": code}, format="json")
    password_hash = User.objects.get().password

    for text in [registered.content.decode(), verified.content.decode(), caplog.text]:
        assert code not in text and otp.code_hash not in text and password_hash not in text


# Used once, and only while it lives.


def test_a_code_works_only_once(api_client):
    register(api_client)
    code = last_code()
    api_client.post(VERIFY, {"email": "new@example.com", "code": code}, format="json")

    response = api_client.post(VERIFY, {"email": "new@example.com", "code": code}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"


def test_a_reset_code_works_only_once(api_client):
    reader = UserFactory()
    api_client.post(RESET, {"email": reader.email}, format="json")
    code = last_code()

    first = confirm(api_client, reader.email, code)
    second = confirm(api_client, reader.email, code, OTHER_PASSWORD)

    assert first.status_code == 200
    assert answer(second) == (400, "invalid_code")
    assert login_status(reader.email, NEW_PASSWORD) == 200


def test_wrong_code_is_rejected(api_client):
    register(api_client)
    wrong = f"{(int(last_code()) + 1) % 10**6:06d}"

    response = api_client.post(VERIFY, {"email": "new@example.com", "code": wrong}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
    assert not User.objects.get().is_verified


def test_malformed_code_is_a_validation_error(api_client):
    response = api_client.post(VERIFY, {"email": "new@example.com", "code": "12ab"}, format="json")

    assert response.status_code == 400
    assert "code" in response.json()["errors"]


def test_a_code_in_non_ascii_digits_is_rejected_without_using_up_an_attempt(api_client, user):
    api_client.post(RESET, {"email": user.email}, format="json")
    arabic = last_code().translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    body = {"email": user.email, "code": arabic, "new_password": NEW_PASSWORD}

    response = api_client.post(CONFIRM, body, format="json")

    assert response.status_code == 400
    assert "code" in response.json().get("errors", {})
    assert OneTimeCode.objects.get(user=user).attempts == 0


def test_expired_code_is_rejected(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        register(api_client)
    code = last_code()

    with time_machine.travel("2026-01-01 12:10:01 +0000", tick=False):
        response = api_client.post(VERIFY, {"email": "new@example.com", "code": code}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "code_expired"


def test_code_still_works_just_before_it_expires(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        register(api_client)
    with time_machine.travel("2026-01-01 12:09:59 +0000", tick=False):
        response = api_client.post(VERIFY, {"email": "new@example.com", "code": last_code()}, format="json")

    assert response.status_code == 200


def test_a_used_code_replayed_after_its_expiry_is_just_invalid(api_client, settings):
    reader = UserFactory()
    with time_machine.travel(NOON, tick=False):
        api_client.post(RESET, {"email": reader.email}, format="json")
        code = last_code()
        assert confirm(api_client, reader.email, code).status_code == 200
    with time_machine.travel(NOON + timedelta(minutes=settings.OTP_TTL_MINUTES + 1), tick=False):
        replay = confirm(api_client, reader.email, code, "yet-another-Long-passphrase-88")

    assert answer(replay) == (400, "invalid_code")


def test_a_code_used_by_a_parallel_request_meanwhile_is_refused(api_client, monkeypatch):
    reader = UserFactory()
    api_client.post(RESET, {"email": reader.email}, format="json")
    real = OneTimeCode.is_expired.fget

    def used_meanwhile(otp):  # the other request uses the code between this one's check and its use
        OneTimeCode.objects.filter(pk=otp.pk).update(consumed_at=NOON)
        return real(otp)

    monkeypatch.setattr(OneTimeCode, "is_expired", property(used_meanwhile))

    assert answer(confirm(api_client, reader.email, last_code())) == (400, "invalid_code")
    reader.refresh_from_db()
    assert reader.check_password(PASSWORD)


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


# The newest code only.


def test_a_new_code_voids_the_previous_one(api_client, monkeypatch):
    codes = iter([111111, 222222])  # two random codes could be equal, and then the first would still work
    monkeypatch.setattr(secrets, "randbelow", lambda limit: next(codes))
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        register(api_client)
    first = last_code()
    with time_machine.travel("2026-01-01 12:01:01 +0000", tick=False):
        assert api_client.post(RESEND, {"email": "new@example.com"}, format="json").status_code == 202
        second = last_code()
        old = api_client.post(VERIFY, {"email": "new@example.com", "code": first}, format="json")
        new = api_client.post(VERIFY, {"email": "new@example.com", "code": second}, format="json")

    assert len(mail.outbox) == 2
    assert (first, second) == ("111111", "222222")
    assert old.json()["code"] == "invalid_code"
    assert new.status_code == 200


def test_using_the_newer_reset_code_leaves_the_older_one_dead(api_client):
    reader = UserFactory()
    with time_machine.travel(NOON, tick=False):
        api_client.post(RESET, {"email": reader.email}, format="json")
        older = last_code()
    with time_machine.travel(NOON + timedelta(seconds=61), tick=False):  # past the resend cooldown
        api_client.post(RESET, {"email": reader.email}, format="json")
        newer = last_code()
        used = confirm(api_client, reader.email, newer)
        reused = confirm(api_client, reader.email, older, OTHER_PASSWORD)

    assert len(mail.outbox) == 2
    assert used.status_code == 200
    assert answer(reused) == (400, "invalid_code")


def test_a_newer_code_kills_the_older_one_before_the_newer_one_is_used(api_client):
    reader = UserFactory()
    codes.code_issue(user=reader, purpose=RESET_PASSWORD)
    newer = codes.code_issue(user=reader, purpose=RESET_PASSWORD)

    # The nightly cleanup deletes dead codes only: the older one is already among them.
    assert delete_otps() == 1
    assert confirm(api_client, reader.email, newer).status_code == 200


def test_a_new_code_keeps_the_time_the_older_code_was_used():
    reader = UserFactory()
    with time_machine.travel(NOON, tick=False):
        code = codes.code_issue(user=reader, purpose=RESET_PASSWORD)
        services.code_check(user=reader, email=reader.email, purpose=RESET_PASSWORD, code=code)
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        codes.code_issue(user=reader, purpose=RESET_PASSWORD)

    used = OneTimeCode.objects.filter(user=reader).order_by("created_at").first()
    assert used.consumed_at == NOON


# One reader's codes are theirs alone, and one purpose's are apart from another's.


def test_a_code_sent_to_one_reader_leaves_another_readers_code_working(api_client):
    first, second = UserFactory(), UserFactory()
    api_client.post(RESET, {"email": first.email}, format="json")
    api_client.post(RESET, {"email": second.email}, format="json")
    first_code, second_code = last_code(to=first.email), last_code(to=second.email)

    assert confirm(api_client, first.email, first_code).status_code == 200
    assert confirm(api_client, second.email, second_code).status_code == 200


def test_wrong_guesses_for_one_reader_never_use_up_another_readers_tries(api_client, settings):
    guesser, other = UserFactory(), UserFactory()
    api_client.post(RESET, {"email": guesser.email}, format="json")
    guessers_code = last_code(to=guesser.email)
    api_client.post(RESET, {"email": other.email}, format="json")

    for _ in range(settings.OTP_MAX_ATTEMPTS):
        confirm(api_client, guesser.email, wrong(guessers_code))

    assert answer(confirm(api_client, guesser.email, guessers_code)) == (400, "too_many_attempts")
    assert confirm(api_client, other.email, last_code(to=other.email)).status_code == 200


def test_a_reset_code_sent_later_leaves_the_verification_code_working(api_client):
    reader = UserFactory(is_verified=False)
    verification = codes.code_issue(user=reader, purpose=VERIFY_EMAIL)

    codes.code_issue(user=reader, purpose=RESET_PASSWORD)

    response = api_client.post(VERIFY, {"email": reader.email, "code": verification}, format="json")
    assert response.status_code == 200
    reader.refresh_from_db()
    assert reader.is_verified


# The tries of an address.


def test_attempts_are_exhausted_after_five_wrong_codes_even_for_the_right_one(api_client, settings):
    register(api_client)
    code = last_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(settings.OTP_MAX_ATTEMPTS):
        assert (
            api_client.post(VERIFY, {"email": "new@example.com", "code": wrong}, format="json").json()["code"]
            == "invalid_code"
        )

    response = api_client.post(VERIFY, {"email": "new@example.com", "code": code}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "too_many_attempts"
    assert not User.objects.get().is_verified


def test_a_new_code_request_gives_an_exhausted_unknown_address_fresh_tries(api_client, settings):
    email = "nobody@example.com"
    guesses = [check_answer(email) for _ in range(settings.OTP_MAX_ATTEMPTS + 1)]

    assert api_client.post(RESEND, {"email": email, "purpose": VERIFY_EMAIL}, format="json").status_code == 202

    assert guesses[-1] == "too_many_attempts"
    assert check_answer(email) == "invalid_code"


def test_verification_and_reset_guesses_are_counted_apart(settings):
    email = "nobody@example.com"
    verify_guesses = [check_answer(email, VERIFY_EMAIL) for _ in range(settings.OTP_MAX_ATTEMPTS + 1)]

    assert verify_guesses[-1] == "too_many_attempts"
    assert check_answer(email, RESET_PASSWORD) == "invalid_code"


@pytest.mark.parametrize("racing_cache", [False, True], ids=["counter", "counter reopened after expiring mid-guess"])
def test_an_addresss_spent_tries_are_remembered_for_a_day_then_forgotten(settings, monkeypatch, racing_cache):
    email = "nobody@example.com"
    if racing_cache:  # expires between add and incr: the reopened counter must last a day too
        monkeypatch.setattr(services, "cache", CounterExpiresBeforeIncr())
    with time_machine.travel(NOON, tick=False):
        for _ in range(settings.OTP_MAX_ATTEMPTS):
            check_answer(email)
    with time_machine.travel(NOON + timedelta(hours=23), tick=False):
        late = check_answer(email)
    with time_machine.travel(NOON + timedelta(days=1, seconds=1), tick=False):
        next_day = check_answer(email)

    assert (late, next_day) == ("too_many_attempts", "invalid_code")


@pytest.mark.parametrize("max_attempts", [1, 2])
def test_a_counter_that_expires_between_add_and_incr_counts_the_guess_as_the_first(settings, monkeypatch, max_attempts):
    settings.OTP_MAX_ATTEMPTS = max_attempts
    monkeypatch.setattr(services, "cache", CounterExpiresBeforeIncr())

    guesses = [check_answer("nobody@example.com") for _ in range(max_attempts + 2)]

    assert guesses == ["invalid_code"] * max_attempts + ["too_many_attempts"] * 2


# The same answers for every address, known or not.


def test_verify_answers_the_same_for_an_unknown_address(api_client):
    response = api_client.post(VERIFY, {"email": "nobody@example.com", "code": "123456"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"


def test_an_unknown_address_runs_out_of_tries_on_the_same_guess_as_a_real_account(api_client, settings):
    reader = UserFactory(is_verified=False)
    wrong = f"{(int(codes.code_issue(user=reader, purpose='verify_email')) + 1) % 10**6:06d}"

    def guesses(email: str, client_ip: str) -> list[tuple[int, str]]:
        api_client.credentials(REMOTE_ADDR=client_ip)  # each address has its own IP throttle
        body = {"email": email, "code": wrong}
        return [answer(api_client.post(VERIFY, body, format="json")) for _ in range(settings.OTP_MAX_ATTEMPTS + 1)]

    real, unknown = guesses(reader.email, "10.0.0.1"), guesses("nobody@example.com", "10.0.0.2")

    assert real == [(400, "invalid_code")] * settings.OTP_MAX_ATTEMPTS + [(400, "too_many_attempts")]
    assert unknown == real


def test_after_the_nightly_clean_up_a_real_address_still_answers_like_an_unknown_one(api_client, settings):
    reader = UserFactory(is_verified=False)
    wrong = f"{(int(codes.code_issue(user=reader, purpose='verify_email')) + 1) % 10**6:06d}"

    def guess(email: str, client_ip: str) -> tuple[int, str]:
        api_client.credentials(REMOTE_ADDR=client_ip)
        return answer(api_client.post(VERIFY, {"email": email, "code": wrong}, format="json"))

    for _ in range(settings.OTP_MAX_ATTEMPTS + 1):
        guess(reader.email, "10.0.0.1"), guess("nobody@example.com", "10.0.0.2")
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.OTP_TTL_MINUTES + 1)):
        assert delete_otps() == 1  # 02:00: the spent code is gone
        after = guess(reader.email, "10.0.0.1"), guess("nobody@example.com", "10.0.0.2")

    assert after == ((400, "too_many_attempts"), (400, "too_many_attempts"))


def test_verify_email_answers_an_expired_code_alike_for_known_and_unknown_addresses(api_client):
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        api_client.post(REGISTER, {"email": "someone@example.com", "password": NEW_PASSWORD}, format="json")
    with time_machine.travel("2026-01-01 12:11 +0000", tick=False):
        known = api_client.post(VERIFY, {"email": "someone@example.com", "code": "123456"}, format="json")
        unknown = api_client.post(VERIFY, {"email": "nobody@example.com", "code": "123456"}, format="json")

    assert known.json()["code"] == unknown.json()["code"]


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


# Deactivated accounts.


@pytest.mark.parametrize(
    "url, purpose",
    [(RESET, None), (RESEND, "reset_password"), (RESEND, "verify_email")],
    ids=["reset", "resend-reset", "resend-verify"],
)
def test_a_deactivated_account_is_sent_no_code(api_client, url, purpose):
    reader = UserFactory(is_active=False, is_verified=False)
    body = {"email": reader.email} | ({"purpose": purpose} if purpose else {})

    response = api_client.post(url, body, format="json")

    assert response.status_code == 202
    assert mail.outbox == []


def test_a_reset_code_issued_before_deactivation_cannot_be_used(api_client):
    reader = UserFactory()
    api_client.post(RESET, {"email": reader.email}, format="json")
    reader.is_active = False
    reader.save(update_fields=["is_active"])

    response = confirm(api_client, reader.email, last_code())

    assert answer(response) == (400, "invalid_code")
    reader.refresh_from_db()
    assert reader.check_password(PASSWORD)


def test_a_code_email_queued_before_deactivation_is_not_sent(api_client):
    reader = UserFactory(is_verified=False)
    task = EmailTask.objects.create(user=reader, kind=EmailTask.Kind.VERIFY_EMAIL)
    reader.is_active = False
    reader.save(update_fields=["is_active"])

    email_task_run(task.pk)

    task.refresh_from_db()
    assert (task.status, task.error_code) == ("failed", "account_inactive")
    assert mail.outbox == [] and not OneTimeCode.objects.exists()
