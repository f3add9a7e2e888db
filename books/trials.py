"""Free trials: one per email address ever, granted by a durable task, ended and announced by the worker."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from account.emails import email_enqueue
from account.models import EmailTask, Plan, User, normalize_email
from bookflow_api.durable import TaskStatus, task_claim, task_retry_or_fail, task_succeed
from books import scheduler
from books.models import FreeTrial

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


def trial_schedule(*, user: User) -> FreeTrial | None:
    """On verification: record the address's trial and grant it FREE_TRIAL_DELAY_SECONDS after commit.

    None when this address already had a trial (even under a deleted account)."""
    delay = settings.FREE_TRIAL_DELAY_SECONDS
    trial, created = FreeTrial.objects.get_or_create(
        email=normalize_email(user.email),
        defaults={
            "user": user,
            "plan": settings.FREE_TRIAL_PLAN,
            "run_after": timezone.now() + timedelta(seconds=delay),
        },
    )
    if not created:
        return None
    scheduler.run_after_commit(trial_grant_run, trial.pk, delay=delay)
    return trial


def trial_grant_run(trial_id: int, *, stale: bool = False) -> None:
    """The task: start the trial (the reader's plan becomes the trial's) and send "your trial has started"."""
    trial = task_claim(FreeTrial, trial_id, stale=stale)
    if trial is None:
        return
    if trial.user_id is None:
        task_retry_or_fail(trial, code="account_deleted", detail="The account was deleted first.", transient=False)
        return
    with transaction.atomic():
        _start(trial, days=settings.FREE_TRIAL_DAYS)
        task_succeed(trial, starts_at=trial.starts_at, ends_at=trial.ends_at)
    logger.info("Free trial %s started for user %s.", trial.pk, trial.user_id)


def _start(trial: FreeTrial, *, days: int) -> None:
    now = timezone.now()
    trial.starts_at, trial.ends_at, trial.ended_at, trial.reminder_sent_at = now, now + timedelta(days=days), None, None
    FreeTrial.objects.filter(pk=trial.pk).update(
        starts_at=trial.starts_at, ends_at=trial.ends_at, ended_at=None, reminder_sent_at=None
    )
    User.objects.filter(pk=trial.user_id).update(plan=trial.plan)
    email_enqueue(user=trial.user, kind=EmailTask.Kind.TRIAL_STARTED)


def trial_grant_now(*, user: User, days: int | None = None) -> FreeTrial:
    """Admin: start (or restart) the address's trial now, whatever happened before."""
    days = settings.FREE_TRIAL_DAYS if days is None else days
    with transaction.atomic():
        trial, _ = FreeTrial.objects.select_for_update().get_or_create(
            email=normalize_email(user.email), defaults={"user": user, "plan": settings.FREE_TRIAL_PLAN}
        )
        trial.user = user
        FreeTrial.objects.filter(pk=trial.pk).update(
            user=user, status=TaskStatus.READY, finished_at=timezone.now(), error_code="", error_detail=""
        )
        _start(trial, days=days)
    return trial


def trial_extend(*, trial: FreeTrial, days: int) -> bool:
    """Admin: push an active trial's end back by `days`. False if the trial is not running."""
    updated = FreeTrial.objects.filter(pk=trial.pk, starts_at__isnull=False, ended_at__isnull=True).update(
        ends_at=F("ends_at") + timedelta(days=days), reminder_sent_at=None
    )
    return bool(updated)


def trial_end(*, trial: FreeTrial) -> bool:
    """End a running trial once: back to `free` (unless the plan was changed meanwhile) and a "trial ended"
    email. The conditional UPDATE makes a second call, or a racing worker, a no-op."""
    with transaction.atomic():
        ended = FreeTrial.objects.filter(pk=trial.pk, starts_at__isnull=False, ended_at__isnull=True).update(
            ended_at=timezone.now()
        )
        if not ended:
            return False
        if trial.user_id is not None:
            # A plan an admin set during the trial is the reader's own: keep it.
            User.objects.filter(pk=trial.user_id, plan=trial.plan).update(plan=Plan.FREE)
            email_enqueue(user=trial.user, kind=EmailTask.Kind.TRIAL_ENDED)
    logger.info("Free trial %s ended.", trial.pk)
    return True


def expire_trials() -> int:
    """Worker job (hourly): end every trial past its end; return how many."""
    ended = 0
    while True:
        batch = list(
            FreeTrial.objects.filter(ended_at__isnull=True, ends_at__lte=timezone.now())
            .select_related("user")
            .order_by("ends_at")[:BATCH_SIZE]
        )
        for trial in batch:
            ended += trial_end(trial=trial)
        if len(batch) < BATCH_SIZE:
            return ended


def trial_ending_reminders() -> int:
    """Worker job (hourly): one reminder ~3 days before a trial ends, at most once; return how many."""
    now = timezone.now()
    soon = timedelta(days=settings.FREE_TRIAL_REMINDER_DAYS)
    due = FreeTrial.objects.filter(
        ended_at__isnull=True,
        reminder_sent_at__isnull=True,
        user__isnull=False,
        ends_at__gt=now,
        ends_at__lte=now + soon,
        # A trial that was never longer than the reminder window needs no reminder.
        starts_at__lt=F("ends_at") - soon,
    ).select_related("user")
    sent = 0
    for trial in due.iterator(chunk_size=BATCH_SIZE):
        with transaction.atomic():
            if FreeTrial.objects.filter(pk=trial.pk, reminder_sent_at__isnull=True).update(reminder_sent_at=now):
                email_enqueue(user=trial.user, kind=EmailTask.Kind.TRIAL_ENDING)
                sent += 1
    return sent


def trial_of(user: User) -> FreeTrial | None:
    return FreeTrial.objects.filter(user=user, starts_at__isnull=False).first()
