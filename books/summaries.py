"""AI summaries: unlocking (with monthly quotas), generation as a durable task, refunds on failure."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework import status

from account.models import User
from bookflow_api.durable import TaskStatus, task_claim, task_defer, task_retry_or_fail, task_succeed
from bookflow_api.errors import ApplicationError
from books import scheduler
from books.catalogue import book_detail
from books.models import Summary, SummaryUnlock
from books.providers import summary_provider
from books.providers.base import BudgetSpent, ProviderError

logger = logging.getLogger(__name__)

SUMMARY_NOT_FOUND = ApplicationError("summary_not_found", "No such summary.", status_code=status.HTTP_404_NOT_FOUND)


@dataclass(frozen=True)
class Quota:
    limit: int
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def _month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def summary_quota(*, user: User) -> Quota:
    """The reader's summary unlocks this calendar month (UTC) against their plan's limit."""
    start, end = _month_bounds(timezone.now())
    used = SummaryUnlock.objects.filter(user=user, unlocked_at__gte=start, refunded_at__isnull=True).count()
    return Quota(limit=settings.PLAN_QUOTAS[user.plan], used=used, resets_at=end)


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
        summary, created = Summary.objects.get_or_create(
            book=book,
            language="en",
            prompt_version=settings.SUMMARY_PROMPT_VERSION,
            defaults={"run_after": timezone.now() + timedelta(seconds=delay)},
        )
        restarted = False
        if summary.status == TaskStatus.FAILED:
            restarted = _summary_restart(summary, delay=delay, cooled_down=True)
            if summary.status == TaskStatus.FAILED:  # cooling off, or waiting for an admin
                _hold_free(user=user, summary=summary)
                return summary
        _unlock(user=user, summary=summary)
        if created or restarted:
            scheduler.run_after_commit(generate_summary, summary.pk, delay=delay)
    return summary


def summary_retry_at(summary: Summary) -> datetime | None:
    """When a reader's request may generate this failed summary again; None once only an admin can."""
    if summary.failed_rounds >= settings.SUMMARY_MAX_FAILED_ROUNDS:
        return None
    failed_at = summary.finished_at or summary.created_at
    return failed_at + timedelta(minutes=settings.SUMMARY_RETRY_COOLDOWN_MINUTES)


def _summary_restart(summary: Summary, *, delay: float, cooled_down: bool = False) -> bool:
    """Give a failed generation a fresh set of attempts (with `cooled_down`, only if a reader may: its cool-off
    has passed and it has failed rounds left). One conditional UPDATE: of parallel requests, one restarts it."""
    now = timezone.now()
    restartable = Summary.objects.filter(pk=summary.pk, status=TaskStatus.FAILED)
    if cooled_down:
        cooled_off_before = now - timedelta(minutes=settings.SUMMARY_RETRY_COOLDOWN_MINUTES)
        restartable = restartable.filter(
            Q(finished_at__lte=cooled_off_before) | Q(finished_at__isnull=True, created_at__lte=cooled_off_before),
            failed_rounds__lt=settings.SUMMARY_MAX_FAILED_ROUNDS,
        )
    restarted = restartable.update(
        status=TaskStatus.PENDING,
        attempts=0,
        run_after=now + timedelta(seconds=delay),
        error_code="",
        error_detail="",
        finished_at=None,
    )
    summary.refresh_from_db()
    return bool(restarted)


def _hold_free(*, user: User, summary: Summary) -> None:
    """The reader asked for a failed summary: they may see it (and poll it), and it costs them nothing."""
    now = timezone.now()
    SummaryUnlock.objects.get_or_create(user=user, summary=summary, defaults={"refunded_at": now})
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
            scheduler.run_later(generate_summary, summary_id, delay=(exc.resets_at - timezone.now()).total_seconds())
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
        if task_retry_or_fail(summary, code=error.code, detail=error.detail, transient=error.transient):
            delay = (summary.run_after - timezone.now()).total_seconds()
            scheduler.run_later(generate_summary, summary_id, delay=max(delay, 0))
        elif summary.status == TaskStatus.FAILED:  # not when a later run took over (and may have succeeded)
            summary_round_failed(summary_id)
        return
    fields = {"content": result.content, "provider": result.provider, "model": result.model}
    if task_succeed(summary, **fields, ready_at=timezone.now()):
        logger.info("Summary %s is ready (%s).", summary_id, result.provider)


def summary_retry(*, summary: Summary) -> bool:
    """Admin action: run a failed summary again, cool-off or not (readers who unlocked it are charged again
    only on request). Its failed rounds stay counted: if this round fails too, it waits for an admin again."""
    restarted = _summary_restart(summary, delay=0)
    if restarted:
        scheduler.run_after_commit(generate_summary, summary.pk)
    return restarted
