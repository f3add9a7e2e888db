from django.conf import settings
from django.db import models
from django.utils.timezone import now

from bookflow_api.durable import DurableTask


class Book(models.Model):
    """Our copy of a Google Books volume (or a seed book), refreshed whenever we see it again."""

    class Source(models.TextChoices):
        GOOGLE_BOOKS = "google_books", "Google Books"
        SEED = "seed", "Seed catalogue"

    volume_id = models.CharField(primary_key=True, max_length=40)
    isbn_13 = models.CharField(max_length=13, blank=True, db_index=True)
    isbn_10 = models.CharField(max_length=10, blank=True)
    title = models.CharField(max_length=500)
    subtitle = models.CharField(max_length=500, blank=True)
    authors = models.JSONField(default=list, blank=True)
    publisher = models.CharField(max_length=255, blank=True)
    published_date = models.CharField(max_length=10, blank=True, help_text="YYYY, YYYY-MM or YYYY-MM-DD")
    published_year = models.PositiveSmallIntegerField(null=True, blank=True)
    description = models.TextField(blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    categories = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=16, blank=True)
    thumbnail_url = models.URLField(max_length=1000, blank=True)
    cover_url = models.URLField(max_length=1000, blank=True)
    average_rating = models.FloatField(null=True, blank=True)
    ratings_count = models.PositiveIntegerField(default=0)
    preview_link = models.URLField(max_length=1000, blank=True)
    info_link = models.URLField(max_length=1000, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.GOOGLE_BOOKS)
    fetched_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Bookmark(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookmarks")
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="bookmarks")
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "book"], name="books_bookmark_once_per_book")]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user} ♥ {self.book}"


class Note(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notes")
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="notes")
    body = models.TextField(max_length=10_000)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-updated_at"])]

    def __str__(self) -> str:
        return f"Note by {self.user} on {self.book}"


class Summary(DurableTask):
    """One AI summary of a book (per language and prompt version), shared by every reader who unlocks it."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="summaries")
    language = models.CharField(max_length=16, default="en")
    prompt_version = models.PositiveSmallIntegerField(default=1)
    content = models.JSONField(null=True, blank=True)
    provider = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=60, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    # The ready summary's JSON answer, rendered on its first read and sent as is after that (with its ETag);
    # cleared when the content changes or its book is refreshed, so the next read renders it again.
    rendered = models.BinaryField(null=True, blank=True, editable=False)
    etag = models.CharField(max_length=80, blank=True, editable=False)
    failed_rounds = models.PositiveSmallIntegerField(
        default=0, help_text="Rounds of attempts that all failed; from the third on, only an admin retries."
    )

    class Meta(DurableTask.Meta):
        verbose_name_plural = "summaries"
        constraints = [
            models.UniqueConstraint(fields=["book", "language", "prompt_version"], name="books_summary_once_per_book")
        ]
        indexes = [models.Index(fields=["status", "run_after"], name="books_summary_due_idx")]

    def __str__(self) -> str:
        return f"Summary of {self.book} ({self.status})"


class SummaryUnlock(models.Model):
    """A reader unlocked a summary; it counts against their monthly quota unless refunded."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="unlocks")
    summary = models.ForeignKey(Summary, on_delete=models.CASCADE, related_name="unlocks")
    unlocked_at = models.DateTimeField(default=now, db_index=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "summary"], name="books_unlock_once_per_reader")]
        indexes = [models.Index(fields=["user", "-unlocked_at"])]

    def __str__(self) -> str:
        return f"{self.user} unlocked {self.summary_id}"


class FreeTrial(DurableTask):
    """The one free trial an email address ever gets, and the durable task that grants it.

    Keyed by the normalised address, not the account: deleting and re-creating the account finds the
    same row and grants nothing. The task part (status, attempts...) is the grant; `ends_at` and
    `ended_at` follow the trial itself.
    """

    email = models.EmailField(unique=True, help_text="Normalised address; kept after the account is deleted.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="free_trials"
    )
    plan = models.CharField(max_length=10, default="basic")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True, db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When the trial was ended and the reader told.")
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(DurableTask.Meta):
        indexes = [models.Index(fields=["status", "run_after"], name="books_trial_due_idx")]

    def __str__(self) -> str:
        return f"Free trial for {self.email}"


class UpstreamUsage(models.Model):
    """Calls made to a paid upstream on one day (UTC), counted against its daily budget by every process."""

    class Upstream(models.TextChoices):
        GEMINI = "gemini", "Google Gemini"
        GOOGLE_BOOKS = "google_books", "Google Books"

    upstream = models.CharField(max_length=20, choices=Upstream.choices)
    day = models.DateField()
    calls = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0, help_text="Calls not made because the budget was spent.")
    warned_at = models.DateTimeField(null=True, blank=True, help_text="When the worker logged the 80 % warning.")

    class Meta:
        verbose_name = "upstream usage"
        verbose_name_plural = "upstream usage"
        ordering = ["-day", "upstream"]
        constraints = [models.UniqueConstraint(fields=["upstream", "day"], name="books_usage_once_per_day")]

    def __str__(self) -> str:
        return f"{self.get_upstream_display()} on {self.day}"
