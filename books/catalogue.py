"""The catalogue: Google Books first, our local copy when Google cannot answer, every volume seen kept."""

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from rest_framework import status
from stdnum.exceptions import ValidationError as InvalidNumber
from stdnum.isbn import validate as isbn_validate

from account.categories import BY_SLUG, Category
from account.throttles import UserThrottle
from bookflow_api.errors import ApplicationError
from books.models import Book, Bookmark, Summary, SummaryUnlock
from books.providers.google_books import (
    GoogleBooksClient,
    GoogleBooksNotFound,
    GoogleBooksUnavailable,
    Volume,
    get_client,
)

logger = logging.getLogger(__name__)

GOOGLE = "google_books"
LOCAL = "local"
UPDATE_FIELDS = [f.name for f in Book._meta.concrete_fields if f.name != "volume_id"]

CATALOG_UNAVAILABLE = ApplicationError(
    "catalog_unavailable",
    "The book catalogue is unavailable right now. Try again in a minute.",
    status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
)
BOOK_NOT_FOUND = ApplicationError("book_not_found", "No such book.", status_code=status.HTTP_404_NOT_FOUND)


class CatalogueMissThrottle(UserThrottle):
    """The Google Books calls one reader's cache misses may cost an hour: a flood of random queries from one
    account cannot spend the shared daily budget; past it, that reader gets the local catalogue."""

    scope = "catalogue_miss_user"


class CatalogueMissDailyThrottle(UserThrottle):
    """The same share, a day: the hourly one alone would let one account spend more than the daily budget."""

    scope = "catalogue_miss_user_daily"


def _upstream(reader_id: int | None) -> GoogleBooksClient:
    """The client, for one call on behalf of this reader (None: not a reader's request); GoogleBooksUnavailable
    while Google is paused or past the reader's hourly share. The daily budget is the client's own check."""
    client = get_client()
    if client.paused():  # checked first, so a reader's share is not spent on calls that would not be made
        raise GoogleBooksUnavailable("Google Books is paused after a quota error or an outage.")
    if reader_id is not None and not (
        CatalogueMissThrottle.allows(reader_id) and CatalogueMissDailyThrottle.allows(reader_id)
    ):
        logger.info("Reader %s spent their share of Google Books calls; answering locally.", reader_id)
        raise GoogleBooksUnavailable("This reader's share of Google Books calls is spent.")
    return client


# What a page of books carries: the columns clients see, read with `.values()` (no model instance per book).
BOOK_COLUMNS = [
    "volume_id",
    "title",
    "subtitle",
    "authors",
    "publisher",
    "published_date",
    "published_year",
    "description",
    "page_count",
    "categories",
    "language",
    "isbn_13",
    "isbn_10",
    "thumbnail_url",
    "cover_url",
    "average_rating",
    "ratings_count",
    "preview_link",
    "info_link",
]


@dataclass(frozen=True)
class BookPage:
    source: str
    count: int
    books: list[dict]  # rows of BOOK_COLUMNS


def books_upsert(volumes: list[Volume]) -> list[Book]:
    """Insert or refresh these volumes in one query; return them as Books, in order."""
    now = timezone.now()
    books = [Book(**asdict(volume), source=Book.Source.GOOGLE_BOOKS, fetched_at=now) for volume in volumes]
    # Sorted, so two processes upserting overlapping pages lock rows in the same order (no deadlock).
    unique = sorted({book.volume_id: book for book in books}.values(), key=lambda book: book.volume_id)
    if unique:
        Book.objects.bulk_create(
            unique, update_conflicts=True, unique_fields=["volume_id"], update_fields=UPDATE_FIELDS
        )
        # Their summaries' stored answers show the book: render them again on their next read.
        Summary.objects.filter(book_id__in=[book.volume_id for book in unique]).exclude(etag="").update(
            rendered=None, etag=""
        )
    return books


SINGLE_FLIGHT_SECONDS = 15  # longer than one Google call with its retries, so a stuck flight expires
SINGLE_FLIGHT_WAIT_SECONDS = 8


def _books_in_order(volume_ids: list[str]) -> list[dict]:
    found = {row["volume_id"]: row for row in Book.objects.filter(pk__in=volume_ids).values(*BOOK_COLUMNS)}
    return [found[volume_id] for volume_id in volume_ids if volume_id in found]


def _row(book: Book) -> dict:
    return {column: getattr(book, column) for column in BOOK_COLUMNS}


def _cache_key(prefix: str, **params) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    return f"books:{prefix}:{digest}"


def _google_search(
    query: str, *, page: int, page_size: int, reader_id: int | None, lang: str = "", order_by: str = ""
) -> BookPage:
    """One page of Google results, cached by its parameters; raises GoogleBooksUnavailable."""
    key = _cache_key("search", q=query, page=page, size=page_size, lang=lang, order=order_by)
    cached = cache.get(key)
    # Single flight: of many readers missing the same page at once, one asks Google and the others wait
    # for its answer, so a page costs one upstream call however popular it is.
    leader = cached is None and cache.add(f"{key}:flight", 1, timeout=SINGLE_FLIGHT_SECONDS)
    if leader and (cached := cache.get(key)) is not None:  # the previous flight landed just before ours
        cache.delete(f"{key}:flight")
        leader = False
    if cached is None and not leader:
        cached = _wait_for(key)
    if cached is not None:
        return BookPage(source=GOOGLE, count=cached["count"], books=_books_in_order(cached["ids"]))
    try:
        result = _upstream(reader_id).search(
            query, start_index=(page - 1) * page_size, max_results=page_size, lang=lang, order_by=order_by
        )
        books = books_upsert(result.volumes)
        ids = [book.volume_id for book in books]
        cache.set(key, {"count": result.total_items, "ids": ids}, timeout=settings.BOOKS_SEARCH_CACHE_SECONDS)
    finally:
        if leader:
            cache.delete(f"{key}:flight")
    return BookPage(source=GOOGLE, count=result.total_items, books=[_row(book) for book in books])


def _wait_for(key: str) -> dict | None:
    """The cached value another request is fetching, or None if it does not come in time."""
    deadline = time.monotonic() + SINGLE_FLIGHT_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.02)
        if (value := cache.get(key)) is not None:
            return value
        if cache.get(f"{key}:flight") is None:  # the flight ended: it landed (the value) or failed (None)
            return cache.get(key)
    return None


def _local_page(queryset: QuerySet[Book], *, page: int, page_size: int) -> BookPage:
    offset = (page - 1) * page_size
    rows = queryset.values(*BOOK_COLUMNS)[offset : offset + page_size]
    return BookPage(source=LOCAL, count=queryset.count(), books=list(rows))


def local_search(query: str) -> QuerySet[Book]:
    """Full-text search on PostgreSQL; every word in title, subtitle, authors or description elsewhere."""
    if connection.vendor == "postgresql":
        vector = (
            SearchVector("title", weight="A")
            + SearchVector("subtitle", weight="B")
            + SearchVector(Cast("authors", TextField()), weight="A")
            + SearchVector("description", weight="C")
        )
        search = SearchQuery(query, search_type="websearch")
        return (
            Book.objects.annotate(document=vector, rank=SearchRank(vector, search))
            .filter(document=search)
            .order_by("-rank", "-ratings_count", "title")
        )
    books = Book.objects.annotate(authors_text=Cast("authors", TextField()))
    for word in query.split():
        books = books.filter(
            Q(title__icontains=word)
            | Q(subtitle__icontains=word)
            | Q(authors_text__icontains=word)
            | Q(description__icontains=word)
        )
    return books.order_by("-ratings_count", "title")


def book_search(
    *, query: str, page: int, page_size: int, reader_id: int | None = None, lang: str = "", order_by: str = ""
) -> BookPage:
    """Search Google Books; when it cannot answer (or this reader spent their share), our own catalogue."""
    try:
        return _google_search(query, page=page, page_size=page_size, reader_id=reader_id, lang=lang, order_by=order_by)
    except GoogleBooksUnavailable:
        books = local_search(query)
        if lang:
            books = books.filter(language=lang)
        result = _local_page(books, page=page, page_size=page_size)
    # An empty local answer during an outage would read as "no such books": say the catalogue is down instead.
    if result.count == 0:
        raise CATALOG_UNAVAILABLE
    return result


def books_in_category(*, category: Category, page: int, page_size: int, reader_id: int | None = None) -> BookPage:
    try:
        return _google_search(f'subject:"{category.subject}"', page=page, page_size=page_size, reader_id=reader_id)
    except GoogleBooksUnavailable:
        books = Book.objects.annotate(categories_text=Cast("categories", TextField())).filter(
            categories_text__icontains=category.subject
        )
        result = _local_page(books.order_by("-ratings_count", "title"), page=page, page_size=page_size)
    if result.count == 0:
        raise CATALOG_UNAVAILABLE
    return result


def book_detail(*, volume_id: str, reader_id: int | None = None) -> Book:
    """Our copy when fresh (or a seed book); otherwise Google's, stored; our stale copy if Google is down."""
    local = Book.objects.filter(pk=volume_id).first()
    fresh_after = timezone.now() - timedelta(seconds=settings.BOOKS_FRESH_SECONDS)
    if local and (local.source == Book.Source.SEED or local.fetched_at >= fresh_after):
        return local
    try:
        volume = _upstream(reader_id).volume(volume_id)
    except GoogleBooksNotFound:
        if local:
            return local
        raise BOOK_NOT_FOUND from None
    except GoogleBooksUnavailable:
        if local:
            return local
        raise CATALOG_UNAVAILABLE from None
    return books_upsert([volume])[0]


INVALID_ISBN = ApplicationError("invalid_isbn", "That is not a valid ISBN-10 or ISBN-13 (check the digits).")


def isbn_normalize(raw: str) -> str:
    """The ISBN-13 for a valid ISBN-10 or ISBN-13 (hyphens and spaces allowed); raise `invalid_isbn`."""
    try:
        return isbn_validate(raw, convert=True)
    except InvalidNumber:
        raise INVALID_ISBN from None


def book_by_isbn(*, isbn: str, reader_id: int | None = None) -> Book:
    isbn_13 = isbn_normalize(isbn)
    local = Book.objects.filter(isbn_13=isbn_13).order_by("-ratings_count").first()
    if local:
        return local
    try:
        result = _upstream(reader_id).search(f"isbn:{isbn_13}", max_results=1)
    except GoogleBooksUnavailable:
        raise CATALOG_UNAVAILABLE from None
    if not result.volumes:
        raise BOOK_NOT_FOUND
    return books_upsert(result.volumes[:1])[0]


def _recent_count(queryset: QuerySet, book_field: str) -> Coalesce:
    """Per book: how many rows of `queryset` point at it (a correlated subquery, no join fan-out)."""
    counts = queryset.filter(**{book_field: OuterRef("pk")}).values(book_field).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counts), 0)


def books_popular(*, page: int, page_size: int) -> BookPage:
    """Most unlocked and bookmarked books of the last BOOKS_POPULAR_DAYS days, from our own data."""
    since = timezone.now() - timedelta(days=settings.BOOKS_POPULAR_DAYS)
    bookmarks = Bookmark.objects.filter(created_at__gte=since)
    unlocks = SummaryUnlock.objects.filter(unlocked_at__gte=since)
    books = (
        Book.objects.filter(Q(pk__in=bookmarks.values("book_id")) | Q(pk__in=unlocks.values("summary__book_id")))
        .annotate(score=_recent_count(bookmarks, "book") + _recent_count(unlocks, "summary__book"))
        .order_by("-score", "title")
    )
    return _local_page(books, page=page, page_size=page_size)


def books_recommended(*, interests: list[str], page: int, page_size: int, reader_id: int | None = None) -> BookPage:
    """Books from the reader's interest categories, interleaved; popular books when there are none."""
    categories = [BY_SLUG[slug] for slug in sorted(set(interests)) if slug in BY_SLUG][:5]
    if not categories:
        return books_popular(page=page, page_size=page_size)
    key = _cache_key("recommended", slugs=[c.slug for c in categories])
    ids = cache.get(key)
    source = GOOGLE
    if ids is None:
        per_category = 40 // len(categories)
        lists = []
        for category in categories:
            try:
                lists.append(books_in_category(category=category, page=1, page_size=per_category, reader_id=reader_id))
            except ApplicationError:
                lists.append(BookPage(source=LOCAL, count=0, books=[]))
        source = GOOGLE if all(result.source == GOOGLE for result in lists) else LOCAL
        ids = list(dict.fromkeys(book["volume_id"] for book in _interleave([result.books for result in lists])))
        if source == GOOGLE:
            cache.set(key, ids, timeout=settings.BOOKS_RECOMMENDED_CACHE_SECONDS)
    offset = (page - 1) * page_size
    return BookPage(source=source, count=len(ids), books=_books_in_order(ids[offset : offset + page_size]))


def _interleave(lists: list[list[dict]]) -> list[dict]:
    """[a1, a2], [b1] -> [a1, b1, a2]: every interest gets a turn near the top."""
    longest = max((len(items) for items in lists), default=0)
    return [items[i] for i in range(longest) for items in lists if i < len(items)]
