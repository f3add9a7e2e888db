"""Worker jobs of the account app: plain functions, run by `manage.py scheduler` and testable without it."""

import logging
import os
import socket

from django.db.models import Max, Min, Q
from django.utils import timezone
from django_apscheduler.models import DjangoJobExecution

from account.models import OneTimeCode, WorkerHeartbeat
from bookflow_api.durable import tasks_resume

logger = logging.getLogger(__name__)

OTP_BATCH_SIZE = 10_000
JOB_EXECUTIONS_MAX_AGE_SECONDS = 7 * 24 * 60 * 60
WORKER_NAME = "scheduler"


def delete_otps(batch_size: int = OTP_BATCH_SIZE) -> int:
    """Delete expired and used one-time codes; return how many.

    Walks the primary key in ranges of `batch_size` ids, one `DELETE ... WHERE id BETWEEN ... AND (dead)`
    per range: each statement is a short index range scan and a short transaction, nothing is loaded
    into Python, and memory stays flat however many codes there are. Codes created while it runs wait
    for the next run.
    """
    now = timezone.now()
    dead = OneTimeCode.objects.filter(Q(expires_at__lte=now) | Q(consumed_at__isnull=False))
    bounds = OneTimeCode.objects.aggregate(first=Min("pk"), last=Max("pk"))
    deleted = 0
    if bounds["first"] is not None:
        for start in range(bounds["first"], bounds["last"] + 1, batch_size):
            # Nothing cascades from a code: Django deletes with one statement, no objects collected.
            deleted += dead.filter(pk__gte=start, pk__lt=start + batch_size).delete()[0]
    logger.info("Deleted %s expired or used one-time code(s).", deleted)
    return deleted


def delete_old_job_executions(max_age: int = JOB_EXECUTIONS_MAX_AGE_SECONDS) -> None:
    """Delete django-apscheduler's execution records older than `max_age` seconds (7 days)."""
    DjangoJobExecution.objects.delete_old_job_executions(max_age)


def heartbeat() -> WorkerHeartbeat:
    """Record that the worker is alive (read by /api/health/ and the admin)."""
    defaults = {"last_seen": timezone.now(), "hostname": socket.gethostname()[:255], "pid": os.getpid()}
    beat, _ = WorkerHeartbeat.objects.update_or_create(name=WORKER_NAME, defaults=defaults)
    return beat


def worker_status() -> dict:
    beat = WorkerHeartbeat.objects.filter(name=WORKER_NAME).first()
    if beat is None:
        return {"last_seen": None, "alive": False}
    return {"last_seen": beat.last_seen, "alive": beat.is_alive}


def resume_stale_tasks() -> int:
    """Run every registered kind of one-off task whose timer was lost or whose run died mid-way; fail those
    whose every run died (refunding summaries' readers); return how many were picked up."""
    return tasks_resume()
