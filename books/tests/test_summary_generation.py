"""Writing a summary in the background: the provider asked and how, keys kept secret, transient failures
retried, permanent ones final, unexpected errors recorded, and timers that fire twice, early, late or never."""

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from account.tasks import resume_stale_tasks
from bookflow_api.durable import LEASE, TaskStatus
from books.models import Summary
from books.providers.offline import OfflineProvider
from books.summaries import generate_summary
from books.tests.factories import BookFactory, seed_book
from books.tests.helpers import row, summary_quota, unlock
from conftest import CLOCK_START as START
from conftest import reader_client
from fakes import gemini as fake_gemini

pytestmark = pytest.mark.django_db


# The provider.


def test_gemini_is_asked_for_structured_json(auth_client, book, gemini, tasks):
    unlock(auth_client)
    tasks.run_all()

    config = gemini.requests[0]["body"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "key_insights" in str(config)
    assert "additional_properties" not in str(config)  # an unknown key's fate is ours to decide, not the API's


def test_a_key_gemini_adds_to_the_schema_is_dropped_not_a_reason_to_call_again(auth_client, book, gemini, tasks):
    gemini.script.append((200, fake_gemini.answer(json.dumps({**fake_gemini.VALID_CONTENT, "mood": "upbeat"}))))

    summary_id = unlock(auth_client).json()["id"]
    tasks.run_all()

    assert Summary.objects.get(pk=summary_id).content == fake_gemini.VALID_CONTENT
    assert gemini.calls == 1


def test_without_keys_the_offline_provider_writes_the_summary(auth_client, book, tasks, settings):
    settings.GOOGLE_API_KEY = ""
    settings.SUMMARY_PROVIDER = "auto"

    summary_id = unlock(auth_client).json()["id"]
    tasks.run_all()
    body = auth_client.get(f"/api/v1/summaries/{summary_id}/").json()

    assert body["status"] == "ready"
    assert body["provider"] == "offline"
    assert 5 <= len(body["content"]["key_insights"]) <= 10


def test_no_secret_ever_reaches_a_response_or_a_log_line(auth_client, settings, caplog, tasks):
    caplog.set_level(logging.DEBUG)
    gemini = fake_gemini.start()
    settings.GOOGLE_API_KEY = "gemini-key-that-must-stay-secret"
    settings.GOOGLE_BOOKS_API_KEY = "books-key-that-must-stay-secret"
    settings.SUMMARY_PROVIDER = "gemini"
    settings.GEMINI_BASE_URL = f"http://127.0.0.1:{gemini.server_address[1]}"
    book = BookFactory()

    accepted = auth_client.post(f"/api/v1/books/{book.volume_id}/summary/")
    tasks.run_all()
    texts = [
        accepted.content.decode(),
        auth_client.get(accepted["Location"]).content.decode(),
        auth_client.get("/api/v1/account/me/").content.decode(),
        auth_client.get("/api/health/").content.decode(),
        caplog.text,
    ]
    gemini.shutdown()

    assert gemini.requests[0]["key"] == "gemini-key-that-must-stay-secret"  # it was used...
    for text in texts:  # ...and never shown
        for secret in (settings.GOOGLE_API_KEY, settings.GOOGLE_BOOKS_API_KEY, settings.SECRET_KEY):
            assert secret not in text


# Failures.


@pytest.mark.parametrize(
    "first",
    [
        (429, fake_gemini.error(429, "Resource has been exhausted")),
        (500, fake_gemini.error(500, "Internal error")),
        (503, fake_gemini.error(503, "Overloaded")),
        (200, fake_gemini.answer("{not json")),
        (200, fake_gemini.answer('{"main_argument": {}}')),
        (0, "1.5"),
    ],
    ids=["429", "500", "503", "malformed-json", "schema-violation", "timeout"],
)
def test_transient_failures_are_retried_until_ready(auth_client, book, gemini, tasks, first):
    gemini.script.append(first)

    summary_id = unlock(auth_client).json()["id"]
    tasks.run_all()

    summary = Summary.objects.get(pk=summary_id)
    assert summary.status == TaskStatus.READY
    assert summary.attempts == 2
    assert summary.error_code == ""


def test_a_permanent_error_fails_at_once(auth_client, book, gemini, tasks):
    gemini.script.append((400, fake_gemini.error(400, "Bad request")))

    summary_id = unlock(auth_client).json()["id"]
    tasks.run_all()

    assert Summary.objects.get(pk=summary_id).status == TaskStatus.FAILED
    assert gemini.calls == 1


def test_after_the_last_attempt_the_summary_fails_and_the_unit_is_refunded(auth_client, book, gemini, tasks):
    gemini.script.extend([(500, fake_gemini.error(500, "Internal error"))] * 4)

    summary_id = unlock(auth_client).json()["id"]
    tasks.run_all()
    body = auth_client.get(f"/api/v1/summaries/{summary_id}/").json()
    quota = auth_client.get("/api/v1/account/subscription/").json()["quotas"]["summaries"]

    assert body["status"] == "failed"
    assert body["error"]["code"] == "provider_http_500"
    assert gemini.calls == 4
    assert (quota["used"], quota["remaining"]) == (0, 1)


def test_an_unexpected_error_in_generation_is_retried_as_an_internal_error(failures, tasks):
    reader = reader_client()
    seed_book("crashes0001")
    failures["crashes0001"] = RuntimeError("provider bug")

    unlock(reader, "crashes0001")
    tasks.run_all(limit=1)

    summary = Summary.objects.get()
    assert (summary.status, summary.attempts, summary.error_code) == (TaskStatus.PENDING, 1, "internal_error")
    assert len(tasks.pending) == 1


def test_an_unexpected_error_is_recorded_with_what_was_raised(offline, tasks, monkeypatch):
    seed_book("crashes0001")
    monkeypatch.setattr(OfflineProvider, "generate", lambda self, book: 1 / 0)

    summary_id = unlock(reader_client(), "crashes0001").json()["id"]
    tasks.run_all(limit=1)

    assert row(summary_id)[3] == "internal_error"
    assert "ZeroDivisionError" in row(summary_id)[4]


def test_an_unexpected_error_on_every_attempt_fails_the_summary_and_refunds_the_reader(failures, tasks):
    reader = reader_client()
    seed_book("crashes0001")
    failures["crashes0001"] = RuntimeError("provider bug")

    summary_id = unlock(reader, "crashes0001").json()["id"]
    tasks.run_all()
    body = reader.get(f"/api/v1/summaries/{summary_id}/").json()

    assert (body["status"], body["error"]["code"]) == ("failed", "internal_error")
    assert Summary.objects.get().attempts == 4
    assert summary_quota(reader)["used"] == 0


# Timers that fire early, twice, late or never.


def test_a_new_summary_is_not_generated_before_its_delay_even_if_a_timer_fires_early(offline, clock, settings):
    settings.SUMMARY_TASK_DELAY_SECONDS = 60
    seed_book("delayed0001")
    summary_id = unlock(reader_client(), "delayed0001").json()["id"]

    generate_summary(summary_id)  # a timer firing at once

    assert row(summary_id)[:3] == (TaskStatus.PENDING, 0, START + timedelta(seconds=60))


def test_a_task_is_run_once_even_if_its_timer_fires_twice(auth_client, book, gemini, tasks):
    unlock(auth_client)
    tasks.pending.append(tasks.pending[0])

    tasks.run_all()

    assert gemini.calls == 1


def test_a_lost_timer_is_recovered_by_resume_stale_tasks(auth_client, book, gemini, tasks, time_machine):
    unlock(auth_client)
    tasks.pending.clear()  # the web process restarted: its timers are gone
    time_machine.move_to(timezone.now() + timedelta(seconds=45))

    assert resume_stale_tasks() == 1
    assert Summary.objects.get().status == TaskStatus.READY


def test_a_run_that_died_mid_way_is_finished_after_its_lease(auth_client, book, gemini, tasks, time_machine):
    summary_id = unlock(auth_client).json()["id"]
    tasks.pending.clear()
    Summary.objects.filter(pk=summary_id).update(status=TaskStatus.RUNNING, claimed_at=timezone.now(), attempts=1)

    assert resume_stale_tasks() == 0  # still inside its lease: someone may be working on it
    time_machine.move_to(timezone.now() + LEASE + timedelta(seconds=1))
    assert resume_stale_tasks() == 1
    assert Summary.objects.get().status == TaskStatus.READY
    assert Summary.objects.get().attempts == 2


def test_a_timer_does_not_take_over_a_run_that_died_only_the_worker_resumes_it(offline, clock):
    summary = Summary.objects.create(
        book=seed_book("died0000001"), status=TaskStatus.RUNNING, attempts=1, claimed_at=START
    )
    clock.move_to(START + LEASE + timedelta(seconds=1))

    generate_summary(summary.pk)  # a timer firing late, e.g. a duplicate
    after_timer = row(summary.pk)[:2]
    resume_stale_tasks()

    assert after_timer == (TaskStatus.RUNNING, 1)
    assert row(summary.pk)[:2] == (TaskStatus.READY, 2)
