"""Where a hot read's time goes: each endpoint through Django's whole request path, in process, under cProfile.

`python bench/hot_reads.py [--requests 2000] [--top 12] [--redis]` (`make profile`). Production settings (DEBUG
off) on PostgreSQL (database `bookflow_profile`, created and dropped), a local-memory cache (Redis database 15 with
`--redis`: the lean authenticated path on), the bench URLs (a bare DRF view as the floor). Prints, per endpoint,
the CPU per request, its own time by area and the functions with the most of it, as Markdown tables. Not a test
and not a benchmark of throughput: a map for optimising.
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATABASE = "bookflow_profile"
os.environ.update(
    DJANGO_SETTINGS_MODULE="bench.settings",
    DEBUG="0",
    DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
    APP_SECRET_KEY="profile-secret-key-0123456789-0123456789-0123456789",
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    BOOKFLOW_BACKGROUND_SCHEDULER="off",
    SUMMARY_PROVIDER="offline",
    ALLOWED_HOSTS="testserver",
)
os.environ.pop("REDIS_URL", None)
if "--redis" in sys.argv:  # the shared cache production has: the lean authenticated path is on
    os.environ.update(REDIS_URL="redis://127.0.0.1:6379/15", CACHE_KEY_PREFIX="profile")

from fakes.processes import drop_database, fresh_database  # noqa: E402


def prepare() -> dict[str, str]:
    """A reader with a book, a ready summary, 40 library items and a cached search; the URLs to profile."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken

    from account.models import User
    from books.models import Book, Bookmark, Summary, SummaryUnlock
    from books.providers.offline import OfflineProvider

    call_command("migrate", "--no-input", verbosity=0)
    reader = User.objects.create_user("profile@example.com", "a-long-password-123", is_verified=True, plan="scholar")
    books = [
        Book.objects.create(
            volume_id=f"profile{n:05d}",
            title=f"Book {n}",
            authors=["Someone"],
            description="A description. " * 20,
            source=Book.Source.SEED,
        )
        for n in range(40)
    ]
    content = OfflineProvider().generate(books[0]).content
    summary = Summary.objects.create(book=books[0], status="ready", content=content, ready_at=timezone.now())
    SummaryUnlock.objects.create(user=reader, summary=summary)
    for book in books:
        Bookmark.objects.create(user=reader, book=book)
    from django.core.cache import cache

    from books.catalogue import _cache_key

    key = _cache_key("search", q="profile", page=1, size=20, lang="", order="relevance")
    cache.set(key, {"count": 20, "ids": [book.volume_id for book in books[:20]]}, timeout=None)
    token = str(RefreshToken.for_user(reader).access_token)
    from django.test import Client

    signed_in = Client(headers={"Authorization": f"Bearer {token}"})
    summary_etag = signed_in.get(f"/api/v1/summaries/{summary.pk}/", secure=True)["ETag"]
    book_etag = signed_in.get(f"/api/v1/books/{books[0].volume_id}/", secure=True)["ETag"]
    return {
        "token": token,
        "bare view": "/bench/bare/",
        "GET /api/health/": "/api/health/",
        "GET books/{id}/ (local)": f"/api/v1/books/{books[0].volume_id}/",
        "GET books/{id}/ (304)": f"/api/v1/books/{books[0].volume_id}/ If-None-Match {book_etag}",
        "GET summaries/{id}/ (ready)": f"/api/v1/summaries/{summary.pk}/",
        "GET summaries/{id}/ (304)": f"/api/v1/summaries/{summary.pk}/ If-None-Match {summary_etag}",
        "GET books/search/ (cached)": "/api/v1/books/search/?q=profile&order_by=relevance",
        "GET library/ (40 items)": "/api/v1/library/?page_size=40",
    }


AREAS = [  # the first match names where a function's own time goes
    ("test client", ("django/test/",)),
    ("authentication (JWT)", ("rest_framework_simplejwt/", "/jwt/", "hashlib", "hmac")),
    ("queries (ORM + driver)", ("django/db/", "psycopg2")),
    (
        "middleware",
        (
            "django/middleware/",
            "whitenoise/",
            "corsheaders/",
            "django/contrib/sessions/",
            "django/contrib/messages/",
            "django/contrib/auth/middleware",
            "axes/",
            "bookflow_api/middleware",
        ),
    ),
    (
        "serializers",
        (
            "rest_framework/serializers.py",
            "rest_framework/fields.py",
            "rest_framework/relations.py",
            "rest_framework/utils/serializer_helpers.py",
        ),
    ),
    (
        "renderer (JSON)",
        (
            "rest_framework/renderers.py",
            "json/",
            "rest_framework/utils/encoders.py",
            "drf_orjson_renderer/",
            "bookflow_api/renderers",
        ),
    ),
    ("DRF request/view", ("rest_framework/",)),
    ("our code", ("bookflow_api/", "account/", "books/")),
    ("Django core and the rest", ("",)),
]


def area_of(filename: str) -> str:
    return next(name for name, needles in AREAS if any(needle in filename for needle in needles))


def profile(client, url: str, requests: int, top: int) -> tuple[float, dict[str, float], list]:
    url, _, if_none_match = url.partition(" If-None-Match ")
    headers = {"If-None-Match": if_none_match} if if_none_match else {}
    for _ in range(50):  # warm: connections, caches, imports
        response = client.get(url, secure=True, headers=headers)
        assert response.status_code in (200, 304), (url, response.status_code, response.content[:200])
    profiler = cProfile.Profile()
    started = time.process_time()
    profiler.enable()
    for _ in range(requests):
        client.get(url, secure=True, headers=headers)
    profiler.disable()
    cpu_ms = (time.process_time() - started) * 1000 / requests
    areas: dict[str, float] = {}
    rows = []
    for (filename, line, name), (_, ncalls, own, _, _) in pstats.Stats(profiler).stats.items():
        area = area_of(filename)
        areas[area] = areas.get(area, 0) + own * 1000 / requests
        where = filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
        rows.append((f"{where}:{line} {name}", own * 1000 / requests, ncalls / requests, area))
    rows.sort(key=lambda row: -row[1])
    return cpu_ms, areas, rows[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--redis", action="store_true", help="with Redis (database 15) as the shared cache")
    args = parser.parse_args()
    fresh_database(os.environ["DATABASE_URL"])
    try:
        urls = prepare()
        from django.test import Client

        client = Client(headers={"Authorization": f"Bearer {urls.pop('token')}"})
        print(f"# Profile: {args.requests} requests per endpoint, in process (Django's test client, whole stack)\n")
        summary = []
        for label, url in urls.items():
            cpu_ms, areas, rows = profile(client, url, args.requests, args.top)
            summary.append((label, cpu_ms, areas))
            print(f"## {label}: {cpu_ms:.2f} ms CPU per request (profiled)\n")
            print("| function (own time) | ms per request | calls per request | area |\n|---|---|---|---|")
            for name, ms, calls, area in rows:
                print(f"| `{name}` | {ms:.3f} | {calls:g} | {area} |")
            print()
        names = [name for name, _ in AREAS if name != "test client"]
        print("## Where the time goes (ms per request of own time, profiled; the test client left out)\n")
        print("| read | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
        for label, _, areas in summary:
            print(f"| {label} | " + " | ".join(f"{areas.get(name, 0):.2f}" for name in names) + " |")
        bare = summary[0][1]
        print("\n## CPU per request (profiled, so slower than unprofiled)\n\n| read | ms | × bare |\n|---|---|---|")
        for label, cpu_ms, _ in summary:
            print(f"| {label} | {cpu_ms:.2f} | {cpu_ms / bare:.1f} |")
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(os.environ["DATABASE_URL"])


if __name__ == "__main__":
    main()
