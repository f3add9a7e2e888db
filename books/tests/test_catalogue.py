import threading
from datetime import timedelta

import pytest
import requests
import time_machine
from django.core.cache import cache
from django.utils import timezone

from account.tests.factories import UserFactory
from books.budgets import budget_day
from books.catalogue import isbn_normalize
from books.models import Book, UpstreamUsage
from books.tests.factories import BookFactory, BookmarkFactory
from books.tests.helpers import BASE, payload

SEARCH = "/api/v1/books/search/"

pytestmark = pytest.mark.django_db


def test_search_answers_google_results_and_fills_the_catalogue(auth_client, upstream):
    upstream.get(f"{BASE}/volumes", json=payload("search_something.json"))

    response = auth_client.get(SEARCH, {"q": "something"})

    body = response.json()
    assert response.status_code == 200
    assert (body["source"], body["count"], body["page"], body["page_size"]) == ("google_books", 402, 1, 20)
    assert len(body["results"]) == 10
    assert body["results"][0]["id"] == "v2CrBj-MSg4C"
    assert body["previous"] is None
    assert Book.objects.count() == 10


def test_search_pagination_maps_onto_start_index(auth_client, upstream):
    call = upstream.get(f"{BASE}/volumes", json=payload("search_golang.json"))

    response = auth_client.get(SEARCH, {"q": "golang", "page": 3, "page_size": 10})

    assert call.calls[0].request.params["startIndex"] == "20"
    assert call.calls[0].request.params["maxResults"] == "10"
    assert "page=4" in response.json()["next"]
    assert "page=2" in response.json()["previous"]


def test_search_upserts_in_a_constant_number_of_queries(auth_client, upstream, django_assert_max_num_queries):
    upstream.get(f"{BASE}/volumes", json=payload("search_fiction.json"))
    UpstreamUsage.objects.create(upstream="google_books", day=budget_day())  # the day's first call makes the row

    with django_assert_max_num_queries(7):  # 6, and the call counted against the daily budget
        response = auth_client.get(SEARCH, {"q": "Fiction", "page_size": 40})

    assert len(response.json()["results"]) == 39


def test_a_google_page_shorter_than_asked_for_is_the_last_whatever_its_count(auth_client, upstream):
    upstream.get(f"{BASE}/volumes", json=payload("search_something.json"))  # 10 volumes, "totalItems": 402

    body = auth_client.get(SEARCH, {"q": "something", "page_size": 20}).json()

    assert (body["count"], len(body["results"]), body["next"]) == (402, 10, None)


def test_seeing_a_book_again_refreshes_our_copy(auth_client, upstream):
    BookFactory(volume_id="v2CrBj-MSg4C", title="Old title")
    upstream.get(f"{BASE}/volumes", json=payload("search_something.json"))

    auth_client.get(SEARCH, {"q": "something"})

    assert Book.objects.get(pk="v2CrBj-MSg4C").title == "Something Borrowed"


def test_the_same_search_within_the_ttl_costs_one_upstream_call(auth_client, upstream):
    call = upstream.get(f"{BASE}/volumes", json=payload("search_java.json"))

    first = auth_client.get(SEARCH, {"q": "java"})
    second = auth_client.get(SEARCH, {"q": "java"})

    assert call.call_count == 1
    assert first.json() == second.json()


def test_a_reader_missing_a_page_another_is_fetching_waits_for_it_instead_of_calling_google(
    auth_client, upstream, monkeypatch
):
    call = upstream.get(f"{BASE}/volumes", json=payload("search_java.json"))
    book, real_add = BookFactory(), cache.add

    def another_request_is_asking_google(key, *args, **kwargs):
        if key.endswith(":flight"):  # it holds the flight, and caches its answer a moment later
            page = {"count": 1, "ids": [book.volume_id]}
            threading.Timer(0.2, cache.set, args=(key.removesuffix(":flight"), page)).start()
            real_add(key, *args, **kwargs)
            return False
        return real_add(key, *args, **kwargs)

    monkeypatch.setattr(cache, "add", another_request_is_asking_google)
    response = auth_client.get(SEARCH, {"q": "java"})

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [book.volume_id]
    assert call.call_count == 0


def test_search_cache_expires(auth_client, upstream, settings):
    settings.BOOKS_SEARCH_CACHE_SECONDS = 60
    call = upstream.get(f"{BASE}/volumes", json=payload("search_java.json"))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        auth_client.get(SEARCH, {"q": "java"})
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        auth_client.get(SEARCH, {"q": "java"})
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        auth_client.get(SEARCH, {"q": "java"})

    assert call.call_count == 2


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},
        {"status": 429, "json": payload("error_429_rate_limit.json")},
        {"status": 403, "json": payload("error_403_user_rate_limit_unreg.json")},
        {"body": requests.exceptions.ConnectTimeout("down")},
        {"body": "not json", "status": 200},
    ],
)
def test_search_falls_back_to_the_local_catalogue(auth_client, upstream, fault):
    BookFactory(title="Thinking, Fast and Slow", authors=["Daniel Kahneman"])
    BookFactory(title="Unrelated")
    upstream.get(f"{BASE}/volumes", **fault)

    response = auth_client.get(SEARCH, {"q": "kahneman thinking"})

    assert response.status_code == 200
    assert response.json()["source"] == "local"
    assert [b["title"] for b in response.json()["results"]] == ["Thinking, Fast and Slow"]


def test_search_with_google_down_and_no_local_match_is_503(auth_client, upstream):
    upstream.get(f"{BASE}/volumes", status=503)

    response = auth_client.get(SEARCH, {"q": "nothing like this"})

    assert response.status_code == 503
    assert response.json()["code"] == "catalog_unavailable"


def test_empty_google_result_is_an_empty_page(auth_client, upstream):
    upstream.get(f"{BASE}/volumes", json=payload("search_empty.json"))

    response = auth_client.get(SEARCH, {"q": "zzzz"})

    assert response.status_code == 200
    assert (response.json()["count"], response.json()["results"], response.json()["next"]) == (0, [], None)


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "java", "page": 0}, "page"),
        ({"q": "java", "page": "abc"}, "page"),
        ({"q": "java", "page_size": 41}, "page_size"),
        ({"q": "java", "lang": "english"}, "lang"),
        ({"q": "java", "order_by": "price"}, "order_by"),
    ],
)
def test_bad_search_parameters_are_400(auth_client, params, field):
    response = auth_client.get(SEARCH, params)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_search_needs_a_reader(api_client):
    assert api_client.get(SEARCH, {"q": "java"}).status_code == 401


def test_categories_are_listed(auth_client):
    response = auth_client.get("/api/v1/books/categories/")

    assert response.status_code == 200
    assert {"slug": "business", "name": "Business"} in response.json()


def test_category_books_come_from_a_subject_search(auth_client, upstream):
    call = upstream.get(f"{BASE}/volumes", json=payload("search_fiction.json"))

    response = auth_client.get("/api/v1/books/categories/fiction/")

    assert response.status_code == 200
    assert call.calls[0].request.params["q"] == 'subject:"Fiction"'
    assert response.json()["source"] == "google_books"


def test_category_books_fall_back_to_local_books_of_that_category(auth_client, upstream):
    upstream.get(f"{BASE}/volumes", status=500)
    BookFactory(title="In category", categories=["Business & Economics / Leadership"])
    BookFactory(title="Elsewhere", categories=["Fiction"])

    response = auth_client.get("/api/v1/books/categories/business/")

    assert [b["title"] for b in response.json()["results"]] == ["In category"]


def test_unknown_category_is_404(auth_client):
    response = auth_client.get("/api/v1/books/categories/astrology/")

    assert response.status_code == 404
    assert response.json()["code"] == "category_not_found"


@pytest.mark.parametrize(
    "isbn",
    [
        "9780000000000",  # a wrong check digit
        "978000000000",
        "0-306-40615-3",
        "abc",
        "97800000000001",
        "9771234567003",  # a valid EAN-13, but not a book's (an ISSN)
        "\u00b2306406152",  # a superscript two: a digit to str.isdigit(), not to int()
        "\u0660\u0663\u0660\u0666\u0664\u0660\u0666\u0661\u0665\u0662",  # Arabic-Indic digits
    ],
)
def test_invalid_isbn_is_400(auth_client, isbn):
    response = auth_client.get(f"/api/v1/books/isbn/{isbn}/")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_isbn",
        "detail": "That is not a valid ISBN-10 or ISBN-13 (check the digits).",
    }


@pytest.mark.parametrize(
    "spelling, isbn_13",
    [
        ("9780306406157", "9780306406157"),
        ("0306406152", "9780306406157"),
        ("0-306-40615-2", "9780306406157"),
        ("\uff10\uff13\uff10\uff16\uff14\uff10\uff16\uff11\uff15\uff12", "9780306406157"),  # full-width digits
        ("080442957x", "9780804429573"),  # check digit X, in either case
        ("979-10-90636-07-1", "9791090636071"),  # 979 ISBNs have no ISBN-10
    ],
)
def test_an_isbn_is_looked_up_as_its_isbn_13(spelling, isbn_13):
    assert isbn_normalize(spelling) == isbn_13


def test_isbn_lookup_asks_google_and_keeps_the_book(auth_client, upstream):
    call = upstream.get(f"{BASE}/volumes", json=payload("search_isbn_0521339057_no_imagelinks.json"))

    response = auth_client.get("/api/v1/books/isbn/0-521-33905-7/")

    assert response.status_code == 200
    assert call.calls[0].request.params["q"] == "isbn:9780521339056"
    assert Book.objects.filter(pk=response.json()["id"]).exists()


def test_isbn_lookup_prefers_our_copy(auth_client, upstream):
    BookFactory(isbn_13="9780521339056", title="Local")

    response = auth_client.get("/api/v1/books/isbn/9780521339056/")

    assert response.json()["title"] == "Local"
    assert len(upstream.calls) == 0


def test_unknown_isbn_is_404(auth_client, upstream):
    upstream.get(f"{BASE}/volumes", json=payload("search_empty.json"))

    response = auth_client.get("/api/v1/books/isbn/9780306406157/")

    assert response.status_code == 404
    assert response.json()["code"] == "book_not_found"


def test_detail_serves_a_fresh_local_copy_without_asking_google(auth_client, upstream):
    BookFactory(volume_id="kPbzR4LDkAkC", title="Local copy")

    response = auth_client.get("/api/v1/books/kPbzR4LDkAkC/")

    assert response.json()["title"] == "Local copy"
    assert response.json()["bookmarked"] is False
    assert len(upstream.calls) == 0


def test_detail_refreshes_a_stale_copy_from_google(auth_client, upstream):
    BookFactory(volume_id="kPbzR4LDkAkC", title="Old", fetched_at=timezone.now() - timedelta(days=8))
    upstream.get(f"{BASE}/volumes/kPbzR4LDkAkC", json=payload("volume_kPbzR4LDkAkC.json"))

    response = auth_client.get("/api/v1/books/kPbzR4LDkAkC/")

    assert response.json()["title"] == payload("volume_kPbzR4LDkAkC.json")["volumeInfo"]["title"]


def test_detail_serves_the_stale_copy_when_google_is_down(auth_client, upstream):
    BookFactory(volume_id="kPbzR4LDkAkC", title="Old", fetched_at=timezone.now() - timedelta(days=8))
    upstream.get(f"{BASE}/volumes/kPbzR4LDkAkC", status=500)

    response = auth_client.get("/api/v1/books/kPbzR4LDkAkC/")

    assert (response.status_code, response.json()["title"]) == (200, "Old")


def test_detail_of_an_unknown_book_is_404(auth_client, upstream):
    upstream.get(f"{BASE}/volumes/missing0001", status=404, json={"error": {"code": 404}})

    response = auth_client.get("/api/v1/books/missing0001/")

    assert (response.status_code, response.json()["code"]) == (404, "book_not_found")


def test_detail_with_google_down_and_no_copy_is_503(auth_client, upstream):
    upstream.get(f"{BASE}/volumes/missing0001", body=requests.exceptions.ConnectionError("down"))

    response = auth_client.get("/api/v1/books/missing0001/")

    assert (response.status_code, response.json()["code"]) == (503, "catalog_unavailable")


def test_detail_tells_whether_this_reader_bookmarked_it(auth_client, user):
    BookmarkFactory(user=user, book=BookFactory(volume_id="marked00001"))

    assert auth_client.get("/api/v1/books/marked00001/").json()["bookmarked"] is True


def test_popular_ranks_books_by_recent_bookmarks(auth_client):
    hit, miss, old = BookFactory(title="Hit"), BookFactory(title="Miss"), BookFactory(title="Old")
    BookmarkFactory.create_batch(3, book=hit)
    BookmarkFactory(book=miss)
    BookmarkFactory.create_batch(5, book=old, created_at=timezone.now() - timedelta(days=31))

    response = auth_client.get("/api/v1/books/popular/")

    assert [b["title"] for b in response.json()["results"]] == ["Hit", "Miss"]
    assert response.json()["source"] == "local"


def test_recommended_interleaves_the_readers_interests_and_is_cached(auth_client, user, upstream):
    user.interests = ["fiction", "computers"]
    user.save()
    calls = upstream.get(f"{BASE}/volumes", json=payload("search_golang.json"))
    upstream.get(f"{BASE}/volumes", json=payload("search_fiction.json"))

    first = auth_client.get("/api/v1/books/recommended/")
    second = auth_client.get("/api/v1/books/recommended/")

    assert first.status_code == 200
    assert len(first.json()["results"]) == 20
    assert first.json() == second.json()
    assert len(upstream.calls) == 2
    assert calls.call_count == 1


def test_recommended_without_interests_shows_popular_books(auth_client):
    BookmarkFactory(book=BookFactory(title="Liked"))

    response = auth_client.get("/api/v1/books/recommended/")

    assert [b["title"] for b in response.json()["results"]] == ["Liked"]


def test_popular_counts_unlocks_too(auth_client):
    from books.models import Summary, SummaryUnlock

    unlocked, bookmarked = BookFactory(title="Unlocked"), BookFactory(title="Bookmarked")
    summary = Summary.objects.create(book=unlocked)
    for reader in UserFactory.create_batch(2):
        SummaryUnlock.objects.create(user=reader, summary=summary)
    BookmarkFactory(book=bookmarked)

    response = auth_client.get("/api/v1/books/popular/")

    assert [b["title"] for b in response.json()["results"]] == ["Unlocked", "Bookmarked"]
