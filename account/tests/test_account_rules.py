"""Account rules that mutation testing of `account/services.py` found unpinned: whose codes an action
touches, how long an address's tries last, which fields an error names, and what a write leaves alone."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from account import codes, services
from account.models import OneTimeCode, User
from account.tests.factories import PASSWORD, UserFactory
from bookflow_api.errors import ApplicationError
from conftest import CommittingAPIClient, last_code

REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/verify-email/"
RESEND = "/api/v1/auth/resend-code/"
LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/token/refresh/"
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
CHANGE = "/api/v1/auth/password/change/"
ME = "/api/v1/account/me/"
NEW_PASSWORD = "another-Long-passphrase-77"
NOON = datetime(2026, 1, 1, 12, tzinfo=UTC)
VERIFY_EMAIL = OneTimeCode.Purpose.VERIFY_EMAIL
RESET_PASSWORD = OneTimeCode.Purpose.RESET_PASSWORD

pytestmark = pytest.mark.django_db


def confirm(client, email: str, code: str, new_password: str = NEW_PASSWORD):
    return client.post(CONFIRM, {"email": email, "code": code, "new_password": new_password}, format="json")


def answer(response) -> tuple[int, str | None]:
    return response.status_code, response.json().get("code")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def check_answer(email: str, purpose: str = VERIFY_EMAIL) -> str:
    """The `code` an address without a live code gets for one more (wrong) guess."""
    try:
        services.code_check(user=None, email=email, purpose=purpose, code="123456")
    except ApplicationError as exc:
        return exc.code
    return "accepted"


def signed_in(reader) -> CommittingAPIClient:
    client = CommittingAPIClient()
    client.tokens = client.post(LOGIN, {"email": reader.email, "password": PASSWORD}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {client.tokens['access']}")
    return client


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, format="PNG")
    return SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")


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


# --- One reader's codes are theirs alone -----------------------------------------------------------


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


def test_a_new_code_keeps_the_time_the_older_code_was_used():
    reader = UserFactory()
    with time_machine.travel(NOON, tick=False):
        code = codes.code_issue(user=reader, purpose=RESET_PASSWORD)
        services.code_check(user=reader, email=reader.email, purpose=RESET_PASSWORD, code=code)
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        codes.code_issue(user=reader, purpose=RESET_PASSWORD)

    used = OneTimeCode.objects.filter(user=reader).order_by("created_at").first()
    assert used.consumed_at == NOON


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


# --- The tries of an address -----------------------------------------------------------------------


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


def test_an_addresss_spent_tries_are_remembered_for_a_day_then_forgotten(settings):
    email = "nobody@example.com"
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


def test_a_counter_reopened_after_expiring_between_add_and_incr_lasts_a_day(settings, monkeypatch):
    email = "nobody@example.com"
    monkeypatch.setattr(services, "cache", CounterExpiresBeforeIncr())
    with time_machine.travel(NOON, tick=False):
        for _ in range(settings.OTP_MAX_ATTEMPTS):
            check_answer(email)
    with time_machine.travel(NOON + timedelta(hours=23), tick=False):
        late = check_answer(email)
    with time_machine.travel(NOON + timedelta(days=1, seconds=1), tick=False):
        next_day = check_answer(email)

    assert (late, next_day) == ("too_many_attempts", "invalid_code")


# --- Registration ------------------------------------------------------------------------------------


def test_register_stores_the_names_and_time_zone_given(api_client):
    body = {"email": "grace@example.com", "password": NEW_PASSWORD, "first_name": "Grace", "last_name": "Hopper"}

    response = api_client.post(REGISTER, {**body, "timezone": "Africa/Lagos"}, format="json")

    assert response.status_code == 201
    reader = User.objects.get(email="grace@example.com")
    assert (reader.first_name, reader.last_name, reader.timezone) == ("Grace", "Hopper", "Africa/Lagos")


def test_a_taken_address_answers_email_taken_even_with_a_weak_password(api_client, user):
    response = api_client.post(REGISTER, {"email": user.email, "password": "12345678"}, format="json")

    assert answer(response) == (400, "email_taken")


# --- Passwords like the address are refused everywhere -----------------------------------------------


def test_register_refuses_a_password_that_is_the_address(api_client):
    email = "margaret.hamilton@example.com"

    response = api_client.post(REGISTER, {"email": email, "password": email}, format="json")

    assert answer(response) == (400, "weak_password")
    assert not User.objects.exists()


def test_reset_confirm_refuses_a_password_that_is_the_address(api_client):
    reader = UserFactory(email="margaret.hamilton@example.com")
    api_client.post(RESET, {"email": reader.email}, format="json")

    response = confirm(api_client, reader.email, last_code(), new_password=reader.email)

    assert answer(response) == (400, "weak_password")
    reader.refresh_from_db()
    assert reader.check_password(PASSWORD)


def test_password_change_refuses_a_password_that_is_the_address():
    reader = UserFactory(email="margaret.hamilton@example.com")

    response = signed_in(reader).post(CHANGE, {"current_password": PASSWORD, "new_password": reader.email})

    assert answer(response) == (400, "weak_password")
    reader.refresh_from_db()
    assert reader.check_password(PASSWORD)


# --- Errors name the field that is wrong --------------------------------------------------------------


def test_a_wrong_current_password_names_the_current_password_field(auth_client):
    response = auth_client.post(CHANGE, {"current_password": "wrong", "new_password": NEW_PASSWORD}, format="json")

    assert answer(response) == (400, "invalid_password")
    assert list(response.json()["errors"]) == ["current_password"]


def test_a_wrong_password_on_account_deletion_names_the_password_field(auth_client):
    response = auth_client.delete(ME, {"password": "wrong"}, format="json")

    assert answer(response) == (400, "invalid_password")
    assert list(response.json()["errors"]) == ["password"]


# --- A write changes only its own fields ---------------------------------------------------------------


def test_verification_keeps_a_profile_change_made_while_the_code_was_checked(api_client, monkeypatch):
    reader = UserFactory(is_verified=False)
    code = codes.code_issue(user=reader, purpose=VERIFY_EMAIL)
    real_check = services.code_check

    def check_while_renamed(**kwargs):
        User.objects.filter(pk=reader.pk).update(first_name="Grace")  # a profile edit lands meanwhile
        return real_check(**kwargs)

    monkeypatch.setattr(services, "code_check", check_while_renamed)
    assert api_client.post(VERIFY, {"email": reader.email, "code": code}, format="json").status_code == 200

    reader.refresh_from_db()
    assert (reader.is_verified, reader.first_name) == (True, "Grace")


def test_a_reset_keeps_a_profile_change_made_while_the_code_was_checked(api_client, monkeypatch):
    reader = UserFactory()
    api_client.post(RESET, {"email": reader.email}, format="json")
    real_check = services.code_check

    def check_while_renamed(**kwargs):
        User.objects.filter(pk=reader.pk).update(first_name="Grace")
        return real_check(**kwargs)

    monkeypatch.setattr(services, "code_check", check_while_renamed)
    assert confirm(api_client, reader.email, last_code()).status_code == 200

    reader.refresh_from_db()
    assert reader.first_name == "Grace" and reader.check_password(NEW_PASSWORD)


def test_a_password_change_does_not_undo_a_deactivation_made_meanwhile():
    reader = UserFactory()
    loaded = User.objects.get(pk=reader.pk)  # the request's user, loaded before the admin acts
    User.objects.filter(pk=reader.pk).update(is_active=False)

    services.password_change(user=loaded, current_password=PASSWORD, new_password=NEW_PASSWORD)

    reader.refresh_from_db()
    assert not reader.is_active and reader.check_password(NEW_PASSWORD)


def test_a_profile_edit_does_not_undo_a_deactivation_made_meanwhile():
    reader = UserFactory()
    loaded = User.objects.get(pk=reader.pk)
    User.objects.filter(pk=reader.pk).update(is_active=False)

    services.user_update(user=loaded, data={"first_name": "Grace"})

    reader.refresh_from_db()
    assert not reader.is_active and reader.first_name == "Grace"


# --- Sessions and files ---------------------------------------------------------------------------------


def test_a_logout_landing_during_a_password_change_does_not_break_it(monkeypatch):
    reader = UserFactory()
    for _ in range(2):  # two sessions
        signed_in(reader)
    real_filter = OutstandingToken.objects.filter

    def filter_then_logout(*args, **kwargs):
        live = list(real_filter(*args, **kwargs))
        BlacklistedToken.objects.create(token=live[0])  # a parallel logout of one session lands now
        return live

    monkeypatch.setattr(OutstandingToken.objects, "filter", filter_then_logout)
    tokens = services.password_change(user=reader, current_password=PASSWORD, new_password=NEW_PASSWORD)

    assert set(tokens) == {"access", "refresh"}
    assert BlacklistedToken.objects.filter(token__user=reader).count() == 2


def test_deleting_the_account_revokes_its_refresh_tokens(auth_client, user):
    refresh = auth_client.tokens["refresh"]

    auth_client.delete(ME, {"password": PASSWORD}, format="json")

    assert BlacklistedToken.objects.filter(token__token=refresh).exists()
    assert auth_client.post(REFRESH, {"refresh": refresh}, format="json").status_code == 401


def test_deleting_the_account_deletes_its_avatar_file(auth_client, user):
    auth_client.patch(ME, {"avatar": png()}, format="multipart")
    user.refresh_from_db()
    avatar, storage = user.avatar.name, user.avatar.storage
    assert storage.exists(avatar)

    assert auth_client.delete(ME, {"password": PASSWORD}, format="json").status_code == 204

    assert not storage.exists(avatar)


def test_an_avatar_that_cannot_be_deleted_does_not_fail_the_account_deletion(auth_client, user, monkeypatch):
    auth_client.patch(ME, {"avatar": png()}, format="multipart")

    def broken_delete(self, name):
        raise OSError("disk unavailable")

    monkeypatch.setattr(FileSystemStorage, "delete", broken_delete)
    response = auth_client.delete(ME, {"password": PASSWORD}, format="json")

    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
