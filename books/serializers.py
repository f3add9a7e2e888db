from rest_framework import serializers

from books.models import Book, Bookmark, Note, Summary

VOLUME_ID_PATTERN = r"[A-Za-z0-9_-]{1,40}"


class BookSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="volume_id")

    class Meta:
        model = Book
        fields = [
            "id",
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


class SummarySerializer(serializers.ModelSerializer):
    book = BookSerializer()
    content = serializers.JSONField(allow_null=True, help_text="Summary content, schema version 1, when ready.")
    error = serializers.SerializerMethodField()

    class Meta:
        model = Summary
        fields = ["id", "book", "status", "content", "provider", "error", "created_at", "ready_at"]
        read_only_fields = fields

    def get_error(self, summary: Summary) -> dict | None:
        if summary.status != "failed":
            return None
        return {"code": summary.error_code, "detail": "We could not write this summary. Ask again to retry."}


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
