"""Asking for a summary: one per book, language and prompt version, written once in the background for every
reader who asks, polled by its id, and shown only to the readers who unlocked it."""

import pytest

from account.tests.factories import UserFactory
from bookflow_api.durable import TaskStatus
from books.models import Summary, SummaryUnlock
from books.tests.factories import seed_book
from books.tests.helpers import unlock
from conftest import client_for, reader_client
from fakes import gemini as fake_gemini

pytestmark = pytest.mark.django_db


def test_summary_is_written_in_the_background_and_polled(auth_client, book, gemini, tasks):
    accepted = unlock(auth_client)
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


def test_a_second_reader_gets_the_same_summary_without_a_second_call(auth_client, book, gemini, tasks):
    unlock(auth_client)
    tasks.run_all()
    other = client_for(UserFactory())

    response = unlock(other)

    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert gemini.calls == 1
    assert Summary.objects.count() == 1


def test_a_ready_summary_says_when_it_became_ready(offline, tasks):
    reader = reader_client()
    seed_book("habits00001")
    summary_id = unlock(reader, "habits00001").json()["id"]
    tasks.run_all()

    body = reader.get(f"/api/v1/summaries/{summary_id}/").json()

    assert body["status"] == "ready"
    assert body["ready_at"] is not None


def test_summary_of_an_unknown_book_is_404(auth_client, upstream):
    upstream.get("https://books.test/books/v1/volumes/nosuchbook1", status=404, json={"error": {"code": 404}})

    response = unlock(auth_client, "nosuchbook1")

    assert response.json()["code"] == "book_not_found"


def test_an_english_reader_is_never_given_the_summary_in_another_language(offline, tasks):
    seed_book("habits00001")
    german = Summary.objects.create(book_id="habits00001", language="de", status=TaskStatus.READY, content={})

    response = unlock(reader_client(), "habits00001")

    assert response.status_code == 202
    assert response.json()["id"] != german.pk
    assert Summary.objects.get(pk=response.json()["id"]).language == "en"


def test_a_new_prompt_version_writes_a_new_summary_instead_of_serving_the_old_one(offline, tasks, settings):
    seed_book("habits00001")
    old = Summary.objects.create(book_id="habits00001", prompt_version=1, status=TaskStatus.READY, content={})
    settings.SUMMARY_PROMPT_VERSION = 2

    response = unlock(reader_client(), "habits00001")

    assert response.status_code == 202
    assert response.json()["id"] != old.pk
    assert Summary.objects.get(pk=response.json()["id"]).prompt_version == 2


# Who is shown which summary.


def test_each_summary_is_read_by_its_own_id_and_only_by_readers_who_unlocked_it():
    reader, other = reader_client(plan="basic"), reader_client()
    seed_book("first000001"), seed_book("second00001"), seed_book("others00001")
    first, second = (unlock(reader, volume_id).json()["id"] for volume_id in ("first000001", "second00001"))
    others = unlock(other, "others00001").json()["id"]

    read = [reader.get(f"/api/v1/summaries/{summary_id}/") for summary_id in (first, second, others)]

    assert [response.status_code for response in read] == [200, 200, 404]
    assert [read[0].json()["book"]["id"], read[1].json()["book"]["id"]] == ["first000001", "second00001"]
    assert (read[0].json()["id"], read[1].json()["id"]) == (first, second)


def test_summaries_of_others_are_404(auth_client, book, gemini, tasks):
    summary_id = unlock(client_for(UserFactory())).json()["id"]

    response = auth_client.get(f"/api/v1/summaries/{summary_id}/")

    assert (response.status_code, response.json()["code"]) == (404, "summary_not_found")


def test_book_detail_and_library_show_the_readers_summary(auth_client, book, gemini, tasks):
    summary_id = unlock(auth_client).json()["id"]

    detail = auth_client.get("/api/v1/books/habits00001/").json()
    library = auth_client.get("/api/v1/library/").json()

    assert detail["summary"] == {"id": summary_id, "status": "pending"}
    assert library["results"][0]["summary_id"] == summary_id
    assert library["results"][0]["unlocked_at"]


def test_a_book_page_shows_the_readers_summary_of_that_book_only(offline, tasks):
    reader = reader_client()
    seed_book("unlocked001"), seed_book("another0001")
    unlock(reader, "unlocked001")

    page = reader.get("/api/v1/books/another0001/").json()

    assert page["summary"] is None


def test_a_book_page_shows_no_summary_held_only_in_another_language(offline, user, auth_client):
    german = Summary.objects.create(book=seed_book("habits00001"), language="de", status=TaskStatus.READY, content={})
    SummaryUnlock.objects.create(user=user, summary=german)

    page = auth_client.get("/api/v1/books/habits00001/").json()

    assert page["summary"] is None
