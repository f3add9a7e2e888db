"""The durable-task mechanism on real rows: a claim and its lease, a run that lost its claim, what success and
failure record, backoff, and what the worker resumes or abandons (and how much of it in one call)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from account.models import EmailTask
from account.tasks import resume_stale_tasks
from account.tests.factories import UserFactory
from bookflow_api.durable import (
    LEASE,
    TaskStatus,
    task_claim,
    task_retry_or_fail,
    task_succeed,
    tasks_abandon,
    tasks_to_resume,
)
from books.models import Summary
from books.tests.factories import BookFactory
from conftest import CLOCK_START as START

pytestmark = pytest.mark.django_db


@pytest.fixture
def summary(clock, settings) -> Summary:
    settings.SUMMARY_PROVIDER = "offline"
    return Summary.objects.create(book=BookFactory())


def email_task(**fields) -> EmailTask:
    return EmailTask.objects.create(user=UserFactory(), kind=EmailTask.Kind.VERIFY_EMAIL, **fields)


def email_tasks(count: int, **fields) -> None:
    user = UserFactory()
    EmailTask.objects.bulk_create(
        EmailTask(user=user, kind=EmailTask.Kind.VERIFY_EMAIL, **fields) for _ in range(count)
    )


def state(task) -> tuple:
    task.refresh_from_db()
    return (task.status, task.attempts)


# A claim and its lease.


def test_claiming_one_due_task_leaves_the_others_pending(clock):
    claimed, other = email_task(), email_task()

    task_claim(EmailTask, claimed.pk)

    other.refresh_from_db()
    assert (other.status, other.attempts, other.claimed_at) == (TaskStatus.PENDING, 0, None)


def test_a_claim_without_stale_never_takes_over_a_run_whose_lease_ran_out(clock):
    task = email_task()
    task_claim(EmailTask, task.pk)
    clock.move_to(START + LEASE + timedelta(seconds=1))

    assert task_claim(EmailTask, task.pk) is None
    assert state(task) == (TaskStatus.RUNNING, 1)


def test_a_claimed_run_that_died_is_resumed_once_its_lease_has_passed_and_not_before(summary, clock):
    task_claim(Summary, summary.pk)  # ...and the process dies, leaving the row `running`

    clock.move_to(START + LEASE - timedelta(seconds=1))
    resumed_early = resume_stale_tasks()
    clock.move_to(START + LEASE + timedelta(seconds=1))
    resumed_after_the_lease = resume_stale_tasks()

    assert (resumed_early, resumed_after_the_lease) == (0, 1)
    summary.refresh_from_db()
    assert (summary.status, summary.attempts) == (TaskStatus.READY, 2)


def test_a_finished_summary_is_never_resumed_or_abandoned_however_old_its_claim(clock, settings):
    settings.SUMMARY_PROVIDER = "offline"
    first_try, last_try = (Summary.objects.create(book=BookFactory(), attempts=n) for n in (0, 3))
    for summary in (first_try, last_try):
        task_succeed(task_claim(Summary, summary.pk), content={"written": True})
    clock.move_to(START + LEASE + timedelta(minutes=1))

    resumed = resume_stale_tasks()

    assert resumed == 0
    assert (state(first_try), state(last_try)) == ((TaskStatus.READY, 1), (TaskStatus.READY, 4))


# Recording the outcome of a run.


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


def test_a_run_that_lost_its_claim_is_told_its_outcome_was_not_recorded(clock):
    task_id = email_task().pk
    first = task_claim(EmailTask, task_id)
    clock.move_to(START + LEASE + timedelta(seconds=1))
    task_claim(EmailTask, task_id, stale=True)

    assert task_succeed(first) is False
    assert task_retry_or_fail(first, code="smtp_error", detail="down") is False


def test_recording_one_outcome_leaves_a_task_claimed_at_the_same_instant_alone(clock):
    first, second = email_task(), email_task()
    claimed_first, _ = task_claim(EmailTask, first.pk), task_claim(EmailTask, second.pk)

    task_succeed(claimed_first)

    assert (state(first), state(second)) == ((TaskStatus.READY, 1), (TaskStatus.RUNNING, 1))


def test_a_run_that_already_recorded_success_cannot_overwrite_it_with_a_failure(clock):
    task = task_claim(EmailTask, email_task().pk)
    task_succeed(task)

    recorded_again = task_retry_or_fail(task, code="smtp_error", detail="late", transient=False)

    assert recorded_again is False
    assert state(task) == (TaskStatus.READY, 1)


def test_success_records_when_it_finished_and_clears_the_earlier_error(clock):
    task = task_claim(EmailTask, email_task().pk)
    task_retry_or_fail(task, code="smtp_error", detail="Connection unexpectedly closed")
    clock.move_to(task.run_after)

    task_succeed(task_claim(EmailTask, task.pk))

    task.refresh_from_db()
    assert (task.status, task.finished_at, task.error_code, task.error_detail) == (
        TaskStatus.READY,
        task.run_after,
        "",
        "",
    )


def test_an_error_detail_is_kept_to_its_first_2000_characters(clock):
    task = task_claim(EmailTask, email_task().pk)

    task_retry_or_fail(task, code="smtp_error", detail="x" * 5000)

    task.refresh_from_db()
    assert len(task.error_detail) == 2000


# Retries with backoff.


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


# What the worker resumes, and what it abandons.


def test_a_pending_task_is_resumed_only_once_it_is_overdue_by_more_than_the_grace(clock):
    task = email_task()  # due now; its timer is lost
    grace = timedelta(seconds=30)

    clock.move_to(START + grace - timedelta(seconds=1))
    within_grace = tasks_to_resume(EmailTask, grace=grace)
    clock.move_to(START + grace + timedelta(seconds=1))
    past_grace = tasks_to_resume(EmailTask, grace=grace)

    assert (within_grace, past_grace) == ([], [task.pk])


def test_at_most_100_overdue_tasks_are_resumed_in_one_call(clock):
    email_tasks(101, run_after=START - timedelta(hours=1))

    resumed = tasks_to_resume(EmailTask, grace=timedelta(seconds=30))

    assert len(resumed) == 100


def test_a_dead_run_with_attempts_left_is_resumed_not_abandoned(clock):
    task = email_task()
    task_claim(EmailTask, task.pk)
    clock.move_to(START + LEASE + timedelta(seconds=1))

    assert tasks_abandon(EmailTask) == []
    assert state(task) == (TaskStatus.RUNNING, 1)


def test_a_last_attempt_still_inside_its_lease_is_not_abandoned(clock):
    task = email_task(attempts=3)
    task_claim(EmailTask, task.pk)
    clock.move_to(START + LEASE - timedelta(seconds=1))

    assert tasks_abandon(EmailTask) == []
    assert state(task) == (TaskStatus.RUNNING, 4)


def test_at_most_100_dead_tasks_are_abandoned_in_one_call(clock):
    email_tasks(101, status=TaskStatus.RUNNING, attempts=4, claimed_at=START - LEASE - timedelta(minutes=1))

    assert len(tasks_abandon(EmailTask)) == 100
    assert EmailTask.objects.filter(status=TaskStatus.RUNNING).count() == 1


def test_an_abandoned_task_says_why_instead_of_its_earlier_error(clock):
    task = email_task(attempts=3, error_code="smtp_error", error_detail="Connection unexpectedly closed")
    task_claim(EmailTask, task.pk)
    clock.move_to(START + LEASE + timedelta(seconds=1))

    assert tasks_abandon(EmailTask) == [task.pk]
    task.refresh_from_db()
    assert task.error_code == "abandoned"
    assert "stopped before it finished" in task.error_detail


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
