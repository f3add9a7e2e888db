"""Free trials: one per email address ever, granted by a durable task, ended and announced by the worker."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from account.emails import email_enqueue
from account.models import EmailTask, User, address_key
from account.subscriptions import subscription_trial_end, subscription_trial_extend, subscription_trial_start
from bookflow_api.durable import TaskStatus, task_claim, task_restart, task_retry_or_fail, task_schedule, task_succeed
from books.models import FreeTrial

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


def trial_schedule(*, user: User) -> FreeTrial | None:
    """On verification: record the address's trial and grant it FREE_TRIAL_DELAY_SECONDS after commit.

    None when this address already had a trial (even under a deleted account)."""
    delay = settings.FREE_TRIAL_DELAY_SECONDS
    run_after = timezone.now() + timedelta(seconds=delay)
    trial, created = FreeTrial.objects.get_or_create(
        email=address_key(user.email),
        defaults={"user": user, "plan": settings.FREE_TRIAL_PLAN, "run_after": run_after},
    )
    if created:
        task_schedule(trial, delay=delay)
        return trial
    # An account deleted before its grant ran left a trial never started: the new account gets it.
    if task_restart(FreeTrial, trial.pk, delay=delay, only_if=Q(error_code="account_deleted"), user=user):
        return trial
    return None


def on_email_verified(sender, *, user: User, **kwargs) -> None:
    """account.signals.email_verified: a newly verified reader gets the address's one free trial."""
    trial_schedule(user=user)


def trial_grant_run(trial_id: int, *, stale: bool = False) -> None:
    """The task: start the trial (the reader's plan becomes the trial's) and send "your trial has started"."""
    trial = task_claim(FreeTrial, trial_id, stale=stale)
    if trial is None:
        return
    if trial.user_id is None:
        task_retry_or_fail(trial, code="account_deleted", detail="The account was deleted first.", transient=False)
        return
    with transaction.atomic():
        started = _start(trial, days=settings.FREE_TRIAL_DAYS)
        task_succeed(trial, starts_at=trial.starts_at, ends_at=trial.ends_at)
    if started:
        logger.info("Free trial %s started for user %s.", trial.pk, trial.user_id)
    else:
        logger.info("Free trial %s not started: user %s already has a paid plan.", trial.pk, trial.user_id)


def _start(trial: FreeTrial, *, days: int) -> bool:
    """Start the trial now, with the email; False for a reader already on a paid plan of their own (left alone)."""
    now = timezone.now()
    if not subscription_trial_start(
        user=trial.user, plan=trial.plan, starts_at=now, ends_at=now + timedelta(days=days)
    ):
        return False
    trial.starts_at, trial.ends_at, trial.ended_at, trial.reminder_sent_at = now, now + timedelta(days=days), None, None
    FreeTrial.objects.filter(pk=trial.pk).update(
        starts_at=trial.starts_at, ends_at=trial.ends_at, ended_at=None, reminder_sent_at=None
    )
    email_enqueue(user=trial.user, kind=EmailTask.Kind.TRIAL_STARTED)
    return True


def trial_grant_now(*, user: User, days: int | None = None) -> bool:
    """Admin: start (or restart) the address's trial now, whatever happened before; False for a reader
    already on a paid plan (left alone)."""
    days = settings.FREE_TRIAL_DAYS if days is None else days
    with transaction.atomic():
        trial, _ = FreeTrial.objects.select_for_update().get_or_create(
            email=address_key(user.email), defaults={"user": user, "plan": settings.FREE_TRIAL_PLAN}
        )
        trial.user = user
        FreeTrial.objects.filter(pk=trial.pk).update(
            user=user, status=TaskStatus.READY, finished_at=timezone.now(), error_code="", error_detail=""
        )
        return _start(trial, days=days)


def trial_extend(*, trial: FreeTrial, days: int) -> bool:
    """Admin: push an active trial's end back by `days`. False if the trial is not running."""
    running = FreeTrial.objects.filter(pk=trial.pk, starts_at__isnull=False, ended_at__isnull=True)
    if not running.update(ends_at=F("ends_at") + timedelta(days=days), reminder_sent_at=None):
        return False
    if trial.user_id is not None:
        subscription_trial_extend(user_id=trial.user_id, ends_at=FreeTrial.objects.get(pk=trial.pk).ends_at)
    return True


def trial_end(*, trial: FreeTrial, due: bool = False) -> bool:
    """End a running trial once: back to `free` with a "trial ended" email — unless an admin changed the
    plan meanwhile (it is the reader's own: kept, and no email saying otherwise). With `due`, only if it
    is still past its end (an admin may have just extended it). The conditional UPDATE makes a second
    call, or a racing worker, a no-op."""
    now = timezone.now()
    with transaction.atomic():
        running = FreeTrial.objects.filter(pk=trial.pk, starts_at__isnull=False, ended_at__isnull=True)
        if due:
            running = running.filter(ends_at__lte=now)
        if not running.update(ended_at=now):
            return False
        if trial.user_id is not None and subscription_trial_end(user_id=trial.user_id, plan=trial.plan):
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
            ended += trial_end(trial=trial, due=True)
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
        # Nor a reader an admin moved to a plan of their own: the trial's end changes nothing for them.
        user__plan=F("plan"),
    ).select_related("user")
    sent = 0
    for trial in due.iterator(chunk_size=BATCH_SIZE):
        with transaction.atomic():
            still_due = FreeTrial.objects.filter(
                pk=trial.pk, reminder_sent_at__isnull=True, ended_at__isnull=True, ends_at__gt=now
            )
            if still_due.update(reminder_sent_at=now):
                email_enqueue(user=trial.user, kind=EmailTask.Kind.TRIAL_ENDING)
                sent += 1
    return sent
