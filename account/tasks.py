"""Worker jobs of the account app: plain functions, run by `manage.py scheduler` and testable without it."""

import logging
import os
import socket

from django.db.models import Q
from django.utils import timezone
from django_apscheduler.models import DjangoJobExecution

from account.models import OneTimeCode, WorkerHeartbeat

logger = logging.getLogger(__name__)

OTP_BATCH_SIZE = 5000
JOB_EXECUTIONS_MAX_AGE_SECONDS = 7 * 24 * 60 * 60
WORKER_NAME = "scheduler"


def delete_otps(batch_size: int = OTP_BATCH_SIZE) -> int:
    """Delete expired and used one-time codes, `batch_size` rows per statement; return how many.

    Memory stays constant however many rows there are: each batch is one query for at most `batch_size`
    ids and one DELETE, with no model instances and no cascade collection.
    """
    now = timezone.now()
    dead = OneTimeCode.objects.filter(Q(expires_at__lte=now) | Q(consumed_at__isnull=False))
    deleted = 0
    while True:
        ids = list(dead.values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        # Nothing cascades from a code, so Django deletes the batch with one DELETE ... WHERE id IN (...).
        deleted += OneTimeCode.objects.filter(pk__in=ids).delete()[0]
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
