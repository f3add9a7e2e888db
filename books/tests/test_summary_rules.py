"""The summary rules a reader or an admin can see: when a generation may run, what asking again resets, which
summary a reader is shown, who is refunded, and that a reader's parallel unlocks wait for each other."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from account.tasks import resume_stale_tasks
from account.tests.factories import UserFactory
from bookflow_api.durable import LEASE, TaskStatus
from books.models import Summary, SummaryUnlock
from books.providers.base import ProviderError
from books.providers.offline import OfflineProvider
from books.summaries import generate_summary, summary_request, summary_retry
from books.tests.factories import seed_book as book
from conftest import CLOCK_START as START
from conftest import committing, reader_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def offline(settings):
    settings.SUMMARY_PROVIDER = "offline"


def failed_summary(volume_id: str, **fields) -> Summary:
    """A summary whose every attempt failed two hours ago (its cool-off passed), its readers refunded."""
    fields = {"finished_at": timezone.now() - timedelta(hours=2), "failed_rounds": 1, **fields}
    return Summary.objects.create(
        book=book(volume_id),
        status=TaskStatus.FAILED,
        attempts=4,
        error_code="provider_http_500",
        error_detail="Internal error",
        **fields,
    )


def refuse(self, book):
    raise ProviderError("provider_http_400", "Bad request", transient=False)


def unlock(client, volume_id: str):
    return client.post(f"/api/v1/books/{volume_id}/summary/")


def row(summary_id: int) -> tuple:
    s = Summary.objects.get(pk=summary_id)
    return (s.status, s.attempts, s.run_after, s.error_code, s.error_detail, s.finished_at)


def test_the_quota_resets_at_midnight_sharp_whatever_the_microsecond_of_now(time_machine):
    time_machine.move_to(datetime(2026, 2, 3, 9, 0, 0, 123456, tzinfo=UTC), tick=False)

    quota = reader_client().get("/api/v1/account/subscription/").json()["quotas"]["summaries"]

    assert quota["resets_at"] == "2026-03-01T00:00:00Z"


def test_a_new_summary_is_not_generated_before_its_delay_even_if_a_timer_fires_early(offline, clock, settings):
    settings.SUMMARY_TASK_DELAY_SECONDS = 60
    book("delayed0001")
    summary_id = unlock(reader_client(), "delayed0001").json()["id"]

    generate_summary(summary_id)  # a timer firing at once

    assert row(summary_id)[:3] == (TaskStatus.PENDING, 0, START + timedelta(seconds=60))


def test_asking_again_after_a_failure_waits_the_delay_before_generating(offline, clock, settings):
    settings.SUMMARY_TASK_DELAY_SECONDS = 60
    summary = failed_summary("failed00001", run_after=START - timedelta(hours=1))

    unlock(reader_client(), "failed00001")
    generate_summary(summary.pk)  # a timer firing at once

    assert row(summary.pk)[:3] == (TaskStatus.PENDING, 0, START + timedelta(seconds=60))


def test_asking_again_after_a_failure_clears_the_old_failure_from_the_row(offline, clock, settings):
    settings.SUMMARY_TASK_DELAY_SECONDS = 60
    summary = failed_summary("failed00001")

    unlock(reader_client(), "failed00001")

    assert row(summary.pk)[3:] == ("", "", None)


def test_asking_again_for_one_failed_summary_restarts_no_other(offline, clock):
    asked, other = failed_summary("asked000001"), failed_summary("other000001")

    unlock(reader_client(), "asked000001")

    assert Summary.objects.get(pk=asked.pk).status == TaskStatus.PENDING
    assert row(other.pk)[:2] == (TaskStatus.FAILED, 4)


def test_the_admin_retry_generates_a_failed_summary_at_once(offline, tasks):
    summary = failed_summary("retried0001")

    restarted = committing(summary_retry, summary=summary)

    summary.refresh_from_db()
    assert restarted is True
    assert (summary.status, summary.attempts, summary.error_code) == (TaskStatus.READY, 1, "")


def test_the_admin_retry_leaves_a_summary_that_is_no_longer_failed_alone(offline, tasks):
    summary = failed_summary("retried0001")
    stale_copy = Summary.objects.get(pk=summary.pk)
    committing(summary_retry, summary=summary)  # another admin retried it first: it is ready now

    restarted = committing(summary_retry, summary=stale_copy)

    assert restarted is False
    assert row(summary.pk)[:2] == (TaskStatus.READY, 1)


def test_an_english_reader_is_never_given_the_summary_in_another_language(offline, tasks):
    book("habits00001")
    german = Summary.objects.create(book_id="habits00001", language="de", status=TaskStatus.READY, content={})

    response = unlock(reader_client(), "habits00001")

    assert response.status_code == 202
    assert response.json()["id"] != german.pk
    assert Summary.objects.get(pk=response.json()["id"]).language == "en"


def test_a_new_prompt_version_writes_a_new_summary_instead_of_serving_the_old_one(offline, tasks, settings):
    book("habits00001")
    old = Summary.objects.create(book_id="habits00001", prompt_version=1, status=TaskStatus.READY, content={})
    settings.SUMMARY_PROMPT_VERSION = 2

    response = unlock(reader_client(), "habits00001")

    assert response.status_code == 202
    assert response.json()["id"] != old.pk
    assert Summary.objects.get(pk=response.json()["id"]).prompt_version == 2


def test_a_book_page_shows_the_readers_summary_of_that_book_only(offline, tasks):
    reader = reader_client()
    book("unlocked001"), book("another0001")
    unlock(reader, "unlocked001")

    page = reader.get("/api/v1/books/another0001/").json()

    assert page["summary"] is None


def test_a_book_page_shows_no_summary_held_only_in_another_language(offline, user, auth_client):
    german = Summary.objects.create(book=book("habits00001"), language="de", status=TaskStatus.READY, content={})
    SummaryUnlock.objects.create(user=user, summary=german)

    page = auth_client.get("/api/v1/books/habits00001/").json()

    assert page["summary"] is None


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


def test_a_timer_does_not_take_over_a_run_that_died_only_the_worker_resumes_it(offline, clock):
    summary = Summary.objects.create(book=book("died0000001"), status=TaskStatus.RUNNING, attempts=1, claimed_at=START)
    clock.move_to(START + LEASE + timedelta(seconds=1))

    generate_summary(summary.pk)  # a timer firing late, e.g. a duplicate
    after_timer = row(summary.pk)[:2]
    resume_stale_tasks()

    assert after_timer == (TaskStatus.RUNNING, 1)
    assert row(summary.pk)[:2] == (TaskStatus.READY, 2)


def test_an_unexpected_error_is_recorded_with_what_was_raised(offline, tasks, monkeypatch):
    book("crashes0001")
    monkeypatch.setattr(OfflineProvider, "generate", lambda self, book: 1 / 0)

    summary_id = unlock(reader_client(), "crashes0001").json()["id"]
    tasks.run_all(limit=1)

    assert row(summary_id)[3] == "internal_error"
    assert "ZeroDivisionError" in row(summary_id)[4]


def test_a_ready_summary_says_when_it_became_ready(offline, tasks):
    reader = reader_client()
    book("habits00001")
    summary_id = unlock(reader, "habits00001").json()["id"]
    tasks.run_all()

    body = reader.get(f"/api/v1/summaries/{summary_id}/").json()

    assert body["status"] == "ready"
    assert body["ready_at"] is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite has no row locks")
def test_a_readers_second_unlock_waits_while_their_first_is_in_progress(offline, tasks):
    reader = UserFactory()
    book("first000001"), book("second00001")
    outcome = []

    def second_unlock():
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        client = APIClient()
        client.force_authenticate(reader)
        try:
            outcome.append(client.post("/api/v1/books/second00001/summary/").status_code)
        except OperationalError:
            outcome.append("waited")
        connection.close()

    with transaction.atomic():
        summary_request(user=reader, volume_id="first000001")  # not committed yet
        thread = threading.Thread(target=second_unlock)
        thread.start()
        thread.join()

    assert outcome == ["waited"]
    assert SummaryUnlock.objects.filter(user=reader).count() == 1
