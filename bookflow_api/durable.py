"""Durable one-off tasks: the row is the task, a timer only says "look at row N now".

Whoever runs a task first claims it with one conditional UPDATE (pending -> running); a process that
loses the claim does nothing. A crashed run leaves the row `running` with an old `claimed_at`: after
the lease the worker's `resume_stale_tasks` claims it again.
"""

import logging
from datetime import timedelta

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BACKOFF_BASE_SECONDS = 10


class TaskStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class DurableTask(models.Model):
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.PENDING, db_index=True)
    run_after = models.DateTimeField(default=timezone.now, help_text="Not to be run before this time.")
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    max_attempts = 4

    class Meta:
        abstract = True
        indexes = [models.Index(fields=["status", "run_after"])]


# The task's own bookkeeping, shown read-only wherever a durable task appears in the admin.
TASK_FIELDS = [
    "status",
    "attempts",
    "run_after",
    "claimed_at",
    "error_code",
    "error_detail",
    "created_at",
    "finished_at",
]


def task_claim(model: type[DurableTask], pk: int, *, stale: bool = False) -> DurableTask | None:
    """Claim the task if it is due (or, with `stale`, if its claim's lease ran out); None if someone else has it."""
    now = timezone.now()
    due = Q(status=TaskStatus.PENDING, run_after__lte=now)
    if stale:
        due |= Q(status=TaskStatus.RUNNING, claimed_at__lt=now - LEASE)
    claimed = model.objects.filter(due, pk=pk).update(
        status=TaskStatus.RUNNING, claimed_at=now, attempts=F("attempts") + 1
    )
    return model.objects.get(pk=pk) if claimed else None


def task_succeed(task: DurableTask, **fields) -> None:
    """Record success, unless the claim was lost to a later run in the meantime."""
    fields.update(status=TaskStatus.READY, finished_at=timezone.now(), error_code="", error_detail="")
    type(task).objects.filter(pk=task.pk, status=TaskStatus.RUNNING, claimed_at=task.claimed_at).update(**fields)
    for name, value in fields.items():
        setattr(task, name, value)


def task_retry_or_fail(task: DurableTask, *, code: str, detail: str, transient: bool = True) -> bool:
    """Put a transiently failed task back with exponential backoff, or fail it (after its last attempt, or at
    once when the error is permanent). True if it will run again."""
    retry = transient and task.attempts < task.max_attempts
    fields = {"error_code": code, "error_detail": detail[:2000], "claimed_at": None}
    if retry:
        delay = BACKOFF_BASE_SECONDS * 2 ** (task.attempts - 1)
        fields.update(status=TaskStatus.PENDING, run_after=timezone.now() + timedelta(seconds=delay))
    else:
        fields.update(status=TaskStatus.FAILED, finished_at=timezone.now())
    type(task).objects.filter(pk=task.pk, status=TaskStatus.RUNNING, claimed_at=task.claimed_at).update(**fields)
    for name, value in fields.items():
        setattr(task, name, value)
    return retry


def tasks_to_resume(model: type[DurableTask], *, grace: timedelta, limit: int = 100) -> list[int]:
    """Ids of tasks overdue by more than `grace` (their timer was lost) or whose claim outlived the lease."""
    now = timezone.now()
    return list(
        model.objects.filter(
            Q(status=TaskStatus.PENDING, run_after__lte=now - grace)
            | Q(status=TaskStatus.RUNNING, claimed_at__lt=now - LEASE)
        )
        .order_by("run_after")
        .values_list("pk", flat=True)[:limit]
    )
