import json
from datetime import timedelta

import pytest
from django.utils import timezone

from account.tasks import resume_stale_tasks
from account.tests.factories import UserFactory
from bookflow_api.durable import LEASE, TaskStatus
from books.models import Summary, SummaryUnlock
from books.tests.factories import BookFactory
from conftest import CommittingAPIClient, reader_client
from fakes import gemini as fake_gemini

pytestmark = pytest.mark.django_db


@pytest.fixture
def book():
    return BookFactory(volume_id="habits00001", title="Atomic Habits", description="A book. " * 3)


def request_summary(client, volume_id="habits00001"):
    return client.post(f"/api/v1/books/{volume_id}/summary/")


def client_for(user) -> CommittingAPIClient:
    client = CommittingAPIClient()
    client.force_authenticate(user)
    return client


def test_summary_is_written_in_the_background_and_polled(auth_client, book, gemini, tasks):
    accepted = request_summary(auth_client)
    location = accepted["Location"]
    pending = auth_client.get(location)
    tasks.run_all()
    ready = auth_client.get(location)

    assert accepted.status_code == 202
    assert location == f"/api/v1/summaries/{accepted.json()['id']}/"
    assert pending.json()["status"] == "pending"
    assert ready.json()["status"] == "ready"
    assert ready.json()["content"] == fake_gemini.VALID_CONTENT
    assert ready.json()["provider"] == "gemini"
    assert gemini.calls == 1
    assert gemini.requests[0]["key"] == "test-gemini-key"
    assert "Atomic Habits" in str(gemini.requests[0]["body"])


def test_gemini_is_asked_for_structured_json(auth_client, book, gemini, tasks):
    request_summary(auth_client)
    tasks.run_all()

    config = gemini.requests[0]["body"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "key_insights" in str(config)
    assert "additional_properties" not in str(config)  # an unknown key's fate is ours to decide, not the API's


def test_a_key_gemini_adds_to_the_schema_is_dropped_not_a_reason_to_call_again(auth_client, book, gemini, tasks):
    gemini.script.append((200, fake_gemini.answer(json.dumps({**fake_gemini.VALID_CONTENT, "mood": "upbeat"}))))

    summary_id = request_summary(auth_client).json()["id"]
    tasks.run_all()

    assert Summary.objects.get(pk=summary_id).content == fake_gemini.VALID_CONTENT
    assert gemini.calls == 1


def test_a_second_reader_gets_the_same_summary_without_a_second_call(auth_client, book, gemini, tasks):
    request_summary(auth_client)
    tasks.run_all()
    other = client_for(UserFactory())

    response = request_summary(other)

    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert gemini.calls == 1
    assert Summary.objects.count() == 1


def test_without_keys_the_offline_provider_writes_the_summary(auth_client, book, tasks, settings):
    settings.GOOGLE_API_KEY = ""
    settings.SUMMARY_PROVIDER = "auto"

    summary_id = request_summary(auth_client).json()["id"]
    tasks.run_all()
    body = auth_client.get(f"/api/v1/summaries/{summary_id}/").json()

    assert body["status"] == "ready"
    assert body["provider"] == "offline"
    assert 5 <= len(body["content"]["key_insights"]) <= 10


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

    summary_id = request_summary(auth_client).json()["id"]
    tasks.run_all()

    summary = Summary.objects.get(pk=summary_id)
    assert summary.status == TaskStatus.READY
    assert summary.attempts == 2
    assert summary.error_code == ""


def test_after_the_last_attempt_the_summary_fails_and_the_unit_is_refunded(auth_client, book, gemini, tasks):
    gemini.script.extend([(500, fake_gemini.error(500, "Internal error"))] * 4)

    summary_id = request_summary(auth_client).json()["id"]
    tasks.run_all()
    body = auth_client.get(f"/api/v1/summaries/{summary_id}/").json()
    quota = auth_client.get("/api/v1/account/subscription/").json()["quotas"]["summaries"]

    assert body["status"] == "failed"
    assert body["error"]["code"] == "provider_http_500"
    assert gemini.calls == 4
    assert (quota["used"], quota["remaining"]) == (0, 1)


def test_a_permanent_error_fails_at_once(auth_client, book, gemini, tasks):
    gemini.script.append((400, fake_gemini.error(400, "Bad request")))

    summary_id = request_summary(auth_client).json()["id"]
    tasks.run_all()

    assert Summary.objects.get(pk=summary_id).status == TaskStatus.FAILED
    assert gemini.calls == 1


def test_asking_again_after_a_failure_and_its_cool_off_starts_a_new_generation(
    auth_client, book, gemini, tasks, time_machine, settings
):
    settings.SUMMARY_RETRY_COOLDOWN_MINUTES = 30  # within the access token's hour
    gemini.script.append((400, fake_gemini.error(400, "Bad request")))
    request_summary(auth_client)
    tasks.run_all()
    time_machine.shift(timedelta(minutes=31))

    again = request_summary(auth_client)
    tasks.run_all()

    assert again.status_code == 202
    assert Summary.objects.get().status == TaskStatus.READY
    assert auth_client.get("/api/v1/account/subscription/").json()["quotas"]["summaries"]["used"] == 1


def test_quota_is_enforced_per_plan(auth_client, gemini, tasks):
    BookFactory(volume_id="first000001")
    BookFactory(volume_id="second00001")

    first = request_summary(auth_client, "first000001")
    second = request_summary(auth_client, "second00001")

    assert first.status_code == 202
    assert second.status_code == 403
    assert second.json()["code"] == "quota_exceeded"
    assert not Summary.objects.filter(book_id="second00001", unlocks__isnull=False).exists()


def test_rereading_an_unlocked_summary_is_free(auth_client, book, gemini, tasks):
    request_summary(auth_client)
    tasks.run_all()

    again = request_summary(auth_client)

    assert again.status_code == 200
    assert SummaryUnlock.objects.count() == 1


def test_a_paid_plan_has_a_larger_quota(gemini, tasks, clock):
    reader = reader_client("basic")
    for n in range(3):
        BookFactory(volume_id=f"book{n:07d}")

    statuses = [request_summary(reader, f"book{n:07d}").status_code for n in range(3)]
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


def test_summaries_of_others_are_404(auth_client, book, gemini, tasks):
    summary_id = request_summary(client_for(UserFactory())).json()["id"]

    response = auth_client.get(f"/api/v1/summaries/{summary_id}/")

    assert (response.status_code, response.json()["code"]) == (404, "summary_not_found")


def test_summary_of_an_unknown_book_is_404(auth_client, upstream):
    upstream.get("https://books.test/books/v1/volumes/nosuchbook1", status=404, json={"error": {"code": 404}})

    response = request_summary(auth_client, "nosuchbook1")

    assert response.json()["code"] == "book_not_found"


def test_book_detail_and_library_show_the_readers_summary(auth_client, book, gemini, tasks):
    summary_id = request_summary(auth_client).json()["id"]

    detail = auth_client.get("/api/v1/books/habits00001/").json()
    library = auth_client.get("/api/v1/library/").json()

    assert detail["summary"] == {"id": summary_id, "status": "pending"}
    assert library["results"][0]["summary_id"] == summary_id
    assert library["results"][0]["unlocked_at"]


def test_a_task_is_run_once_even_if_its_timer_fires_twice(auth_client, book, gemini, tasks):
    request_summary(auth_client)
    tasks.pending.append(tasks.pending[0])

    tasks.run_all()

    assert gemini.calls == 1


def test_a_lost_timer_is_recovered_by_resume_stale_tasks(auth_client, book, gemini, tasks, time_machine):
    request_summary(auth_client)
    tasks.pending.clear()  # the web process restarted: its timers are gone
    time_machine.move_to(timezone.now() + timedelta(seconds=45))

    assert resume_stale_tasks() == 1
    assert Summary.objects.get().status == TaskStatus.READY


def test_a_run_that_died_mid_way_is_finished_after_its_lease(auth_client, book, gemini, tasks, time_machine):
    summary_id = request_summary(auth_client).json()["id"]
    tasks.pending.clear()
    Summary.objects.filter(pk=summary_id).update(status=TaskStatus.RUNNING, claimed_at=timezone.now(), attempts=1)

    assert resume_stale_tasks() == 0  # still inside its lease: someone may be working on it
    time_machine.move_to(timezone.now() + LEASE + timedelta(seconds=1))
    assert resume_stale_tasks() == 1
    assert Summary.objects.get().status == TaskStatus.READY
    assert Summary.objects.get().attempts == 2
