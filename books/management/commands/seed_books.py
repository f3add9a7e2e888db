"""Load the offline seed catalogue (books/data/seed_books.json), so a fresh machine can search with no network."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from account.categories import BY_SLUG
from books.models import Book

SEED_FILE = Path(__file__).resolve().parents[2] / "data" / "seed_books.json"


def seed_books_from(path: Path) -> list[Book]:
    entries = json.loads(path.read_text(encoding="utf-8"))
    return [
        Book(
            volume_id=entry["isbn_13"],  # never clashes with Google's 12-character volume ids
            isbn_13=entry["isbn_13"],
            title=entry["title"],
            subtitle=entry.get("subtitle", ""),
            authors=entry["authors"],
            publisher=entry.get("publisher", ""),
            published_date=str(entry["year"]),
            published_year=entry["year"],
            description=entry["description"],
            page_count=entry.get("page_count"),
            categories=[BY_SLUG[slug].subject for slug in entry["categories"]],
            language=entry.get("language", "en"),
            source=Book.Source.SEED,
        )
        for entry in entries
    ]


class Command(BaseCommand):
    help = "Add the seed catalogue's books; books already present are left as they are."

    def handle(self, *args, **options) -> None:
        books = seed_books_from(SEED_FILE)
        before = Book.objects.filter(source=Book.Source.SEED).count()
        Book.objects.bulk_create(books, ignore_conflicts=True)
        added = Book.objects.filter(source=Book.Source.SEED).count() - before
        self.stdout.write(f"Seed catalogue: {added} books added, {len(books) - added} already present.")
