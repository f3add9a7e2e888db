"""The Google Books client: parsing real payloads, the requests it sends, and how it fails and backs off."""

import json

import pytest
import requests
import responses
from responses import matchers

from books.models import Book
from books.providers.google_books import (
    GoogleBooksClient,
    GoogleBooksNotFound,
    GoogleBooksUnavailable,
    parse_published,
    parse_volume,
)
from books.tests.helpers import BASE, DATA, payload
from fakes import google_books as fake_google_books

SEARCH_FILES = sorted(p.name for p in DATA.glob("search_*.json"))
VOLUME_FILES = sorted(p.name for p in DATA.glob("volume_*.json"))

# The client counts each call against the daily budget, in the database.
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", SEARCH_FILES)
def test_every_item_of_every_real_search_payload_parses(name):
    page = payload(name)
    items = page.get("items", [])
    assert items or page["totalItems"] == 0  # only an empty result comes without items

    volumes = [parse_volume(item) for item in items]

    assert all(volume is not None for volume in volumes)
    assert [v.volume_id for v in volumes] == [item["id"] for item in items]
    for volume in volumes:
        assert volume.title
        assert not volume.thumbnail_url or volume.thumbnail_url.startswith("https://")
        assert volume.published_year is None or 1000 < volume.published_year < 2100


@pytest.mark.parametrize("name", VOLUME_FILES)
def test_real_volume_payloads_parse(name):
    volume = parse_volume(payload(name))

    assert volume.volume_id == payload(name)["id"]
    assert "<" not in volume.description


def test_full_volume_fields():
    volume = parse_volume(payload("volume_kPbzR4LDkAkC.json"))

    assert volume.isbn_13 and len(volume.isbn_13) == 13
    assert volume.isbn_10 and len(volume.isbn_10) == 10
    assert volume.cover_url.startswith("https://") and volume.cover_url != ""
    assert volume.page_count and volume.page_count > 0
    assert volume.published_date == "2008-03-28"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2004", ("2004", 2004)),
        ("2004-05", ("2004-05", 2004)),
        ("2004-05-03", ("2004-05-03", 2004)),
        ("2019-10-03T00:00:00+02:00", ("2019-10-03", 2019)),
        ("2004-02-31", ("2004-02", 2004)),
        ("199?", ("", None)),
        (None, ("", None)),
        ("", ("", None)),
    ],
)
def test_published_dates_in_every_shape(raw, expected):
    assert parse_published(raw) == expected


def test_missing_fields_become_empty_values():
    item = next(i for i in payload("search_isbn_0521339057_no_imagelinks.json")["items"])

    volume = parse_volume(item)

    assert volume.thumbnail_url == volume.cover_url == ""
    assert volume.description == ""
    assert volume.publisher == ""
    assert volume.published_year == 1986


def test_items_without_identifiers_parse():
    item = next(i for i in payload("search_atomic_habits_james_clear.json")["items"] if i["id"] == "yzFYEAAAQBAJ")

    volume = parse_volume(item)

    assert (volume.isbn_13, volume.isbn_10, volume.published_year) == ("", "", None)


def test_http_cover_links_are_served_over_https_without_the_page_curl():
    item = payload("search_something.json")["items"][0]

    volume = parse_volume(item)

    assert item["volumeInfo"]["imageLinks"]["thumbnail"].startswith("http://")
    assert volume.thumbnail_url.startswith("https://books.google.com/")
    assert "edge=curl" not in volume.thumbnail_url


@pytest.mark.parametrize(
    "item",
    [
        {},
        {"id": "x"},
        {"id": "x", "volumeInfo": {}},
        {"volumeInfo": {"title": "T"}},
        {"id": "x", "volumeInfo": {"title": 5}},
        {"id": "x", "volumeInfo": []},
    ],
)
def test_unusable_items_are_skipped(item):
    assert parse_volume(item) is None


def test_odd_types_inside_an_item_do_not_break_parsing():
    item = {
        "id": "x",
        "volumeInfo": {
            "title": "T",
            "authors": "Not a list",
            "pageCount": "12",
            "averageRating": True,
            "industryIdentifiers": ["junk"],
            "imageLinks": {},
        },
    }

    volume = parse_volume(item)

    assert (volume.authors, volume.page_count, volume.average_rating) == ([], None, None)


@responses.activate
def test_search_sends_the_query_and_pagination():
    responses.get(
        f"{BASE}/volumes",
        json=payload("search_golang.json"),
        match=[
            matchers.query_param_matcher(
                {"q": "golang", "startIndex": "20", "maxResults": "10", "printType": "books", "langRestrict": "en"}
            )
        ],
    )

    page = GoogleBooksClient().search("golang", start_index=20, max_results=10, lang="en")

    assert page.total_items == 505
    assert len(page.volumes) == 10


@responses.activate
def test_the_api_key_is_sent_when_configured():
    responses.get(
        f"{BASE}/volumes",
        json=payload("search_empty.json"),
        match=[matchers.query_param_matcher({"key": "secret-key"}, strict_match=False)],
    )

    page = GoogleBooksClient(api_key="secret-key").search("nothing")

    assert (page.total_items, page.volumes) == (0, [])


@responses.activate
def test_server_errors_are_retried_then_succeed():
    responses.get(f"{BASE}/volumes", status=503)
    responses.get(f"{BASE}/volumes", json=payload("search_java.json"))

    page = GoogleBooksClient().search("java")

    assert len(page.volumes) == 10
    assert len(responses.calls) == 2


@responses.activate
def test_persistent_server_errors_end_in_unavailable():
    responses.get(f"{BASE}/volumes", status=500, json={"error": {"code": 500}})

    with pytest.raises(GoogleBooksUnavailable):
        GoogleBooksClient().search("java")

    assert len(responses.calls) == 3


@responses.activate
def test_timeout_is_unavailable_not_an_exception_from_requests():
    responses.get(f"{BASE}/volumes", body=requests.exceptions.ReadTimeout("slow"))

    with pytest.raises(GoogleBooksUnavailable):
        GoogleBooksClient().search("java")


@responses.activate
def test_malformed_json_is_unavailable():
    responses.get(f"{BASE}/volumes", body="<html>oops</html>", content_type="text/html")

    with pytest.raises(GoogleBooksUnavailable):
        GoogleBooksClient().search("java")


@responses.activate
def test_rate_limit_pauses_every_call_until_retry_after():
    responses.get(
        f"{BASE}/volumes", status=429, json=payload("error_429_rate_limit.json"), headers={"Retry-After": "120"}
    )
    client = GoogleBooksClient()

    with pytest.raises(GoogleBooksUnavailable):
        client.search("java")
    with pytest.raises(GoogleBooksUnavailable):
        GoogleBooksClient().search("other")

    assert len(responses.calls) == 1


@responses.activate
def test_403_quota_errors_pause_calls_too():
    responses.get(f"{BASE}/volumes", status=403, json=payload("error_403_user_rate_limit_unreg.json"))

    with pytest.raises(GoogleBooksUnavailable):
        GoogleBooksClient().search("java")
    with pytest.raises(GoogleBooksUnavailable):
        GoogleBooksClient().search("java")

    assert len(responses.calls) == 1


@responses.activate
def test_other_403s_are_unavailable_without_a_pause():
    responses.get(f"{BASE}/volumes", status=403, json=payload("error_403_unknown_location.json"))

    for _ in range(2):
        with pytest.raises(GoogleBooksUnavailable):
            GoogleBooksClient().search("java")

    assert len(responses.calls) == 2


@responses.activate
def test_unknown_volume_is_not_found():
    responses.get(f"{BASE}/volumes/nope", status=404, json={"error": {"code": 404, "message": "not found"}})

    with pytest.raises(GoogleBooksNotFound):
        GoogleBooksClient().volume("nope")


@responses.activate
def test_volume_lookup_returns_the_volume():
    responses.get(f"{BASE}/volumes/49T5twEACAAJ", body=json.dumps(payload("volume_49T5twEACAAJ.json")))

    volume = GoogleBooksClient().volume("49T5twEACAAJ")

    assert volume.title == payload("volume_49T5twEACAAJ.json")["volumeInfo"]["title"]


@responses.activate
def test_an_unreachable_server_pauses_calls_briefly():
    responses.get(f"{BASE}/volumes", body=requests.exceptions.ConnectionError("refused"))

    for _ in range(3):
        with pytest.raises(GoogleBooksUnavailable):
            GoogleBooksClient().search("java")

    assert len(responses.calls) == 1


# The real client over real sockets, against a local server replaying the recorded payloads.


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
