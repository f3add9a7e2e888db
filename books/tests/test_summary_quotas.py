"""Monthly summary quotas on a pinned clock, refunds when a generation fails, and who may read which summary."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from bookflow_api.durable import LEASE, TaskStatus
from books.models import Summary
from books.providers.base import ProviderError
from books.providers.offline import OfflineProvider
from books.tests.factories import seed_book as book
from conftest import reader_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def failures(monkeypatch, settings) -> dict:
    """The (offline) provider raises `failures[volume_id]` for that book and writes every other summary."""
    settings.SUMMARY_PROVIDER = "offline"
    failures, generate = {}, OfflineProvider.generate

    def failing_generate(self, book):
        if book.volume_id in failures:
            raise failures[book.volume_id]
        return generate(self, book)

    monkeypatch.setattr(OfflineProvider, "generate", failing_generate)
    return failures


def unlock(client, volume_id: str):
    return client.post(f"/api/v1/books/{volume_id}/summary/")


def summary_quota(client) -> dict:
    return client.get("/api/v1/account/subscription/").json()["quotas"]["summaries"]


def test_last_months_unlock_does_not_count_against_this_months_quota(time_machine):
    reader = reader_client()
    book("january0001"), book("february001")
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


def test_an_unlock_in_the_last_second_of_a_month_counts_in_that_month_only(time_machine):
    reader = reader_client()
    book("lastsecond1")
    time_machine.move_to(datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC), tick=False)
    unlock(reader, "lastsecond1")
    used_in_march = summary_quota(reader)["used"]

    time_machine.move_to(datetime(2026, 4, 1, 0, 0, tzinfo=UTC), tick=False)

    assert (used_in_march, summary_quota(reader)["used"]) == (1, 0)


def test_an_unlock_in_the_first_second_of_a_month_counts_in_that_month(time_machine):
    reader = reader_client()
    book("firstsecond")
    time_machine.move_to(datetime(2026, 4, 1, 0, 0, tzinfo=UTC), tick=False)
    unlock(reader, "firstsecond")

    time_machine.move_to(datetime(2026, 4, 30, 23, 59, 59, tzinfo=UTC), tick=False)

    assert summary_quota(reader)["used"] == 1


def test_a_failed_generation_refunds_only_that_summarys_unlock(failures, tasks):
    reader = reader_client(plan="basic")
    book("succeeds001"), book("fails000001")
    failures["fails000001"] = ProviderError("provider_http_400", "Bad request", transient=False)

    unlock(reader, "succeeds001")
    unlock(reader, "fails000001")
    tasks.run_all()

    assert Summary.objects.get(book_id="succeeds001").status == TaskStatus.READY
    assert Summary.objects.get(book_id="fails000001").status == TaskStatus.FAILED
    assert summary_quota(reader)["used"] == 1


def test_each_summary_is_read_by_its_own_id_and_only_by_readers_who_unlocked_it():
    reader, other = reader_client(plan="basic"), reader_client()
    book("first000001"), book("second00001"), book("others00001")
    first, second = (unlock(reader, volume_id).json()["id"] for volume_id in ("first000001", "second00001"))
    others = unlock(other, "others00001").json()["id"]

    read = [reader.get(f"/api/v1/summaries/{summary_id}/") for summary_id in (first, second, others)]

    assert [response.status_code for response in read] == [200, 200, 404]
    assert [read[0].json()["book"]["id"], read[1].json()["book"]["id"]] == ["first000001", "second00001"]
    assert (read[0].json()["id"], read[1].json()["id"]) == (first, second)


def test_an_unexpected_error_in_generation_is_retried_as_an_internal_error(failures, tasks):
    reader = reader_client()
    book("crashes0001")
    failures["crashes0001"] = RuntimeError("provider bug")

    unlock(reader, "crashes0001")
    tasks.run_all(limit=1)

    summary = Summary.objects.get()
    assert (summary.status, summary.attempts, summary.error_code) == (TaskStatus.PENDING, 1, "internal_error")
    assert len(tasks.pending) == 1


def test_an_unexpected_error_on_every_attempt_fails_the_summary_and_refunds_the_reader(failures, tasks):
    reader = reader_client()
    book("crashes0001")
    failures["crashes0001"] = RuntimeError("provider bug")

    summary_id = unlock(reader, "crashes0001").json()["id"]
    tasks.run_all()
    body = reader.get(f"/api/v1/summaries/{summary_id}/").json()

    assert (body["status"], body["error"]["code"]) == ("failed", "internal_error")
    assert Summary.objects.get().attempts == 4
    assert summary_quota(reader)["used"] == 0


def test_a_refunded_unlock_asked_for_again_next_month_is_charged_next_month(failures, tasks, time_machine):
    reader = reader_client()
    book("failsonce01")
    failures["failsonce01"] = ProviderError("provider_http_400", "Bad request", transient=False)
    time_machine.move_to(datetime(2026, 1, 20, 9, 0, tzinfo=UTC), tick=True)
    unlock(reader, "failsonce01")
    tasks.run_all()
    del failures["failsonce01"]

    time_machine.move_to(datetime(2026, 2, 3, 9, 0, tzinfo=UTC), tick=True)
    again = unlock(reader, "failsonce01")

    assert again.status_code == 202
    assert summary_quota(reader)["used"] == 1


def test_a_run_that_lost_its_claim_and_then_fails_refunds_nobody(failures, tasks, time_machine, monkeypatch):
    from account.tasks import resume_stale_tasks
    from books.summaries import generate_summary

    reader = reader_client()
    book("slowbook001")
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
    book("flaky000001")
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
