import json

import pytest
from django.core.management import call_command

from account.categories import BY_SLUG
from books.catalogue import isbn_normalize
from books.management.commands.seed_books import SEED_FILE
from books.models import Book
from books.tests.helpers import BASE

pytestmark = pytest.mark.django_db


def test_seed_file_holds_at_least_100_valid_books():
    entries = json.loads(SEED_FILE.read_text())

    assert len(entries) >= 100
    assert len({e["isbn_13"] for e in entries}) == len(entries)
    for entry in entries:
        assert isbn_normalize(entry["isbn_13"]) == entry["isbn_13"], entry["title"]
        assert entry["title"] and entry["authors"] and entry["description"], entry
        assert set(entry["categories"]) <= BY_SLUG.keys(), entry["title"]
        assert 1000 < entry["year"] < 2100


def test_seed_command_loads_the_catalogue_once(capsys):
    call_command("seed_books")
    call_command("seed_books")

    assert Book.objects.filter(source=Book.Source.SEED).count() == len(json.loads(SEED_FILE.read_text()))
    assert "0 books added" in capsys.readouterr().out.splitlines()[-1]


def test_offline_search_finds_seed_books(auth_client, upstream):
    call_command("seed_books")
    upstream.get(f"{BASE}/volumes", status=503)
    title = json.loads(SEED_FILE.read_text())[0]["title"]

    response = auth_client.get("/api/v1/books/search/", {"q": title})

    assert response.json()["source"] == "local"
    assert title in [book["title"] for book in response.json()["results"]]


def test_seed_books_open_without_asking_google(auth_client, upstream):
    call_command("seed_books")
    isbn = json.loads(SEED_FILE.read_text())[0]["isbn_13"]

    response = auth_client.get(f"/api/v1/books/{isbn}/")

    assert response.status_code == 200
    assert len(upstream.calls) == 0
