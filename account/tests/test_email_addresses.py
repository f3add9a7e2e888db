"""One mailbox, one identity: every spelling of an address reaches one account, one set of limits and one
free trial, and forms that name no single public mailbox are refused wherever an address comes in."""

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from account.admin import AdminUserChangeForm
from account.models import AddressMessage, User, address_key, normalize_email
from account.tests.factories import PASSWORD, UserFactory
from conftest import last_code, throttle_limit

REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/verify-email/"
RESEND = "/api/v1/auth/resend-code/"
LOGIN = "/api/v1/auth/login/"
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
NEW_PASSWORD = "another-Long-passphrase-77"

pytestmark = pytest.mark.django_db

ONE_SPELLING = [
    (" Alice@Example.COM ", "alice@example.com"),
    ('"alice"@example.com', "alice@example.com"),
    ('"al\\ice"@example.com', "alice@example.com"),  # a quoted pair stands for its character
    ('"Alice.Smith"@example.com', "alice.smith@example.com"),
    ("o'brien+books@example.com", "o'brien+books@example.com"),
    ("a@\uff45xample.com", "a@example.com"),  # a full-width "e"
    ("a@exa\u00admple.com", "a@example.com"),  # an invisible soft hyphen
    ("a@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25\uff0e\uff43\uff4f\uff4d", "a@example.com"),  # all full-width
    ("x@straße.de", "x@xn--strae-oqa.de"),  # IDNA 2008: not strasse.de
    ("x@strasse.de", "x@strasse.de"),
    ("x@XN--STRAE-OQA.DE", "x@xn--strae-oqa.de"),
]

REFUSED = [
    ('"a b"@example.com', AddressMessage.QUOTED),
    ('"a@b"@x.com', AddressMessage.QUOTED),
    ('"a\\"b"@example.com', AddressMessage.QUOTED),
    ('""@example.com', AddressMessage.QUOTED),
    ('a"b@example.com', AddressMessage.QUOTED),
    ("alice@[127.0.0.1]", AddressMessage.IP_LITERAL),
    ("alice@[IPv6:::1]", AddressMessage.IP_LITERAL),
    ("alice@127.0.0.1", AddressMessage.IP_LITERAL),
    ("alice@localhost", AddressMessage.SINGLE_LABEL),
    ("alice@example", AddressMessage.SINGLE_LABEL),
    ("a@xn--ls8h.la", AddressMessage.DOMAIN),  # an emoji domain: IDNA 2003 allowed it, IDNA 2008 does not
    ("a@exa\u200dmple.com", AddressMessage.DOMAIN),  # a zero-width joiner
    ("a@ex_ample.com", AddressMessage.DOMAIN),
    ("ü@example.com", AddressMessage.LOCAL_PART),
    ("\u212aate@example.com", AddressMessage.LOCAL_PART),  # a Kelvin sign, which lower() would make "kate"
    ("a..b@example.com", AddressMessage.LOCAL_PART),
    ("x" * 65 + "@example.com", AddressMessage.TOO_LONG),
    ("a@example.com.", AddressMessage.INVALID),
    ("example.com", AddressMessage.INVALID),
]


# --- The normaliser ---------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling, stored", ONE_SPELLING)
def test_every_spelling_of_a_mailbox_has_one_stored_form(spelling, stored):
    assert normalize_email(spelling) == stored
    assert normalize_email(stored) == stored


@pytest.mark.parametrize("address, message", REFUSED)
def test_forms_that_name_no_single_public_mailbox_are_refused_with_a_reason(address, message):
    with pytest.raises(ValidationError) as refused:
        normalize_email(address)

    assert refused.value.messages == [message]
    assert refused.value.code == "invalid"


def test_the_key_for_limits_never_fails_and_agrees_with_the_normaliser():
    assert address_key('"Alice"@example.com') == "alice@example.com"
    assert address_key("  Alice@LOCALHOST ") == "alice@localhost"


# --- Where addresses come in ------------------------------------------------------------------------


@pytest.mark.parametrize("address, message", REFUSED)
def test_register_refuses_such_a_form_as_a_validation_error_and_sends_nothing(api_client, address, message):
    response = api_client.post(REGISTER, {"email": address, "password": PASSWORD}, format="json")

    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "detail": message, "errors": {"email": [message]}}
    assert not User.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    "url, body",
    [
        (LOGIN, {"password": PASSWORD}),
        (VERIFY, {"code": "123456"}),
        (RESEND, {"purpose": "verify_email"}),
        (RESET, {}),
        (CONFIRM, {"code": "123456", "new_password": NEW_PASSWORD}),
    ],
)
@pytest.mark.parametrize("address", ['"a b"@example.com', "alice@[127.0.0.1]", "alice@localhost"])
def test_every_other_address_input_refuses_the_same_forms_the_same_way(api_client, url, body, address):
    response = api_client.post(url, {"email": address, **body}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == ["email"]


def test_needless_quotes_are_dropped_before_the_address_is_stored(api_client):
    response = api_client.post(REGISTER, {"email": '"Alice"@example.com', "password": PASSWORD}, format="json")

    assert response.status_code == 201
    assert response.json()["email"] == "alice@example.com"
    assert mail.outbox[0].to == ["alice@example.com"]


def test_a_quoted_spelling_of_a_taken_address_gets_the_answer_any_taken_address_gets(api_client, trialing):
    quoted = api_client.post(REGISTER, {"email": '"reader"@example.com', "password": PASSWORD}, format="json")
    upper = api_client.post(REGISTER, {"email": "READER@example.com", "password": PASSWORD}, format="json")

    assert quoted.status_code == 400
    assert quoted.json()["code"] == "email_taken"
    assert quoted.json() == upper.json()
    assert User.objects.count() == 1


def test_straße_and_strasse_are_two_domains(api_client):
    for address in ["x@straße.de", "x@strasse.de"]:
        response = api_client.post(REGISTER, {"email": address, "password": PASSWORD}, format="json")
        assert response.status_code == 201

    assert sorted(User.objects.values_list("email", flat=True)) == ["x@strasse.de", "x@xn--strae-oqa.de"]
    assert [m.to for m in mail.outbox] == [["x@xn--strae-oqa.de"], ["x@strasse.de"]]


@pytest.mark.parametrize("spelling", ["reader@\uff45xample.com", "reader@exa\u00admple.com", '"reader"@example.com'])
def test_login_reaches_the_one_account_under_any_spelling(api_client, spelling):
    UserFactory(email="reader@example.com")

    response = api_client.post(LOGIN, {"email": spelling, "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json()["user"]["email"] == "reader@example.com"


def test_resend_and_verify_with_quotes_reach_the_same_account(api_client):
    reader = UserFactory(email="reader@example.com", is_verified=False)

    resent = api_client.post(RESEND, {"email": '"reader"@example.com', "purpose": "verify_email"}, format="json")
    body = {"email": '"Reader"@example.com', "code": last_code(to="reader@example.com")}
    verified = api_client.post(VERIFY, body, format="json")

    assert (resent.status_code, verified.status_code) == (202, 200)
    reader.refresh_from_db()
    assert reader.is_verified


def test_a_password_reset_with_quotes_reaches_the_same_account(api_client, user):
    quoted = f'"{user.email.split("@")[0]}"@example.com'

    assert api_client.post(RESET, {"email": quoted}, format="json").status_code == 202
    body = {"email": quoted, "code": last_code(to=user.email), "new_password": NEW_PASSWORD}
    assert api_client.post(CONFIRM, body, format="json").status_code == 200

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


# --- Limits and the free trial ----------------------------------------------------------------------


def test_quoted_and_unicode_spellings_share_the_login_throttle(api_client, user):
    local, domain = user.email.split("@")
    variants = [user.email, f'"{local}"@{domain}', f"{local}@\uff45xample.com", f'"{local.upper()}"@{domain}']
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        for attempt in range(throttle_limit("login_email") + 1):
            api_client.credentials(REMOTE_ADDR=f"10.0.2.{attempt}")
            body = {"email": variants[attempt % len(variants)], "password": "wrong-password"}
            last = api_client.post(LOGIN, body, format="json")

    assert last.status_code == 429


def test_email_case_and_whitespace_variants_share_the_login_throttle(api_client, user):
    local, domain = user.email.split("@")
    variants = [user.email, user.email.upper(), f"  {user.email} ", f"{local.title()}@{domain.upper()}"]
    with time_machine.travel("2026-01-01 12:00 +0000", tick=False):
        for attempt in range(21):
            api_client.credentials(REMOTE_ADDR=f"10.0.2.{attempt}")
            body = {"email": variants[attempt % len(variants)], "password": "wrong-password"}
            last = api_client.post(LOGIN, body, format="json")

    assert last.status_code == 429


def test_quoted_spellings_share_an_addresss_code_guesses(api_client, settings):
    spellings = ["nobody@example.com", '"nobody"@example.com', '"nob\\ody"@example.com']
    answers = []
    for guess in range(settings.OTP_MAX_ATTEMPTS + 1):
        body = {"email": spellings[guess % len(spellings)], "code": "123456"}
        answers.append(api_client.post(VERIFY, body, format="json").json()["code"])

    assert answers[-1] == "too_many_attempts"


# --- Admin, createsuperuser, the manager ------------------------------------------------------------


def test_the_manager_refuses_what_the_api_refuses_and_finds_accounts_under_any_spelling(user):
    with pytest.raises(ValidationError):
        User.objects.create_user("alice@localhost", PASSWORD)

    assert User.objects.get_by_natural_key(f'"{user.email.split("@")[0]}"@example.com') == user
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key("alice@[127.0.0.1]")


def test_createsuperuser_refuses_an_address_without_a_public_domain(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "admin-pass-123456")

    with pytest.raises(CommandError, match="full domain name"):
        call_command("createsuperuser", "--noinput", "--email", "admin@localhost")
    assert not User.objects.exists()


def test_the_admin_refuses_a_second_account_under_a_quoted_spelling(client, user):
    client.force_login(User.objects.create_superuser("admin@example.com", "admin-pass-123456"))
    quoted = f'"{user.email.split("@")[0]}"@example.com'
    form = {"email": quoted, "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"}

    page = client.post(reverse("admin:account_user_add"), form)

    assert page.status_code == 200  # the form again, with its error
    assert User.objects.filter(is_staff=False).count() == 1


def test_a_reader_created_in_the_admin_with_a_mixed_case_email_can_log_in(client, api_client):
    client.force_login(User.objects.create_superuser("admin@example.com", "admin-pass-123456"))
    form = {"email": "Mixed@Example.COM", "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"}
    client.post(reverse("admin:account_user_add"), form)
    User.objects.filter(is_staff=False).update(is_verified=True)

    response = api_client.post(LOGIN, {"email": "Mixed@Example.COM", "password": PASSWORD}, format="json")

    assert response.status_code == 200


def admin_change_form(user: User, **changes) -> AdminUserChangeForm:
    """The admin's change form for `user`, sent back with `changes`."""
    unchanged = AdminUserChangeForm(instance=user)
    data = {name: unchanged[name].value() for name in unchanged.fields}
    data = {name: value for name, value in data.items() if value is not None}
    return AdminUserChangeForm(instance=user, data={**data, **changes})


def test_an_account_stored_under_older_rules_stays_editable_in_the_admin_until_its_address_changes():
    legacy = UserFactory(email="carol@localhost")

    assert admin_change_form(legacy, is_active=False).is_valid()
    assert admin_change_form(legacy, email="carol@[127.0.0.1]").errors["email"] == [AddressMessage.IP_LITERAL]
    fixed = admin_change_form(legacy, email='"Carol"@example.com')
    assert fixed.is_valid()
    assert fixed.cleaned_data["email"] == "carol@example.com"
