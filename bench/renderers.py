"""The JSON renderer alone: DRF's ASCII JSONRenderer (before) against bookflow_api.renderers.FastJSONRenderer.

`python bench/renderers.py [--renders 10000]`. Renders, in process and without a database, a ready summary's body
(fakes/gemini.py's VALID_CONTENT inside a summary-shaped dict, its book serialised by BookSerializer) and a page of
40 books (BookSerializer(many=True) inside the paginator's envelope), each `--renders` times with each renderer,
and prints min and median µs per render and the speedup as a Markdown table. Not a test.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(
    DJANGO_SETTINGS_MODULE="bookflow_api.settings",
    DEBUG="0",
    DATABASE_URL="sqlite:///:memory:",
    APP_SECRET_KEY="bench-secret-key-0123456789-0123456789-0123456789",
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    BOOKFLOW_BACKGROUND_SCHEDULER="off",
)


def bodies() -> dict:
    import django

    django.setup()
    from books.models import Book
    from books.serializers import BookSerializer
    from fakes.gemini import VALID_CONTENT

    def book(n: int) -> Book:
        return Book(
            volume_id=f"bench{n:05d}",
            title=f"Book {n}: Les Misérables",
            subtitle="A subtitle",
            authors=["Victor Hugo", "Someone Else"],
            publisher="Publisher",
            published_date="1862-04-03",
            published_year=1862,
            description="A description of the book, long enough to be realistic. " * 12,
            page_count=1463,
            categories=["Fiction", "Classics"],
            language="fr",
            isbn_13="9780140444308",
            isbn_10="014044430X",
            thumbnail_url=f"https://books.google.com/books/content?id=bench{n:05d}&zoom=1",
            cover_url=f"https://books.google.com/books/content?id=bench{n:05d}&zoom=3",
            average_rating=4.5,
            ratings_count=1234,
            preview_link=f"https://books.google.com/books?id=bench{n:05d}",
            info_link=f"https://books.google.com/books?id=bench{n:05d}&source=info",
        )

    summary = {
        "id": 12345,
        "book": BookSerializer(book(0)).data,
        "status": "ready",
        "content": VALID_CONTENT,
        "provider": "gemini",
        "error": None,
        "retry_at": None,
        "next_attempt_at": None,
        "created_at": "2026-03-04T05:06:07.890123Z",
        "ready_at": "2026-03-04T05:07:08.123456Z",
    }
    page = {
        "count": 412,
        "page": 1,
        "page_size": 40,
        "next": "https://api.example.com/api/v1/library/?page=2&page_size=40",
        "previous": None,
        "results": BookSerializer([book(n) for n in range(40)], many=True).data,
    }
    return {"ready summary": summary, "40-book page": page}


def timings(render, data, renders: int) -> list[float]:
    for _ in range(200):
        render(data, "application/json", {})
    out = []
    clock = time.perf_counter_ns
    for _ in range(renders):
        started = clock()
        render(data, "application/json", {})
        out.append((clock() - started) / 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=10_000)
    args = parser.parse_args()
    data = bodies()
    from bookflow_api.renderers import AsciiJSONRenderer, FastJSONRenderer

    old, new = AsciiJSONRenderer(), FastJSONRenderer()
    print(f"# JSON renderer: {args.renders} renders each, µs per render\n")
    print("| body | bytes before → after | DRF JSONRenderer (ASCII) min / median | orjson min / median | speedup |")
    print("|---|---|---|---|---|")
    for label, body in data.items():
        assert json.loads(old.render(body)) == json.loads(new.render(body))
        before, after = timings(old.render, body, args.renders), timings(new.render, body, args.renders)
        b_med, a_med = statistics.median(before), statistics.median(after)
        print(
            f"| {label} | {len(old.render(body))} → {len(new.render(body))} | {min(before):.1f} / {b_med:.1f} "
            f"| {min(after):.1f} / {a_med:.1f} | {b_med / a_med:.1f}× |"
        )


if __name__ == "__main__":
    main()
