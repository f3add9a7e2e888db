"""The real client, over real sockets, against a local server replaying recorded Google Books payloads."""

import pytest

from books.models import Book
from fakes import google_books as fake_google_books

pytestmark = pytest.mark.django_db


@pytest.fixture
def google_books_server(settings):
    server = fake_google_books.start()
    settings.GOOGLE_BOOKS_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}/books/v1"
    yield server
    server.shutdown()
    server.server_close()


def test_search_category_isbn_and_detail_fill_the_catalogue(auth_client, google_books_server):
    search = auth_client.get("/api/v1/books/search/", {"q": "java"})
    category = auth_client.get("/api/v1/books/categories/fiction/")
    by_isbn = auth_client.get("/api/v1/books/isbn/0521339057/")
    unknown_isbn = auth_client.get("/api/v1/books/isbn/9780306406157/")
    detail = auth_client.get("/api/v1/books/G7utDwAAQBAJ/")

    assert [r.status_code for r in (search, category, by_isbn, detail)] == [200, 200, 200, 200]
    assert search.json()["source"] == "google_books"
    assert by_isbn.json()["isbn_13"] == "9780521339056"
    assert unknown_isbn.status_code == 404
    assert search.json()["count"] == 1995
    assert Book.objects.filter(pk=detail.json()["id"]).exists()
    assert Book.objects.count() >= 10


def test_with_the_server_down_search_answers_from_the_local_catalogue(auth_client, google_books_server):
    auth_client.get("/api/v1/books/search/", {"q": "java"})
    google_books_server.shutdown()
    google_books_server.server_close()

    response = auth_client.get("/api/v1/books/search/", {"q": "java programming"})

    assert response.status_code == 200
    assert response.json()["source"] == "local"
    assert response.json()["count"] > 0
