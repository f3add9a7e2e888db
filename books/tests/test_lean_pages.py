"""Lean pages answer exactly what the serializers would, without a model instance or serializer per item."""

from datetime import timedelta

import pytest
from django.utils import timezone

from account.tests.factories import UserFactory
from books.library import library_books
from books.models import Book, Bookmark
from books.serializers import LIBRARY_COLUMNS, BookSerializer, LibraryItemSerializer, library_item_as_dict
from books.tests.factories import BookFactory
from books.tests.helpers import BASE, payload
from conftest import client_for, reader_client

pytestmark = pytest.mark.django_db


def test_a_library_row_is_answered_as_the_serializer_answers_its_book():
    user = UserFactory()
    books = [
        BookFactory(average_rating=None, authors=[], categories=[], page_count=None, published_year=None),
        BookFactory(title="Ünïcödé — “quoted”", authors=["A", "B"], average_rating=4.5, ratings_count=12),
        BookFactory(description="", isbn_13="9780306406157", language="fr"),
    ]
    for n, book in enumerate(books):
        Bookmark.objects.create(user=user, book=book, created_at=timezone.now() - timedelta(minutes=n, microseconds=7))

    lean = [library_item_as_dict(row) for row in library_books(user=user).values(*LIBRARY_COLUMNS)]
    full = LibraryItemSerializer(library_books(user=user), many=True).data

    assert lean == [dict(item) | {"book": dict(item["book"])} for item in full]
    assert list(lean[0]["book"]) == list(full[0]["book"])  # the same keys in the same order


def test_the_library_page_makes_no_query_per_item(django_assert_max_num_queries):
    user = UserFactory()
    reader = client_for(user)
    for _ in range(40):
        Bookmark.objects.create(user=user, book=BookFactory())

    with django_assert_max_num_queries(2):  # the count and the page
        response = reader.get("/api/v1/library/", {"page_size": 40})

    assert len(response.json()["results"]) == 40


def test_a_cached_search_page_is_answered_as_the_serializer_answers_its_books(upstream):
    upstream.get(f"{BASE}/volumes", json=payload("search_fiction.json"))
    reader = reader_client()
    fresh = reader.get("/api/v1/books/search/", {"q": "fiction", "page_size": 40}).json()["results"]

    cached = reader.get("/api/v1/books/search/", {"q": "fiction", "page_size": 40}).json()["results"]

    by_id = Book.objects.in_bulk([book["id"] for book in cached])
    assert cached == fresh == [BookSerializer(by_id[book["id"]]).data for book in cached]
