"""The stored-address report the migrations print and `manage.py email_collisions` repeats: rows whose one
spelling no other row shares are rewritten to it; collisions and refused rows are reported, never changed."""

import importlib
import io

import pytest
from django.apps import apps
from django.core.management import call_command

from account.addresses import address_report
from account.models import AddressMessage, User
from account.tests.factories import UserFactory
from books.models import FreeTrial

pytestmark = pytest.mark.django_db


def stored(*addresses: str) -> list[User]:
    """Rows as older rules stored them (the factory saves the text as given, unlike the API)."""
    return [UserFactory(email=address) for address in addresses]


def emails(model=User) -> list[str]:
    return list(model.objects.order_by("pk").values_list("email", flat=True))


def test_a_row_no_other_shares_is_rewritten_to_its_one_spelling():
    bob, _ = stored('"Bob"@example.com', "carol@example.com")

    report = address_report(User, rewrite=True)

    assert report.rewrites == [(bob.pk, '"Bob"@example.com', "bob@example.com")]
    assert emails() == ["bob@example.com", "carol@example.com"]
    assert report.lines() == [f'account.User.email: rewritten #{bob.pk} "Bob"@example.com -> bob@example.com']


def test_rows_that_are_one_mailbox_are_reported_together_and_left_alone():
    plain, quoted, escaped = stored("alice@example.com", '"alice"@example.com', '"al\\ice"@example.com')

    report = address_report(User, rewrite=True)

    assert report.rewrites == []
    assert report.collisions == {
        "alice@example.com": [(plain.pk, plain.email), (quoted.pk, quoted.email), (escaped.pk, escaped.email)]
    }
    assert emails() == ["alice@example.com", '"alice"@example.com', '"al\\ice"@example.com']


def test_rows_the_rules_now_refuse_are_reported_with_the_reason_and_left_alone():
    local, literal = stored("carol@localhost", "dan@[127.0.0.1]")

    report = address_report(User, rewrite=True)

    assert report.refused == [
        (local.pk, "carol@localhost", AddressMessage.SINGLE_LABEL),
        (literal.pk, "dan@[127.0.0.1]", AddressMessage.IP_LITERAL),
    ]
    assert emails() == ["carol@localhost", "dan@[127.0.0.1]"]


def test_an_address_idna_2003_folded_cannot_be_told_apart_and_stays():
    stored("x@strasse.de")  # once typed as x@straße.de: the ß is lost, the row is a valid address of its own

    report = address_report(User, rewrite=True)

    assert report.lines() == []
    assert emails() == ["x@strasse.de"]


def test_without_rewrite_the_report_only_says_what_would_change():
    bob = stored('"bob"@example.com')[0]

    report = address_report(User)

    assert report.lines() == [f'account.User.email: to rewrite #{bob.pk} "bob"@example.com -> bob@example.com']
    assert emails() == ['"bob"@example.com']


def test_the_users_migration_rewrites_and_prints_its_report(capsys):
    bob, _, _ = stored('"bob"@example.com', "alice@example.com", '"alice"@example.com')
    migration = importlib.import_module("account.migrations.0005_email_address_report")

    migration.check_user_addresses(apps, schema_editor=None)

    out = capsys.readouterr().out
    assert "manage.py email_collisions" in out
    assert f'rewritten #{bob.pk} "bob"@example.com -> bob@example.com' in out
    assert "COLLISION one mailbox alice@example.com" in out
    assert emails()[0] == "bob@example.com"


def test_the_migrations_print_nothing_when_every_address_is_in_its_one_spelling(capsys):
    stored("alice@example.com")
    FreeTrial.objects.create(email="alice@example.com")

    importlib.import_module("account.migrations.0005_email_address_report").check_user_addresses(apps, None)
    importlib.import_module("books.migrations.0005_freetrial_address_report").check_trial_addresses(apps, None)

    assert capsys.readouterr().out == ""


def test_the_command_reports_users_and_trials_and_changes_nothing():
    stored('"bob"@example.com', "carol@localhost")
    FreeTrial.objects.create(email='"zed"@example.com')
    FreeTrial.objects.create(email="zed@example.com")
    out = io.StringIO()

    call_command("email_collisions", stdout=out)

    assert "account.User.email: to rewrite" in out.getvalue()
    assert "account.User.email: REFUSED" in out.getvalue()
    assert "books.FreeTrial.email: COLLISION one mailbox zed@example.com" in out.getvalue()
    assert emails() == ['"bob"@example.com', "carol@localhost"]


def test_the_command_rewrites_on_request_once_a_collision_is_resolved():
    plain, quoted = stored("alice@example.com", '"alice"@example.com')
    plain.delete()  # the operator kept the other account
    out = io.StringIO()

    call_command("email_collisions", "--rewrite", stdout=out)

    assert emails() == ["alice@example.com"]
    assert f'rewritten #{quoted.pk} "alice"@example.com -> alice@example.com' in out.getvalue()


def test_the_command_says_so_when_there_is_nothing_to_report():
    stored("alice@example.com")
    out = io.StringIO()

    call_command("email_collisions", stdout=out)

    assert out.getvalue().strip() == "Every stored address is in its one spelling."
