"""Monthly summary quotas: counted per calendar month in UTC, larger on paid plans, free to reread, and refunded
when a generation fails (to the readers who paid for it, and only to them)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from account.tests.factories import UserFactory
from bookflow_api.durable import LEASE, TaskStatus
from books.models import Summary, SummaryUnlock
from books.providers.base import ProviderError
from books.providers.offline import OfflineProvider
from books.tests.factories import BookFactory, seed_book
from books.tests.helpers import failed_summary, summary_quota, unlock
from conftest import reader_client

pytestmark = pytest.mark.django_db


def refuse(self, book):
    raise ProviderError("provider_http_400", "Bad request", transient=False)


# The quota.


def test_quota_is_enforced_per_plan(auth_client, gemini, tasks):
    BookFactory(volume_id="first000001")
    BookFactory(volume_id="second00001")

    first = unlock(auth_client, "first000001")
    second = unlock(auth_client, "second00001")

    assert first.status_code == 202
    assert second.status_code == 403
    assert second.json()["code"] == "quota_exceeded"
    assert not Summary.objects.filter(book_id="second00001", unlocks__isnull=False).exists()


def test_a_paid_plan_has_a_larger_quota(gemini, tasks, clock):
    reader = reader_client("basic")
    for n in range(3):
        BookFactory(volume_id=f"book{n:07d}")

    statuses = [unlock(reader, f"book{n:07d}").status_code for n in range(3)]
    quota = reader.get("/api/v1/account/subscription/").json()

    assert statuses == [202, 202, 202]
    assert quota["plan"] == "basic"
    assert quota["status"] == "active"
    assert quota["quotas"]["summaries"] == {
        "limit": 10,
        "used": 3,
        "remaining": 7,
        "resets_at": "2026-04-01T00:00:00Z",  # the clock stands on 2026-03-04
    }


def test_rereading_an_unlocked_summary_is_free(auth_client, book, gemini, tasks):
    unlock(auth_client)
    tasks.run_all()

    again = unlock(auth_client)

    assert again.status_code == 200
    assert SummaryUnlock.objects.count() == 1


def test_last_months_unlock_does_not_count_against_this_months_quota(time_machine):
    reader = reader_client()
    seed_book("january0001"), seed_book("february001")
    time_machine.move_to(datetime(2026, 1, 20, 9, 0, tzinfo=UTC), tick=False)
    unlock(reader, "january0001")

    time_machine.move_to(datetime(2026, 2, 3, 9, 0, tzinfo=UTC), tick=False)
    quota = summary_quota(reader)
    february = unlock(reader, "february001")

    assert (quota["used"], quota["remaining"], quota["resets_at"]) == (0, 1, "2026-03-01T00:00:00Z")
    assert february.status_code == 202


@pytest.mark.parametrize(
    ("now", "resets_at"),
    [
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "2027-01-01T00:00:00Z"),
        (datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC), "2028-03-01T00:00:00Z"),
        (datetime(2027, 2, 28, 12, 0, tzinfo=UTC), "2027-03-01T00:00:00Z"),
        (datetime(2026, 4, 1, 0, 0, tzinfo=UTC), "2026-05-01T00:00:00Z"),
    ],
    ids=["december", "leap-february", "february", "first-second-of-april"],
)
def test_the_quota_resets_at_the_first_of_next_month(time_machine, now, resets_at):
    time_machine.move_to(now, tick=False)

    assert summary_quota(reader_client())["resets_at"] == resets_at


def test_the_quota_resets_at_midnight_sharp_whatever_the_microsecond_of_now(time_machine):
    time_machine.move_to(datetime(2026, 2, 3, 9, 0, 0, 123456, tzinfo=UTC), tick=False)

    quota = reader_client().get("/api/v1/account/subscription/").json()["quotas"]["summaries"]

    assert quota["resets_at"] == "2026-03-01T00:00:00Z"


def test_an_unlock_in_the_last_second_of_a_month_counts_in_that_month_only(time_machine):
    reader = reader_client()
    seed_book("lastsecond1")
    time_machine.move_to(datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC), tick=False)
    unlock(reader, "lastsecond1")
    used_in_march = summary_quota(reader)["used"]

    time_machine.move_to(datetime(2026, 4, 1, 0, 0, tzinfo=UTC), tick=False)

    assert (used_in_march, summary_quota(reader)["used"]) == (1, 0)


def test_an_unlock_in_the_first_second_of_a_month_counts_in_that_month(time_machine):
    reader = reader_client()
    seed_book("firstsecond")
    time_machine.move_to(datetime(2026, 4, 1, 0, 0, tzinfo=UTC), tick=False)
    unlock(reader, "firstsecond")

    time_machine.move_to(datetime(2026, 4, 30, 23, 59, 59, tzinfo=UTC), tick=False)

    assert summary_quota(reader)["used"] == 1


# Refunds.


def test_a_failed_generation_refunds_only_that_summarys_unlock(failures, tasks):
    reader = reader_client(plan="basic")
    seed_book("succeeds001"), seed_book("fails000001")
    failures["fails000001"] = ProviderError("provider_http_400", "Bad request", transient=False)

    unlock(reader, "succeeds001")
    unlock(reader, "fails000001")
    tasks.run_all()

    assert Summary.objects.get(book_id="succeeds001").status == TaskStatus.READY
    assert Summary.objects.get(book_id="fails000001").status == TaskStatus.FAILED
    assert summary_quota(reader)["used"] == 1


def test_a_refunded_unlock_asked_for_again_next_month_is_charged_next_month(failures, tasks, time_machine):
    reader = reader_client()
    seed_book("failsonce01")
    failures["failsonce01"] = ProviderError("provider_http_400", "Bad request", transient=False)
    time_machine.move_to(datetime(2026, 1, 20, 9, 0, tzinfo=UTC), tick=True)
    unlock(reader, "failsonce01")
    tasks.run_all()
    del failures["failsonce01"]

    time_machine.move_to(datetime(2026, 2, 3, 9, 0, tzinfo=UTC), tick=True)
    again = unlock(reader, "failsonce01")

    assert again.status_code == 202
    assert summary_quota(reader)["used"] == 1


def test_a_second_failure_refunds_the_new_reader_and_leaves_the_earlier_refund_as_it_was(offline, tasks, monkeypatch):
    refunded_on = timezone.now() - timedelta(days=2)
    summary = failed_summary("flaky000001")
    first = SummaryUnlock.objects.create(user=UserFactory(), summary=summary, refunded_at=refunded_on)
    monkeypatch.setattr(OfflineProvider, "generate", refuse)
    second = reader_client()

    unlock(second, "flaky000001")
    tasks.run_all()

    first.refresh_from_db()
    assert first.refunded_at == refunded_on
    assert second.get("/api/v1/account/subscription/").json()["quotas"]["summaries"]["used"] == 0


def test_a_run_that_lost_its_claim_and_then_fails_refunds_nobody(failures, tasks, time_machine, monkeypatch):
    from account.tasks import resume_stale_tasks
    from books.summaries import generate_summary

    reader = reader_client()
    seed_book("slowbook001")
    summary_id = unlock(reader, "slowbook001").json()["id"]
    written_by_offline = OfflineProvider.generate

    def hang_then_fail(self, volume):
        # This run outlives its lease; the worker's resume writes the summary; then this run fails for good.
        monkeypatch.setattr(OfflineProvider, "generate", written_by_offline)
        time_machine.move_to(timezone.now() + LEASE + timedelta(seconds=1))
        resume_stale_tasks()
        raise ProviderError("provider_http_400", "Bad request.", transient=False)

    monkeypatch.setattr(OfflineProvider, "generate", hang_then_fail)
    time_machine.move_to(timezone.now() + timedelta(seconds=5))
    generate_summary(summary_id)

    assert Summary.objects.get(pk=summary_id).status == TaskStatus.READY
    assert summary_quota(reader)["used"] == 1


def test_a_refunded_reader_does_not_read_the_summary_someone_else_later_paid_for(failures, tasks):
    first, second = reader_client(), reader_client()
    seed_book("flaky000001")
    failures["flaky000001"] = ProviderError("provider_http_400", "Bad request.", transient=False)
    summary_id = unlock(first, "flaky000001").json()["id"]
    tasks.run_all()
    failed = first.get(f"/api/v1/summaries/{summary_id}/")
    del failures["flaky000001"]
    tasks.traveller.shift(timedelta(minutes=61))  # past the cool-off
    unlock(second, "flaky000001")
    tasks.run_all()

    assert failed.json()["status"] == "failed"
    assert first.get(f"/api/v1/summaries/{summary_id}/").status_code == 404
    assert first.get("/api/v1/books/flaky000001/").json()["summary"] is None
    assert not [item for item in first.get("/api/v1/library/").json()["results"] if item["summary_id"]]
    again = unlock(first, "flaky000001")
    assert again.status_code == 200 and summary_quota(first)["used"] == 1
