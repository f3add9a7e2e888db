"""Fault injection and security properties that cut across the apps.

Elsewhere: Gemini 429/500/timeout/bad JSON (books/tests/test_summaries_api.py), Google Books down, slow
or out of quota (books/tests/test_google_books_client.py, test_catalogue_api.py), SMTP failures
(account/tests/test_email_tasks.py), a web process killed after a 202 (account/tests/test_worker.py),
code brute force and inbox flooding (account/tests/test_register_and_verify.py, test_resend_and_throttles.py,
test_security_review.py).
"""

import logging
from pathlib import Path

import pytest

from account.tests.factories import UserFactory
from books.models import Summary, SummaryUnlock
from books.tests.factories import BookFactory, BookmarkFactory, NoteFactory
from conftest import CommittingAPIClient
from fakes import gemini as fake_gemini

ROOT = Path(__file__).resolve().parents[2]


def client_for(user) -> CommittingAPIClient:
    client = CommittingAPIClient()
    client.force_authenticate(user)
    return client


# --- Faults -------------------------------------------------------------------------------------------


# --- Reader isolation -----------------------------------------------------------------------------------


@pytest.fixture
def owner_and_stranger(db):
    owner, stranger = UserFactory(), UserFactory()
    note = NoteFactory(user=owner)
    BookmarkFactory(user=owner, book=note.book)
    summary = Summary.objects.create(book=BookFactory(), status="ready", content=fake_gemini.VALID_CONTENT)
    SummaryUnlock.objects.create(user=owner, summary=summary)
    return owner, stranger, note, summary


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/library/notes/{note}/"),
        ("patch", "/api/v1/library/notes/{note}/"),
        ("delete", "/api/v1/library/notes/{note}/"),
        ("get", "/api/v1/summaries/{summary}/"),
    ],
)
def test_another_readers_resources_are_404_never_403(owner_and_stranger, method, path):
    owner, stranger, note, summary = owner_and_stranger

    response = getattr(client_for(stranger), method)(
        path.format(note=note.pk, summary=summary.pk), {"body": "mine now"}, format="json"
    )

    assert response.status_code == 404
    assert note.__class__.objects.get(pk=note.pk).body == note.body


def test_another_readers_library_and_notes_never_show_up_in_mine(owner_and_stranger):
    _, stranger, note, _ = owner_and_stranger
    client = client_for(stranger)

    assert client.get("/api/v1/library/").json()["count"] == 0
    assert client.get("/api/v1/library/notes/").json()["count"] == 0
    assert client.get(f"/api/v1/library/notes/?book={note.book_id}").json()["count"] == 0


def test_deleting_my_bookmark_of_a_book_leaves_another_readers_bookmark(owner_and_stranger):
    owner, stranger, note, _ = owner_and_stranger

    client_for(stranger).delete(f"/api/v1/library/bookmarks/{note.book_id}/")

    assert client_for(owner).get("/api/v1/library/").json()["count"] == 2  # the bookmark and the unlock


# --- Throttles across processes -----------------------------------------------------------------------


def redis_is_up() -> bool:
    try:
        import redis

        return redis.Redis.from_url("redis://127.0.0.1:6379/14", socket_connect_timeout=0.5).ping()
    except Exception:  # noqa: BLE001
        return False


# --- Secrets ------------------------------------------------------------------------------------------


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
