import json

from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from account.admin import user_action_register
from bookflow_api.durable import TASK_FIELDS, TaskStatus
from books.budgets import budget_day, budget_limit
from books.models import Book, Bookmark, FreeTrial, Note, Summary, SummaryUnlock, UpstreamUsage
from books.summaries import summary_retry, summary_retry_at
from books.trials import trial_end, trial_extend, trial_grant_now


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ["title", "authors_list", "published_year", "language", "isbn_13", "source", "fetched_at"]
    list_filter = ["source", "language", "fetched_at"]
    search_fields = ["title", "subtitle", "isbn_13", "isbn_10", "volume_id", "publisher"]
    date_hierarchy = "fetched_at"
    # What Google sent is kept as it came: editing it here would be overwritten on the next fetch anyway.
    readonly_fields = [f.name for f in Book._meta.concrete_fields]

    def has_add_permission(self, request) -> bool:
        # Books come from Google Books (or the seed catalogue). With every field read-only the add form could only
        # save an empty book with an empty id, and answered 500 trying to link to it.
        return False

    @admin.display(description="Authors")
    def authors_list(self, book: Book) -> str:
        return ", ".join(book.authors)


@admin.register(Bookmark)
class BookmarkAdmin(admin.ModelAdmin):
    list_display = ["user", "book", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["user__email", "book__title", "book__volume_id"]
    list_select_related = ["user", "book"]
    raw_id_fields = ["user", "book"]


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["user", "book", "created_at", "updated_at"]
    list_filter = ["created_at"]
    search_fields = ["user__email", "book__title"]
    list_select_related = ["user", "book"]
    raw_id_fields = ["user", "book"]


class NeedsAdminFilter(admin.SimpleListFilter):
    title = "failed rounds"
    parameter_name = "rounds"

    def lookups(self, request, model_admin):
        return [("waiting", "Waiting for an admin's retry"), ("cooling", "Cooling off (readers may retry later)")]

    def queryset(self, request, queryset):
        failed = queryset.filter(status=TaskStatus.FAILED)
        if self.value() == "waiting":
            return failed.filter(failed_rounds__gte=settings.SUMMARY_MAX_FAILED_ROUNDS)
        if self.value() == "cooling":
            return failed.filter(failed_rounds__lt=settings.SUMMARY_MAX_FAILED_ROUNDS)
        return queryset


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin):
    list_display = [
        "book",
        "status",
        "provider",
        "model",
        "attempts",
        "failed_rounds",
        "error_code",
        "retry_at",
        "created_at",
        "ready_at",
    ]
    list_filter = [NeedsAdminFilter, "status", "provider", "language", "created_at"]
    search_fields = ["book__title", "book__volume_id", "error_code"]
    list_select_related = ["book"]
    actions = ["retry_failed"]
    exclude = ["content"]
    readonly_fields = [
        "book",
        "language",
        "prompt_version",
        "provider",
        "model",
        "ready_at",
        *TASK_FIELDS,
        "failed_rounds",
        "retry_at",
        "content_preview",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Readers may retry at")
    def retry_at(self, summary: Summary) -> str:
        if summary.status != TaskStatus.FAILED:
            return "—"
        retry_at = summary_retry_at(summary)
        return f"{retry_at:%Y-%m-%d %H:%M} UTC" if retry_at else "Only an admin (Retry action)"

    @admin.display(description="Content")
    def content_preview(self, summary: Summary) -> str:
        if not summary.content:
            return "—"
        one_page = summary.content.get("one_page_summary", {})
        insights = format_html_join(
            "", "<li><b>{}</b>: {}</li>", ((i["title"], i["description"]) for i in summary.content["key_insights"])
        )
        return format_html(
            "<h3>{}</h3><p>{}</p><ol>{}</ol><details><summary>Raw JSON</summary><pre>{}</pre></details>",
            one_page.get("headline", ""),
            one_page.get("core_message", ""),
            insights,
            json.dumps(summary.content, indent=2, ensure_ascii=False),
        )

    @admin.action(description="Retry the selected failed summaries")
    def retry_failed(self, request, queryset) -> None:
        retried = sum(summary_retry(summary=summary) for summary in queryset.filter(status=TaskStatus.FAILED))
        self.message_user(request, f"{retried} summaries queued again.", messages.SUCCESS)


@admin.register(SummaryUnlock)
class SummaryUnlockAdmin(admin.ModelAdmin):
    """Made by unlocking a summary in the API, which checks the reader's quota and queues the generation: no Add,
    and an unlock stays with its reader and summary. Setting `refunded_at` gives the reader the unlock back."""

    list_display = ["user", "summary", "unlocked_at", "refunded_at"]
    list_filter = ["unlocked_at", "refunded_at"]
    search_fields = ["user__email", "summary__book__title"]
    list_select_related = ["user", "summary__book"]
    readonly_fields = ["user", "summary"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(FreeTrial)
class FreeTrialAdmin(admin.ModelAdmin):
    """One row per address that ever had a trial. Grant a trial from the users page."""

    list_display = ["email", "user", "plan", "status", "starts_at", "ends_at", "ended_at", "reminder_sent_at"]
    list_filter = ["status", "plan", "starts_at", "ends_at", "ended_at"]
    search_fields = ["email", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "starts_at"
    readonly_fields = [f.name for f in FreeTrial._meta.concrete_fields]
    actions = ["extend_7_days", "extend_30_days", "end_now"]

    def has_add_permission(self, request) -> bool:
        return False

    def _extend(self, request, queryset, days: int) -> None:
        extended = sum(trial_extend(trial=trial, days=days) for trial in queryset)
        self.message_user(request, f"Extended {extended} running trial(s) by {days} days.", messages.SUCCESS)

    @admin.action(description="Extend selected trials by 7 days")
    def extend_7_days(self, request, queryset) -> None:
        self._extend(request, queryset, 7)

    @admin.action(description="Extend selected trials by 30 days")
    def extend_30_days(self, request, queryset) -> None:
        self._extend(request, queryset, 30)

    @admin.action(description="End selected trials now (back to free, with the email)")
    def end_now(self, request, queryset) -> None:
        ended = sum(trial_end(trial=trial) for trial in queryset.select_related("user"))
        self.message_user(request, f"Ended {ended} running trial(s).", messages.SUCCESS)


@admin.register(UpstreamUsage)
class UpstreamUsageAdmin(admin.ModelAdmin):
    """Calls to Gemini and Google Books per budget day (midnight to midnight, Pacific time), kept by the code."""

    list_display = ["day", "upstream", "calls", "budget", "share", "refused", "warned_at"]
    list_filter = ["upstream", "day"]
    date_hierarchy = "day"
    readonly_fields = [f.name for f in UpstreamUsage._meta.concrete_fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Budget")
    def budget(self, usage: UpstreamUsage) -> str:
        return str(budget_limit(usage.upstream)) if usage.day == budget_day() else "—"

    @admin.display(description="Used")
    def share(self, usage: UpstreamUsage) -> str:
        if usage.day != budget_day():
            return "—"
        limit = budget_limit(usage.upstream)
        return f"{100 * usage.calls / limit:.0f} %" if limit else "100 %"


@admin.action(description="Grant a free trial now (restarts an earlier one)")
def grant_free_trial(modeladmin, request, queryset) -> None:
    granted = sum(trial_grant_now(user=user) for user in queryset)
    modeladmin.message_user(
        request,
        f"Granted {settings.FREE_TRIAL_DAYS} days of {settings.FREE_TRIAL_PLAN} to {granted} reader(s); "
        f"{queryset.count() - granted} already on a paid plan were left alone.",
        messages.SUCCESS,
    )


user_action_register(grant_free_trial)
