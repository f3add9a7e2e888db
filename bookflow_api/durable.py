"""Durable one-off tasks: the row is the task, a timer only says "look at row N now".

Whoever runs a task first claims it with one conditional UPDATE (pending -> running); a process that
loses the claim does nothing. A crashed run leaves the row `running` with an old `claimed_at`: after
the lease the worker's `resume_stale_tasks` claims it again.

Apps register their task kinds (`task_kind_register`, from `AppConfig.ready`): the model and the function that
runs one row. Scheduling, retries, restarts and the worker's resume all go through that registry, so a new
kind of task is one registration. The timer itself is installed by the web process (`timer_install`); where
there is none (the worker, a shell), a due row waits for `resume_stale_tasks`.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BACKOFF_BASE_SECONDS = 10
# A pending task this late lost its timer (its web process restarted): the worker runs it.
RESUME_GRACE = timedelta(seconds=30)


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


def _stale(now) -> Q:
    """Running, but its claim's lease ran out: the run died mid-way (a crash, a kill, a deploy)."""
    return Q(status=TaskStatus.RUNNING, claimed_at__lt=now - LEASE)


def task_claim(model: type[DurableTask], pk: int, *, stale: bool = False) -> DurableTask | None:
    """Claim the task if it is due (or, with `stale`, if its run died and it has attempts left); None if someone
    else has it."""
    now = timezone.now()
    due = Q(status=TaskStatus.PENDING, run_after__lte=now)
    if stale:
        due |= _stale(now) & Q(attempts__lt=model.max_attempts)
    claimed = model.objects.filter(due, pk=pk).update(
        status=TaskStatus.RUNNING, claimed_at=now, attempts=F("attempts") + 1
    )
    return model.objects.get(pk=pk) if claimed else None


def _record(task: DurableTask, fields: dict) -> bool:
    """Write the run's outcome only while this run still holds the claim; False (nothing written, here or in
    memory) when a later run took the task over."""
    mine = type(task).objects.filter(pk=task.pk, status=TaskStatus.RUNNING, claimed_at=task.claimed_at)
    if not mine.update(**fields):
        return False
    for name, value in fields.items():
        setattr(task, name, value)
    return True


def task_succeed(task: DurableTask, **fields) -> bool:
    """Record success; False if the claim was lost to a later run in the meantime (that run records its own)."""
    fields.update(status=TaskStatus.READY, finished_at=timezone.now(), error_code="", error_detail="")
    return _record(task, fields)


def task_retry_or_fail(task: DurableTask, *, code: str, detail: str, transient: bool = True) -> bool:
    """Put a transiently failed task back with exponential backoff (its timer set), or fail it (after its last
    attempt, or at once when the error is permanent). True if it will run again; the task's `status` says what
    was recorded (still `running`: nothing, the claim was lost)."""
    retry = transient and task.attempts < task.max_attempts
    fields = {"error_code": code, "error_detail": detail[:2000], "claimed_at": None}
    if retry:
        delay = BACKOFF_BASE_SECONDS * 2 ** (task.attempts - 1)
        fields.update(status=TaskStatus.PENDING, run_after=timezone.now() + timedelta(seconds=delay))
    else:
        fields.update(status=TaskStatus.FAILED, finished_at=timezone.now())
    if not (_record(task, fields) and retry):
        return False
    _schedule_at(task, task.run_after)
    return True


def task_defer(task: DurableTask, *, until: datetime, code: str, detail: str) -> bool:
    """Put a claimed task back to wait until `until` (its timer set) without spending an attempt: it could not
    start (a daily budget is spent), which is no failure of its own. False if the claim was lost to a later run."""
    fields = {
        "status": TaskStatus.PENDING,
        "run_after": until,
        "claimed_at": None,
        "attempts": max(task.attempts - 1, 0),
        "error_code": code,
        "error_detail": detail[:2000],
    }
    if not _record(task, fields):
        return False
    _schedule_at(task, until)
    return True


def tasks_to_resume(model: type[DurableTask], *, grace: timedelta, limit: int = 100) -> list[int]:
    """Ids of tasks overdue by more than `grace` (their timer was lost) or whose run died with attempts left."""
    now = timezone.now()
    return list(
        model.objects.filter(
            Q(status=TaskStatus.PENDING, run_after__lte=now - grace) | _stale(now) & Q(attempts__lt=model.max_attempts)
        )
        .order_by("run_after")
        .values_list("pk", flat=True)[:limit]
    )


def tasks_abandon(model: type[DurableTask], *, limit: int = 100) -> list[int]:
    """Fail the tasks whose every allowed run died mid-way (a task that kills its process must not run, and
    cost, forever); return the ids this call failed."""
    now = timezone.now()
    dead = model.objects.filter(_stale(now), attempts__gte=model.max_attempts)
    abandoned = []
    for pk in dead.values_list("pk", flat=True)[:limit]:
        fields = {"status": TaskStatus.FAILED, "claimed_at": None, "finished_at": now, "error_code": "abandoned"}
        detail = f"Each of its {model.max_attempts} runs stopped before it finished (a crash or a kill)."
        if dead.filter(pk=pk).update(**fields, error_detail=detail):
            abandoned.append(pk)
    return abandoned


# --- Task kinds, timers and the worker's resume ---------------------------------------------------------


@dataclass(frozen=True)
class TaskKind:
    model: type[DurableTask]
    run: Callable[..., None]  # run(pk, *, stale=False)
    abandoned: Callable[[int], None] | None = None  # after tasks_abandon failed row `pk`


TASK_KINDS: dict[type[DurableTask], TaskKind] = {}
_timer: Callable[..., None] | None = None


def task_kind_register(model: type[DurableTask], run: Callable[..., None], *, abandoned=None) -> None:
    """Make `model` a durable task kind run by `run(pk, stale=...)` (called from the owning app's ready())."""
    TASK_KINDS[model] = TaskKind(model=model, run=run, abandoned=abandoned)


def timer_install(run_later: Callable[..., None]) -> None:
    """The web process's timer: `run_later(func, *args, delay=seconds)` (books/scheduler.py installs it)."""
    global _timer
    _timer = run_later


def run_later(func: Callable, *args, delay: float = 0) -> None:
    """Run `func(*args)` in `delay` seconds on this process's timer; without one the worker picks it up."""
    if _timer is None:
        logger.info("No background scheduler here: %s%r waits for the worker.", func.__name__, args)
        return
    _timer(func, *args, delay=delay)


def run_after_commit(func: Callable, *args, delay: float = 0) -> None:
    """Set the timer once the current transaction commits, so the task always sees its row."""
    transaction.on_commit(lambda: run_later(func, *args, delay=delay), robust=True)


def task_schedule(task: DurableTask, *, delay: float = 0) -> None:
    """Run this (new or restarted) task `delay` seconds after the current transaction commits."""
    run_after_commit(TASK_KINDS[type(task)].run, task.pk, delay=delay)


def _schedule_at(task: DurableTask, when: datetime) -> None:
    kind = TASK_KINDS.get(type(task))
    if kind is not None:
        run_later(kind.run, task.pk, delay=max((when - timezone.now()).total_seconds(), 0))


def task_restart(model: type[DurableTask], pk: int, *, delay: float = 0, only_if: Q | None = None, **fields) -> bool:
    """Give a failed task a fresh set of attempts in `delay` seconds (with `only_if`, only when the row also
    matches it), setting `fields` too; its timer is set after commit. One conditional UPDATE: of callers racing
    to restart it, one does. False when it was not failed (or not `only_if`)."""
    now = timezone.now()
    restarted = model.objects.filter(only_if or Q(), pk=pk, status=TaskStatus.FAILED).update(
        status=TaskStatus.PENDING,
        attempts=0,
        run_after=now + timedelta(seconds=delay),
        claimed_at=None,
        error_code="",
        error_detail="",
        finished_at=None,
        **fields,
    )
    if restarted:
        run_after_commit(TASK_KINDS[model].run, pk, delay=delay)
    return bool(restarted)


def tasks_resume(*, grace: timedelta = RESUME_GRACE) -> int:
    """The worker's `resume_stale_tasks`: run every kind's tasks whose timer was lost or whose run died mid-way;
    fail those whose every run died (telling the kind); return how many were picked up."""
    resumed = 0
    for kind in TASK_KINDS.values():
        for task_id in tasks_to_resume(kind.model, grace=grace):
            kind.run(task_id, stale=True)
            resumed += 1
        for task_id in tasks_abandon(kind.model):
            logger.error("%s %s abandoned: each of its runs died before it finished.", kind.model.__name__, task_id)
            if kind.abandoned is not None:
                kind.abandoned(task_id)
    if resumed:
        logger.info("Resumed %s stale task(s).", resumed)
    return resumed
