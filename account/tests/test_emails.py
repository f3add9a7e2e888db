import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from account.models import EmailTask, OneTimeCode
from account.tasks import resume_stale_tasks
from bookflow_api import durable
from bookflow_api.durable import TaskStatus
from conftest import last_code

pytestmark = pytest.mark.django_db

BODY = {"email": "new@example.com", "password": "a-long-Reading-passphrase-42"}


@pytest.fixture
def smtp_down(monkeypatch):
    """The mail server refuses the next `n` messages."""
    failures = {"left": 0}
    real_send = mail.EmailMultiAlternatives.send

    def send(message, *args, **kwargs):
        if failures["left"] > 0:
            failures["left"] -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(mail.EmailMultiAlternatives, "send", send)
    return failures


def test_an_smtp_failure_does_not_fail_the_request_and_the_email_is_retried(api_client, tasks, smtp_down):
    smtp_down["left"] = 1

    response = api_client.post("/api/v1/auth/register/", BODY, format="json")
    sent_at_once = len(mail.outbox)
    tasks.run_all()

    assert response.status_code == 201
    assert sent_at_once == 0
    assert len(mail.outbox) == 1
    task = EmailTask.objects.get()
    assert (task.status, task.attempts) == (TaskStatus.READY, 2)
    verify = api_client.post("/api/v1/auth/verify-email/", {"email": BODY["email"], "code": last_code()}, format="json")
    assert verify.status_code == 200


def test_the_email_task_gives_up_after_its_last_attempt(api_client, tasks, smtp_down):
    smtp_down["left"] = 10

    api_client.post("/api/v1/auth/register/", BODY, format="json")
    tasks.run_all()

    task = EmailTask.objects.get()
    assert (task.status, task.error_code, task.attempts) == (TaskStatus.FAILED, "smtp_error", 4)
    assert mail.outbox == []


def test_codes_are_created_when_the_email_is_sent_and_never_stored_in_clear(api_client):
    api_client.post("/api/v1/auth/register/", BODY, format="json")

    otp = OneTimeCode.objects.get()
    assert last_code() not in otp.code_hash
    assert last_code() not in str(EmailTask.objects.values().get())


def test_an_email_whose_timer_was_lost_is_sent_by_resume_stale_tasks(api_client, monkeypatch, time_machine):
    monkeypatch.setattr(durable, "_timer", lambda *args, **kwargs: None)  # the web process dies first
    api_client.post("/api/v1/auth/register/", BODY, format="json")
    assert mail.outbox == []

    time_machine.move_to(timezone.now() + timedelta(seconds=31))
    resume_stale_tasks()

    assert len(mail.outbox) == 1
    assert EmailTask.objects.get().status == TaskStatus.READY
