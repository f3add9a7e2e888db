from datetime import datetime

from django.core.cache import cache
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bookflow_api.durable import TaskStatus
from bookflow_api.errors import CACHE_ERRORS
from books.budgets import budgets_today
from books.catalogue import BOOK_COLUMNS
from books.models import Book, Bookmark, Note, Summary
from books.summaries import summary_retry_at

VOLUME_ID_PATTERN = r"[A-Za-z0-9_-]{1,40}"


class BookSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="volume_id")

    class Meta:
        model = Book
        fields = ["id", *BOOK_COLUMNS[1:]]  # the columns lean pages read, volume_id shown as `id`
        read_only_fields = fields


class SummaryStateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Summary
        fields = ["id", "status"]
        read_only_fields = fields


class BookDetailSerializer(BookSerializer):
    bookmarked = serializers.BooleanField(help_text="Whether this reader bookmarked the book.")
    summary = SummaryStateSerializer(allow_null=True, help_text="This reader's summary of the book, if unlocked.")

    class Meta(BookSerializer.Meta):
        fields = [*BookSerializer.Meta.fields, "bookmarked", "summary"]
        read_only_fields = fields


class SummaryErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Why the last try failed, e.g. `invalid_output`, `provider_rate_limited`.")
    detail = serializers.CharField()


class SummarySerializer(serializers.ModelSerializer):
    book = BookSerializer()
    content = serializers.JSONField(allow_null=True, help_text="Summary content, schema version 1, when ready.")
    error = serializers.SerializerMethodField()
    retry_at = serializers.SerializerMethodField(
        help_text="A failed summary: when asking again (POST books/{volume_id}/summary/) starts a new try. Before "
        "then, asking answers this failure and costs nothing. Null when it waits for our team to retry it."
    )
    next_attempt_at = serializers.SerializerMethodField(
        help_text="A pending summary: when its next try is due (later than usual while the day's AI budget is spent)."
    )

    class Meta:
        model = Summary
        fields = [
            "id",
            "book",
            "status",
            "content",
            "provider",
            "error",
            "retry_at",
            "next_attempt_at",
            "created_at",
            "ready_at",
        ]
        read_only_fields = fields

    @extend_schema_field(SummaryErrorSerializer(allow_null=True))
    def get_error(self, summary: Summary) -> dict | None:
        if summary.status != TaskStatus.FAILED:
            return None
        retry_at = summary_retry_at(summary)
        if retry_at is None:
            detail = "We could not write this summary. Our team has been told and will try again."
        else:
            detail = f"We could not write this summary. Ask again after {retry_at:%Y-%m-%d %H:%M} UTC to retry."
        return {"code": summary.error_code, "detail": detail}

    def get_retry_at(self, summary: Summary) -> datetime | None:
        return summary_retry_at(summary) if summary.status == TaskStatus.FAILED else None

    def get_next_attempt_at(self, summary: Summary) -> datetime | None:
        return summary.run_after if summary.status == TaskStatus.PENDING else None


class CategorySerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class SearchParamsSerializer(serializers.Serializer):
    q = serializers.CharField(min_length=1, max_length=200)
    lang = serializers.RegexField(
        r"^[a-z]{2}$",
        required=False,
        default="",
        error_messages={"invalid": "Use a two-letter ISO 639-1 code such as 'en'."},
    )
    order_by = serializers.ChoiceField(choices=["relevance", "newest"], required=False, default="relevance")


class LibraryItemSerializer(serializers.Serializer):
    book = BookSerializer(source="*")
    bookmarked_at = serializers.DateTimeField(allow_null=True)
    unlocked_at = serializers.DateTimeField(allow_null=True)
    summary_id = serializers.IntegerField(allow_null=True)


# Lean pages: the columns BookSerializer shows, read with `.values()` and answered as BookSerializer would,
# without a model instance or a serializer per item (a 40-item page built 40 of each).
LIBRARY_COLUMNS = [*BOOK_COLUMNS, "bookmarked_at", "unlocked_at", "summary_id"]
_datetime = serializers.DateTimeField().to_representation


def book_as_dict(row: dict) -> dict:
    """BookSerializer's answer for a `.values(*BOOK_COLUMNS)` row (every column is a plain value already)."""
    book = {name: row[name] for name in BOOK_COLUMNS}
    book["id"] = book.pop("volume_id")
    return {name: book[name] for name in BookSerializer.Meta.fields}


def library_item_as_dict(row: dict) -> dict:
    """LibraryItemSerializer's answer for a `.values(*LIBRARY_COLUMNS)` row."""
    return {
        "book": book_as_dict(row),
        "bookmarked_at": _datetime(row["bookmarked_at"]),
        "unlocked_at": _datetime(row["unlocked_at"]),
        "summary_id": row["summary_id"],
    }


class BookmarkSerializer(serializers.ModelSerializer):
    book = BookSerializer()

    class Meta:
        model = Bookmark
        fields = ["book", "created_at"]


class NoteSerializer(serializers.ModelSerializer):
    book = serializers.CharField(source="book_id", read_only=True)
    book_title = serializers.CharField(source="book.title", read_only=True)

    class Meta:
        model = Note
        fields = ["id", "book", "book_title", "body", "created_at", "updated_at"]
        read_only_fields = fields


class NoteCreateSerializer(serializers.Serializer):
    book = serializers.RegexField(rf"^{VOLUME_ID_PATTERN}$", help_text="The book's volume id.")
    body = serializers.CharField(max_length=10_000, trim_whitespace=True)


class NoteUpdateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10_000, trim_whitespace=True)


class NoteFilterSerializer(serializers.Serializer):
    book = serializers.RegexField(rf"^{VOLUME_ID_PATTERN}$", required=False)


class BudgetUseSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Calls allowed today (GEMINI_ / GOOGLE_BOOKS_DAILY_CALL_BUDGET).")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    refused = serializers.IntegerField(help_text="Calls not made today because the budget was spent.")
    resets_at = serializers.DateTimeField(help_text="Midnight Pacific time, when Google resets its quotas.")

    class Meta:
        ref_name = "BudgetUse"


class BudgetsSerializer(serializers.Serializer):
    gemini = BudgetUseSerializer()
    google_books = BudgetUseSerializer()

    class Meta:
        ref_name = "Budgets"


BUDGETS_HEALTH_SECONDS = 10


def budgets_health() -> dict:
    """Today's use of both daily call budgets, for /api/health/: read from the database at most every 10 s (kept in
    the cache), so Render's frequent health checks cost one query (the worker's heartbeat), not two. An unreachable
    cache must not fail the health check: then the database answers."""

    def read() -> dict:
        return dict(BudgetsSerializer(budgets_today()).data)

    try:
        return cache.get_or_set("health:budgets", read, BUDGETS_HEALTH_SECONDS)
    except CACHE_ERRORS:
        return read()
