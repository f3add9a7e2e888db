"""A failing book is no free Gemini tap: after a failed round it cools off, and after three it waits for an admin."""

from datetime import timedelta

import pytest
from django.utils import timezone

from account.tasks import resume_stale_tasks
from bookflow_api.durable import LEASE, TaskStatus
from books.models import Summary
from books.summaries import summary_retry
from books.tests.factories import seed_book
from conftest import committing, reader_client
from fakes import gemini as fake_gemini

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_gemini(gemini):
    """Gemini answering every call with a transient error: each round of a summary is 4 failed calls."""
    gemini.script.extend([(503, fake_gemini.error(503, "Overloaded"))] * 100)
    return gemini


def unlock(client, volume_id: str = "failing0001"):
    return client.post(f"/api/v1/books/{volume_id}/summary/")


def summaries_used(client) -> int:
    return client.get("/api/v1/account/subscription/").json()["quotas"]["summaries"]["used"]


def fail_a_round(client, tasks) -> dict:
    response = unlock(client)
    tasks.run_all()
    return response.json()


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


def test_a_round_whose_every_run_died_counts_as_a_failed_round(tasks, time_machine):
    summary = Summary.objects.create(
        book=seed_book("crashing001"), status=TaskStatus.RUNNING, attempts=4, claimed_at=timezone.now()
    )
    time_machine.shift(LEASE + timedelta(seconds=1))

    resume_stale_tasks()

    summary.refresh_from_db()
    assert (summary.status, summary.error_code, summary.failed_rounds) == (TaskStatus.FAILED, "abandoned", 1)


def test_the_admin_lists_the_summaries_waiting_for_an_admin(admin_client):
    stuck = Summary.objects.create(book=seed_book("waiting0001"), status=TaskStatus.FAILED, failed_rounds=3)
    cooling = Summary.objects.create(
        book=seed_book("cooling0001"), status=TaskStatus.FAILED, failed_rounds=1, finished_at=timezone.now()
    )

    waiting_list = admin_client.get("/admin/books/summary/", {"rounds": "waiting"}).content.decode()
    cooling_list = admin_client.get("/admin/books/summary/", {"rounds": "cooling"}).content.decode()

    assert f"/{stuck.pk}/change/" in waiting_list and f"/{cooling.pk}/change/" not in waiting_list
    assert "Only an admin" in waiting_list
    assert f"/{cooling.pk}/change/" in cooling_list and f"/{stuck.pk}/change/" not in cooling_list


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


def test_asking_for_failed_summaries_during_their_cool_off_is_no_failure_of_the_readers(broken_gemini, tasks):
    seed_book("failing0001")
    fail_a_round(reader_client(), tasks)
    reader = reader_client()
    for _ in range(5):
        unlock(reader, "failing0001")  # held free: no round of theirs failed
    seed_book("another0001")

    assert unlock(reader, "another0001").status_code == 202
