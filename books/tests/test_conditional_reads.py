"""Conditional reads: a ready summary's answer is rendered once and sent as stored bytes with its ETag; a client
that has it gets 304; book details carry an ETag too. Access checks stay exact."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from bookflow_api.durable import TaskStatus
from books import views
from books.catalogue import books_upsert
from books.models import Summary
from books.providers.google_books import Volume
from books.summaries import summary_retry
from books.tests.factories import seed_book
from conftest import committing, reader_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(settings, tasks):
    """A reader with a ready summary (offline provider) of book `ready000001`; returns (client, summary id)."""
    settings.SUMMARY_PROVIDER = "offline"
    seed_book("ready000001")
    reader = reader_client()
    summary_id = reader.post("/api/v1/books/ready000001/summary/").json()["id"]
    tasks.run_all()
    return reader, summary_id


class SerializerMustNotRun:
    def __init__(self, *args, **kwargs):
        raise AssertionError("the summary was serialized")


def test_a_ready_summary_is_rendered_once_then_sent_as_stored(ready, monkeypatch):
    reader, summary_id = ready
    first = reader.get(f"/api/v1/summaries/{summary_id}/")
    monkeypatch.setattr(views, "SummarySerializer", SerializerMustNotRun)

    again = reader.get(f"/api/v1/summaries/{summary_id}/")

    assert first.status_code == again.status_code == 200
    assert again.content == first.content and json.loads(again.content)["status"] == "ready"
    assert again["ETag"] == first["ETag"] and again["ETag"].startswith('"')
    assert again["Content-Type"] == "application/json"


def test_a_client_with_the_current_etag_gets_304_without_the_content(ready, monkeypatch, django_assert_num_queries):
    reader, summary_id = ready
    etag = reader.get(f"/api/v1/summaries/{summary_id}/")["ETag"]
    monkeypatch.setattr(views, "SummarySerializer", SerializerMustNotRun)

    with django_assert_num_queries(1):  # the access check and the ETag together; no content loaded
        response = reader.get(f"/api/v1/summaries/{summary_id}/", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304 and response.content == b""
    assert response["ETag"] == etag


def test_a_reader_who_did_not_unlock_it_gets_404_even_with_the_etag(ready):
    reader, summary_id = ready
    etag = reader.get(f"/api/v1/summaries/{summary_id}/")["ETag"]

    response = reader_client().get(f"/api/v1/summaries/{summary_id}/", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 404 and response.json()["code"] == "summary_not_found"


def test_the_stored_answer_is_what_the_serializer_would_say(ready):
    reader, summary_id = ready
    reader.get(f"/api/v1/summaries/{summary_id}/")  # renders and stores

    stored = reader.get(f"/api/v1/summaries/{summary_id}/").json()
    Summary.objects.filter(pk=summary_id).update(rendered=None, etag="")
    fresh = reader.get(f"/api/v1/summaries/{summary_id}/").json()

    assert stored == fresh


def test_a_refreshed_book_changes_the_summarys_answer_and_etag(ready):
    reader, summary_id = ready
    before = reader.get(f"/api/v1/summaries/{summary_id}/")

    books_upsert([Volume(volume_id="ready000001", title="A new title")])
    after = reader.get(f"/api/v1/summaries/{summary_id}/", HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200 and after.json()["book"]["title"] == "A new title"
    assert after["ETag"] != before["ETag"]


def test_a_regenerated_summary_has_a_new_answer(ready, tasks):
    reader, summary_id = ready
    before = reader.get(f"/api/v1/summaries/{summary_id}/")
    Summary.objects.filter(pk=summary_id).update(status=TaskStatus.FAILED, finished_at=timezone.now())
    tasks.traveller.shift(timedelta(seconds=1))

    committing(summary_retry, summary=Summary.objects.get(pk=summary_id))
    tasks.run_all()
    after = reader.get(f"/api/v1/summaries/{summary_id}/", HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert after.json()["ready_at"] != before.json()["ready_at"]


def test_a_pending_summary_carries_no_etag(settings):
    settings.SUMMARY_PROVIDER = "offline"
    seed_book("pending0001")
    reader = reader_client()
    summary_id = reader.post("/api/v1/books/pending0001/summary/").json()["id"]

    response = reader.get(f"/api/v1/summaries/{summary_id}/", HTTP_IF_NONE_MATCH="*")

    assert response.status_code == 200 and response.json()["status"] == "pending"
    assert "ETag" not in response


def test_a_book_answers_304_until_this_readers_view_of_it_changes(monkeypatch):
    book = seed_book("etagbook001")
    reader = reader_client()
    first = reader.get(f"/api/v1/books/{book.volume_id}/")

    unchanged = reader.get(f"/api/v1/books/{book.volume_id}/", HTTP_IF_NONE_MATCH=first["ETag"])
    reader.put(f"/api/v1/library/bookmarks/{book.volume_id}/")
    bookmarked = reader.get(f"/api/v1/books/{book.volume_id}/", HTTP_IF_NONE_MATCH=first["ETag"])
    other_reader = reader_client().get(f"/api/v1/books/{book.volume_id}/", HTTP_IF_NONE_MATCH=bookmarked["ETag"])

    assert unchanged.status_code == 304 and unchanged.content == b""
    assert bookmarked.status_code == 200 and bookmarked.json()["bookmarked"] is True
    assert other_reader.status_code == 200  # not bookmarked by them: another answer, another ETag


def test_etags_are_private_to_the_reader(ready):
    reader, summary_id = ready

    response = reader.get(f"/api/v1/summaries/{summary_id}/")

    assert response["Cache-Control"] == "private, no-cache"
