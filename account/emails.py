"""Account emails, rendered from HTML + plain-text templates."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

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


def send_code_email(*, email: str, code: str, purpose: str) -> None:
    context = {"code": code, "ttl_minutes": settings.OTP_TTL_MINUTES}
    send_templated_email(to=email, subject=CODE_SUBJECTS[purpose], template=purpose, context=context)
