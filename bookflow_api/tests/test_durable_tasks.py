"""The durable-task rules on real rows: claims and their lease, lost claims, backoff, resuming lost timers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from account.models import EmailTask
from account.tasks import resume_stale_tasks
from account.tests.factories import UserFactory
from bookflow_api.durable import LEASE, TaskStatus, task_claim, task_retry_or_fail, task_succeed, tasks_to_resume
from books.models import Summary
from books.tests.factories import BookFactory
from conftest import CLOCK_START as START

pytestmark = pytest.mark.django_db


@pytest.fixture
def summary(clock, settings) -> Summary:
    settings.SUMMARY_PROVIDER = "offline"
    return Summary.objects.create(book=BookFactory())


def email_task() -> EmailTask:
    return EmailTask.objects.create(user=UserFactory(), kind=EmailTask.Kind.VERIFY_EMAIL)


def test_a_claimed_run_that_died_is_resumed_once_its_lease_has_passed_and_not_before(summary, clock):
    task_claim(Summary, summary.pk)  # ...and the process dies, leaving the row `running`

    clock.move_to(START + LEASE - timedelta(seconds=1))
    resumed_early = resume_stale_tasks()
    clock.move_to(START + LEASE + timedelta(seconds=1))
    resumed_after_the_lease = resume_stale_tasks()

    assert (resumed_early, resumed_after_the_lease) == (0, 1)
    summary.refresh_from_db()
    assert (summary.status, summary.attempts) == (TaskStatus.READY, 2)


def test_a_run_that_lost_its_claim_cannot_record_success_over_the_run_that_took_it(summary, clock):
    first = task_claim(Summary, summary.pk)
    clock.move_to(START + LEASE + timedelta(seconds=1))
    second = task_claim(Summary, summary.pk, stale=True)

    task_succeed(first, content={"written_by": "first"})
    summary.refresh_from_db()
    assert (summary.status, summary.content, summary.claimed_at) == (TaskStatus.RUNNING, None, second.claimed_at)

    task_succeed(second, content={"written_by": "second"})
    summary.refresh_from_db()
    assert (summary.status, summary.content) == (TaskStatus.READY, {"written_by": "second"})


def test_claiming_one_due_task_leaves_the_others_pending(clock):
    claimed, other = email_task(), email_task()

    task_claim(EmailTask, claimed.pk)

    other.refresh_from_db()
    assert (other.status, other.attempts, other.claimed_at) == (TaskStatus.PENDING, 0, None)


def test_a_task_put_back_after_a_transient_failure_is_not_run_before_its_backoff(clock):
    task = task_claim(EmailTask, email_task().pk)
    task_retry_or_fail(task, code="smtp_error", detail="Connection unexpectedly closed")
    task.refresh_from_db()
    assert (task.status, task.run_after) == (TaskStatus.PENDING, START + timedelta(seconds=10))

    clock.move_to(task.run_after - timedelta(seconds=1))
    too_early = task_claim(EmailTask, task.pk)
    clock.move_to(task.run_after)
    on_time = task_claim(EmailTask, task.pk)

    assert too_early is None
    assert (on_time.status, on_time.attempts) == (TaskStatus.RUNNING, 2)


def test_backoff_doubles_from_ten_seconds_and_the_last_attempt_fails_the_task(clock):
    task_id, delays = email_task().pk, []
    for _ in range(EmailTask.max_attempts - 1):
        task = task_claim(EmailTask, task_id)
        assert task_retry_or_fail(task, code="smtp_error", detail="down") is True
        delays.append((task.run_after - timezone.now()).total_seconds())
        clock.move_to(task.run_after)

    last = task_claim(EmailTask, task_id)
    will_run_again = task_retry_or_fail(last, code="smtp_error", detail="down")

    assert delays == [10, 20, 40]
    assert will_run_again is False
    last.refresh_from_db()
    assert (last.status, last.attempts, last.finished_at) == (TaskStatus.FAILED, 4, timezone.now())


def test_a_pending_task_is_resumed_only_once_it_is_overdue_by_more_than_the_grace(clock):
    task = email_task()  # due now; its timer is lost
    grace = timedelta(seconds=30)

    clock.move_to(START + grace - timedelta(seconds=1))
    within_grace = tasks_to_resume(EmailTask, grace=grace)
    clock.move_to(START + grace + timedelta(seconds=1))
    past_grace = tasks_to_resume(EmailTask, grace=grace)

    assert (within_grace, past_grace) == ([], [task.pk])


def test_a_task_whose_every_run_dies_is_failed_not_resumed_forever(summary, clock):
    reader = UserFactory()
    summary.unlocks.create(user=reader)
    task_claim(Summary, summary.pk)
    for _ in range(Summary.max_attempts):  # each run dies mid-way (a crash, a kill); the worker resumes it
        clock.move_to(timezone.now() + LEASE + timedelta(seconds=1), tick=False)
        task_claim(Summary, summary.pk, stale=True)

    resume_stale_tasks()

    summary.refresh_from_db()
    assert (summary.status, summary.error_code, summary.attempts) == ("failed", "abandoned", Summary.max_attempts)
    assert summary.unlocks.get().refunded_at is not None
    assert task_claim(Summary, summary.pk, stale=True) is None
