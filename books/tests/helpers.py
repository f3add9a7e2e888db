"""Helpers shared by books' tests: the recorded Google Books payloads, asking for summaries, and trial emails."""

import json
from datetime import timedelta
from pathlib import Path

from django.core import mail
from django.utils import timezone

from account.models import User
from bookflow_api.durable import TaskStatus
from books.models import Summary
from books.tests.factories import seed_book
from conftest import sign_up

DATA = Path(__file__).parent / "data"
BASE = "https://books.test/books/v1"  # where the tests' settings put Google Books (conftest.py)
HABITS = "habits00001"  # the `book` fixture's volume

STARTED = "Your BookFlow free trial has started"
ENDING = "Your BookFlow free trial ends soon"
ENDED = "Your BookFlow free trial has ended"


def payload(name: str) -> dict:
    """A recorded Google Books payload from tests/data."""
    return json.loads((DATA / name).read_text())


def unlock(client, volume_id: str = HABITS):
    """Ask for a book's summary as a reader does (unlocking it counts against their quota)."""
    return client.post(f"/api/v1/books/{volume_id}/summary/")


def summary_quota(client) -> dict:
    return client.get("/api/v1/account/subscription/").json()["quotas"]["summaries"]


def failed_summary(volume_id: str, **fields) -> Summary:
    """A summary whose every attempt failed two hours ago (its cool-off passed), its readers refunded."""
    fields = {"finished_at": timezone.now() - timedelta(hours=2), "failed_rounds": 1, **fields}
    return Summary.objects.create(
        book=seed_book(volume_id),
        status=TaskStatus.FAILED,
        attempts=4,
        error_code="provider_http_500",
        error_detail="Internal error",
        **fields,
    )


def row(summary_id: int) -> tuple:
    """A summary's task state: (status, attempts, run_after, error_code, error_detail, finished_at)."""
    s = Summary.objects.get(pk=summary_id)
    return (s.status, s.attempts, s.run_after, s.error_code, s.error_detail, s.finished_at)


def subjects(to: str) -> list[str]:
    """The subjects of every email `to` got, oldest first."""
    return [m.subject for m in mail.outbox if to in m.to]


def trial_mail(to: str) -> list[str]:
    """The subjects of the trial emails `to` got, oldest first."""
    return [m.subject for m in mail.outbox if to in m.to and "trial" in m.subject]


def delete_before_the_grant(api_client, tasks, *emails: str) -> None:
    """Sign up and verify each address, then delete the accounts before their grants run."""
    for email in emails:
        sign_up(api_client, email)
    User.objects.filter(email__in=emails).delete()
    tasks.run_all()  # each grant finds no account: failed, trial never started
