"""After a summary fails: it cools off (no new round of Gemini calls for an hour, and no reader pays while it
does), asking again afterwards starts afresh, and after three failed rounds only an admin's retry runs it again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from account.tasks import resume_stale_tasks
from bookflow_api.durable import LEASE, TaskStatus
from books.models import Summary
from books.summaries import generate_summary, summary_retry
from books.tests.factories import seed_book
from books.tests.helpers import HABITS, failed_summary, row, summary_quota
from conftest import CLOCK_START as START
from conftest import committing, reader_client
from fakes import gemini as fake_gemini

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_gemini(gemini):
    """Gemini answering every call with a transient error: each round of a summary is 4 failed calls."""
    gemini.script.extend([(503, fake_gemini.error(503, "Overloaded"))] * 100)
    return gemini


def unlock(client, volume_id: str = "failing0001"):
    """Ask for a book's summary (the failing book's, unless told)."""
    return client.post(f"/api/v1/books/{volume_id}/summary/")


def summaries_used(client) -> int:
    return summary_quota(client)["used"]


def fail_a_round(client, tasks) -> dict:
    response = unlock(client)
    tasks.run_all()
    return response.json()


# The cool-off.


def test_a_reader_gets_at_most_one_round_of_calls_per_failing_book_per_cool_off(broken_gemini, tasks):
    seed_book("failing0001")
    reader = reader_client()
    fail_a_round(reader, tasks)

    answers = [unlock(reader) for _ in range(10)]
    tasks.run_all()

    assert broken_gemini.calls == 4  # the first round only
    assert {answer.status_code for answer in answers} == {200}
    assert summaries_used(reader) == 0


def test_ten_readers_asking_during_the_cool_off_cost_no_call_and_no_quota(broken_gemini, tasks):
    seed_book("failing0001")
    fail_a_round(reader_client(), tasks)
    readers = [reader_client() for _ in range(10)]

    for reader in readers:
        unlock(reader)
    tasks.run_all()

    assert broken_gemini.calls == 4
    assert [summaries_used(reader) for reader in readers] == [0] * 10


def test_asking_during_the_cool_off_answers_the_failure_with_its_retry_at(broken_gemini, tasks):
    seed_book("failing0001")
    summary_id = fail_a_round(reader_client(), tasks)["id"]
    newcomer = reader_client()

    response = unlock(newcomer)

    failed_at = Summary.objects.get(pk=summary_id).finished_at
    body = response.json()
    assert response.status_code == 200 and "Location" not in response
    assert body["status"] == "failed" and body["error"]["code"] == "provider_http_503"
    assert body["retry_at"] == (failed_at + timedelta(minutes=60)).isoformat().replace("+00:00", "Z")
    assert newcomer.get(f"/api/v1/summaries/{summary_id}/").json()["retry_at"] == body["retry_at"]


def test_the_cool_off_follows_the_setting(broken_gemini, tasks, settings):
    settings.SUMMARY_RETRY_COOLDOWN_MINUTES = 5
    seed_book("failing0001")
    reader = reader_client()
    fail_a_round(reader, tasks)
    tasks.traveller.shift(timedelta(minutes=4))
    still_cooling = unlock(reader)
    tasks.traveller.shift(timedelta(minutes=1, seconds=1))

    assert still_cooling.status_code == 200
    assert unlock(reader).status_code == 202


def test_asking_for_failed_summaries_during_their_cool_off_is_no_failure_of_the_readers(broken_gemini, tasks):
    seed_book("failing0001")
    fail_a_round(reader_client(), tasks)
    reader = reader_client()
    for _ in range(5):
        unlock(reader, "failing0001")  # held free: no round of theirs failed
    seed_book("another0001")

    assert unlock(reader, "another0001").status_code == 202


def test_a_reader_whose_summaries_keep_failing_starts_no_new_one_for_an_hour(broken_gemini, tasks, settings):
    reader = reader_client("scholar")
    for n in range(settings.SUMMARY_FAILED_ROUNDS_PER_READER_HOUR):
        seed_book(f"failing000{n}")
        unlock(reader, f"failing000{n}")
        tasks.run_all()
    seed_book("another0001")

    refused = unlock(reader, "another0001")
    tasks.traveller.shift(timedelta(hours=1, seconds=1))
    later = unlock(reader, "another0001")

    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert later.status_code == 202
    assert broken_gemini.calls == 4 * settings.SUMMARY_FAILED_ROUNDS_PER_READER_HOUR


def test_a_round_whose_every_run_died_counts_as_a_failed_round(tasks, time_machine):
    summary = Summary.objects.create(
        book=seed_book("crashing001"), status=TaskStatus.RUNNING, attempts=4, claimed_at=timezone.now()
    )
    time_machine.shift(LEASE + timedelta(seconds=1))

    resume_stale_tasks()

    summary.refresh_from_db()
    assert (summary.status, summary.error_code, summary.failed_rounds) == (TaskStatus.FAILED, "abandoned", 1)


# Asking again after the cool-off.


def test_after_the_cool_off_a_reader_starts_a_new_round_and_pays_for_it(broken_gemini, tasks):
    seed_book("failing0001")
    reader = reader_client()
    fail_a_round(reader, tasks)
    tasks.traveller.shift(timedelta(minutes=60, seconds=1))

    again = unlock(reader)
    used_while_running = summaries_used(reader)
    tasks.run_all()

    assert again.status_code == 202
    assert used_while_running == 1  # refunded again when the round fails
    assert broken_gemini.calls == 8


def test_asking_again_after_a_failure_and_its_cool_off_starts_a_new_generation(
    auth_client, book, gemini, tasks, time_machine, settings
):
    settings.SUMMARY_RETRY_COOLDOWN_MINUTES = 30  # within the access token's hour
    gemini.script.append((400, fake_gemini.error(400, "Bad request")))
    unlock(auth_client, HABITS)
    tasks.run_all()
    time_machine.shift(timedelta(minutes=31))

    again = unlock(auth_client, HABITS)
    tasks.run_all()

    assert again.status_code == 202
    assert Summary.objects.get().status == TaskStatus.READY
    assert auth_client.get("/api/v1/account/subscription/").json()["quotas"]["summaries"]["used"] == 1


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


# After three failed rounds: an admin's retry.


def test_after_three_failed_rounds_only_an_admin_retry_runs_it_again(broken_gemini, tasks):
    seed_book("failing0001")
    reader = reader_client()
    for _ in range(3):
        summary_id = fail_a_round(reader, tasks)["id"]
        tasks.traveller.shift(timedelta(hours=2))

    waiting = unlock(reader)
    tasks.run_all()

    assert waiting.status_code == 200
    assert waiting.json()["retry_at"] is None
    assert "Our team" in waiting.json()["error"]["detail"]
    assert broken_gemini.calls == 12
    broken_gemini.script.clear()  # Gemini works again
    assert committing(summary_retry, summary=Summary.objects.get(pk=summary_id)) is True
    tasks.run_all()
    assert Summary.objects.get(pk=summary_id).status == TaskStatus.READY


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
