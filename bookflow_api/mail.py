"""The email backend of a production deployment that has no mail server configured."""

from smtplib import SMTPException

from django.core.mail.backends.base import BaseEmailBackend


class EmailNotConfigured(SMTPException):
    """Raised instead of sending: set MAIL_SMTP_PASSWORD (or EMAIL_BACKEND)."""


class NotConfiguredEmailBackend(BaseEmailBackend):
    """Refuses to send, loudly, rather than printing one-time codes to the production logs."""

    def send_messages(self, email_messages) -> int:
        if not email_messages:
            return 0
        raise EmailNotConfigured("No mail server is configured: set MAIL_SMTP_PASSWORD (or EMAIL_BACKEND).")
