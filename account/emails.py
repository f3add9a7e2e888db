"""Account emails, rendered from HTML + plain-text templates."""

import logging
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from account.codes import code_issue
from account.models import EmailTask, Subscription, User
from bookflow_api.durable import task_claim, task_retry_or_fail, task_schedule, task_succeed

logger = logging.getLogger(__name__)

CODE_SUBJECTS = {
    "verify_email": "Your BookFlow verification code",
    "reset_password": "Your BookFlow password reset code",
}


def send_templated_email(*, to: str, subject: str, template: str, context: dict) -> None:
    """Send `account/email/<template>.txt` with its `.html` twin as the alternative."""
    text = render_to_string(f"account/email/{template}.txt", context)
    html = render_to_string(f"account/email/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    message.send()
    logger.info("Sent %s email.", template)


TRIAL_SUBJECTS = {
    "trial_started": "Your BookFlow free trial has started",
    "trial_ending": "Your BookFlow free trial ends soon",
    "trial_ended": "Your BookFlow free trial has ended",
}


def send_trial_email(*, user: User, kind: str) -> None:
    subscription = Subscription.objects.filter(user=user).first()
    plan = subscription.plan if subscription else settings.FREE_TRIAL_PLAN
    started, ends = (subscription.trial_started_at, subscription.trial_ends_at) if subscription else (None, None)
    context = {
        "user": user,
        "trial": {"ends_at": ends},
        "plan": plan.capitalize(),
        "quota": settings.PLAN_QUOTAS.get(plan),
        "free_quota": settings.PLAN_QUOTAS["free"],
        "days": (ends - started).days if started and ends else settings.FREE_TRIAL_DAYS,
    }
    send_templated_email(to=user.email, subject=TRIAL_SUBJECTS[kind], template=kind, context=context)


def send_code_email(*, email: str, code: str, purpose: str) -> None:
    context = {"code": code, "ttl_minutes": settings.OTP_TTL_MINUTES}
    send_templated_email(to=email, subject=CODE_SUBJECTS[purpose], template=purpose, context=context)


def email_enqueue(*, user: User, kind: str) -> EmailTask:
    """Record the email as a durable task and send it right after the transaction commits."""
    task = EmailTask.objects.create(user=user, kind=kind)
    task_schedule(task)
    return task


def email_task_run(task_id: int, *, stale: bool = False) -> None:
    """The task: claim, send (a code email issues its code now, so no code is ever stored in clear), or retry."""
    task = task_claim(EmailTask, task_id, stale=stale)
    if task is None:
        return
    if task.kind in CODE_SUBJECTS and not task.user.is_active:
        task_retry_or_fail(task, code="account_inactive", detail="The account was deactivated.", transient=False)
        return
    try:
        if task.kind in CODE_SUBJECTS:
            code = code_issue(user=task.user, purpose=task.kind)
            send_code_email(email=task.user.email, code=code, purpose=task.kind)
        elif task.kind in TRIAL_SUBJECTS:
            send_trial_email(user=task.user, kind=task.kind)
    except (OSError, SMTPException) as exc:
        logger.warning("Email task %s attempt %s failed: %s", task_id, task.attempts, type(exc).__name__)
        task_retry_or_fail(task, code="smtp_error", detail=repr(exc))
        return
    task_succeed(task)
