"""AI summaries: unlocking (with monthly quotas), generation as a durable task, refunds on failure."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework import exceptions, status

from account.models import User
from account.quotas import Quota, quota_of
from bookflow_api.durable import (
    TaskStatus,
    task_claim,
    task_defer,
    task_restart,
    task_retry_or_fail,
    task_schedule,
    task_succeed,
)
from bookflow_api.errors import ApplicationError
from books.catalogue import book_detail
from books.models import Summary, SummaryUnlock
from books.providers import summary_provider
from books.providers.base import BudgetSpent, ProviderError

logger = logging.getLogger(__name__)

SUMMARY_NOT_FOUND = ApplicationError("summary_not_found", "No such summary.", status_code=status.HTTP_404_NOT_FOUND)


def summaries_used_since(user: User, since: datetime) -> int:
    """The reader's summary unlocks since `since` (refunded ones do not count): the `summaries` quota's use."""
    return SummaryUnlock.objects.filter(user=user, unlocked_at__gte=since, refunded_at__isnull=True).count()


def summary_quota(*, user: User) -> Quota:
    return quota_of(user, "summaries")


def summary_request(*, user: User, volume_id: str) -> Summary:
    """Unlock the book's summary for this reader, starting its generation if nobody has yet.

    A failed summary starts again only once its cool-off has passed (and not after SUMMARY_MAX_FAILED_ROUNDS
    failed rounds: then only an admin's retry runs it); until then the reader gets the failure, free.
    """
    book = book_detail(volume_id=volume_id, reader_id=user.pk)
    delay = settings.SUMMARY_TASK_DELAY_SECONDS
    with transaction.atomic():
        # One request at a time per reader, so two parallel unlocks cannot both take the last unit.
        User.objects.select_for_update().filter(pk=user.pk).first()
        key = {"book": book, "language": "en", "prompt_version": settings.SUMMARY_PROMPT_VERSION}
        existing = Summary.objects.filter(**key).first()
        if existing is None or (existing.status == TaskStatus.FAILED and _cooled_off(existing)):
            _failures_allow(user)  # this request would start a generation
        summary, created = Summary.objects.get_or_create(
            **key, defaults={"run_after": timezone.now() + timedelta(seconds=delay)}
        )
        if summary.status == TaskStatus.FAILED:
            _summary_restart(summary, delay=delay, cooled_down=True)
            if summary.status == TaskStatus.FAILED:  # cooling off, or waiting for an admin
                _hold_free(user=user, summary=summary)
                return summary
        _unlock(user=user, summary=summary)
        if created:
            task_schedule(summary, delay=delay)
    return summary


def _cooled_off(summary: Summary) -> bool:
    retry_at = summary_retry_at(summary)
    return retry_at is not None and retry_at <= timezone.now()


def _failures_allow(user: User) -> None:
    """Refunds make failures free: past SUMMARY_FAILED_ROUNDS_PER_READER_HOUR failed generations a reader paid for
    in the last hour, they start no new one (429) until the oldest is an hour old. A bound on what one account
    can make Gemini do through books that fail, one after the other."""
    hour_ago = timezone.now() - timedelta(hours=1)
    # Charged, then refunded: an unlock held for free (refunded_at == unlocked_at, see _hold_free) is no failure.
    failures = SummaryUnlock.objects.filter(user=user, refunded_at__gte=hour_ago).exclude(refunded_at=F("unlocked_at"))
    first = failures.order_by("refunded_at").values_list("refunded_at", flat=True)
    if failures.count() >= settings.SUMMARY_FAILED_ROUNDS_PER_READER_HOUR:
        wait = (first[0] + timedelta(hours=1) - timezone.now()).total_seconds()
        raise exceptions.Throttled(
            wait=max(wait, 1),
            detail="Several summaries you asked for failed in the last hour; ask for a new one later.",
        )


def summary_retry_at(summary: Summary) -> datetime | None:
    """When a reader's request may generate this failed summary again; None once only an admin can."""
    if summary.failed_rounds >= settings.SUMMARY_MAX_FAILED_ROUNDS:
        return None
    failed_at = summary.finished_at or summary.created_at
    return failed_at + timedelta(minutes=settings.SUMMARY_RETRY_COOLDOWN_MINUTES)


def _summary_restart(summary: Summary, *, delay: float, cooled_down: bool = False) -> bool:
    """Give a failed generation a fresh set of attempts (with `cooled_down`, only if a reader may: its cool-off
    has passed and it has failed rounds left); `summary` is refreshed either way."""
    only_if = None
    if cooled_down:
        cooled_off_before = timezone.now() - timedelta(minutes=settings.SUMMARY_RETRY_COOLDOWN_MINUTES)
        only_if = Q(
            Q(finished_at__lte=cooled_off_before) | Q(finished_at__isnull=True, created_at__lte=cooled_off_before),
            failed_rounds__lt=settings.SUMMARY_MAX_FAILED_ROUNDS,
        )
    restarted = task_restart(Summary, summary.pk, delay=delay, only_if=only_if)
    summary.refresh_from_db()
    return restarted


def _hold_free(*, user: User, summary: Summary) -> None:
    """The reader asked for a failed summary: they may see it (and poll it), and it costs them nothing."""
    now = timezone.now()
    SummaryUnlock.objects.get_or_create(user=user, summary=summary, defaults={"unlocked_at": now, "refunded_at": now})
    SummaryUnlock.objects.filter(user=user, summary=summary, refunded_at__isnull=True).update(refunded_at=now)


def _unlock(*, user: User, summary: Summary) -> None:
    unlock = SummaryUnlock.objects.filter(user=user, summary=summary).first()
    if unlock is not None and unlock.refunded_at is None:
        return  # re-reading is free
    quota = summary_quota(user=user)
    if quota.remaining <= 0:
        raise ApplicationError(
            "quota_exceeded",
            f"You have used all {quota.limit} summaries of your plan this month; more on "
            f"{quota.resets_at:%Y-%m-%d}, or upgrade your plan.",
            status_code=status.HTTP_403_FORBIDDEN,
        )
    if unlock is None:
        SummaryUnlock.objects.create(user=user, summary=summary)
    else:
        unlock.refunded_at = None
        unlock.unlocked_at = timezone.now()
        unlock.save(update_fields=["refunded_at", "unlocked_at"])


def _held_by(user: User) -> Q:
    """Summaries the reader holds: unlocked and not refunded. A refunded one only while it is not ready: its
    failure is theirs to see, but content written later for another reader is not theirs without paying."""
    return Q(unlocks__user=user) & (Q(unlocks__refunded_at__isnull=True) | ~Q(status=TaskStatus.READY))


def summary_for_reader(*, user: User, summary_id: int) -> Summary:
    """The summary, if this reader holds it; 404 otherwise (no hint that it exists)."""
    summary = Summary.objects.select_related("book").filter(_held_by(user), pk=summary_id).first()
    if summary is None:
        raise SUMMARY_NOT_FOUND
    return summary


def summary_state_for_reader(*, user: User, summary_id: int) -> tuple[str, str]:
    """(status, ETag) of the summary if this reader holds it, in one query that loads no content; 404 otherwise."""
    state = Summary.objects.filter(_held_by(user), pk=summary_id).values_list("status", "etag").first()
    if state is None:
        raise SUMMARY_NOT_FOUND
    return state


def summary_rendered(*, summary_id: int) -> bytes | None:
    """The stored answer of a ready summary (after an access check by the caller); None until it is rendered."""
    body = Summary.objects.filter(pk=summary_id, status=TaskStatus.READY).values_list("rendered", flat=True).first()
    return bytes(body) if body is not None else None


def summary_keep_rendered(*, summary: Summary, body: bytes, etag: str) -> None:
    """Keep a ready summary's rendered answer, unless its content or book changed since it was loaded."""
    Summary.objects.filter(
        pk=summary.pk,
        status=TaskStatus.READY,
        etag="",
        ready_at=summary.ready_at,
        book__fetched_at=summary.book.fetched_at,
    ).update(rendered=body, etag=etag)


def summary_of_book_for_reader(*, user: User, volume_id: str) -> Summary | None:
    return Summary.objects.filter(_held_by(user), book_id=volume_id, language="en").order_by("-prompt_version").first()


def summary_round_failed(summary_id: int) -> None:
    """A round of attempts failed: give every reader who unlocked it their unit back, and count the round."""
    SummaryUnlock.objects.filter(summary_id=summary_id, refunded_at__isnull=True).update(refunded_at=timezone.now())
    Summary.objects.filter(pk=summary_id, status=TaskStatus.FAILED).update(failed_rounds=F("failed_rounds") + 1)


def generate_summary(summary_id: int, *, stale: bool = False) -> None:
    """The task: claim the summary, ask the provider, store the content or retry/fail (refunding readers)."""
    summary = task_claim(Summary, summary_id, stale=stale)
    if summary is None:
        return
    try:
        result = summary_provider().generate(summary.book)
    except BudgetSpent as exc:
        # Not the book's fault: it waits for tomorrow's budget, with its attempts intact.
        if task_defer(summary, until=exc.resets_at, code=exc.code, detail=exc.detail):
            logger.warning("Summary %s waits for the daily budget until %s.", summary_id, exc.resets_at)
        return
    except Exception as exc:
        error = exc if isinstance(exc, ProviderError) else ProviderError("internal_error", repr(exc), transient=True)
        logger.warning(
            "Summary %s attempt %s failed: %s",
            summary_id,
            summary.attempts,
            error.code,
            exc_info=not isinstance(exc, ProviderError),
        )
        retried = task_retry_or_fail(summary, code=error.code, detail=error.detail, transient=error.transient)
        if (
            not retried and summary.status == TaskStatus.FAILED
        ):  # not when a later run took over (and may have succeeded)
            summary_round_failed(summary_id)
        return
    fields = {
        "content": result.content,
        "provider": result.provider,
        "model": result.model,
        "rendered": None,
        "etag": "",
    }
    if task_succeed(summary, **fields, ready_at=timezone.now()):
        logger.info("Summary %s is ready (%s).", summary_id, result.provider)


def summary_retry(*, summary: Summary) -> bool:
    """Admin action: run a failed summary again, cool-off or not (readers who unlocked it are charged again
    only on request). Its failed rounds stay counted: if this round fails too, it waits for an admin again."""
    return _summary_restart(summary, delay=0)
