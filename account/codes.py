"""One-time codes: 6 digits from `secrets`, stored only as a keyed hash, issued when their email is sent."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from account.models import OneTimeCode, User


def code_hash(*, user_id: int, purpose: str, code: str) -> str:
    # Keyed with SECRET_KEY: a leaked table alone does not let anyone brute-force the codes.
    return salted_hmac("account.OneTimeCode", f"{user_id}:{purpose}:{code}", algorithm="sha256").hexdigest()


def code_issue(*, user: User, purpose: str) -> str:
    """Create a fresh code for `purpose`, void the previous ones, and return it in clear (once)."""
    now = timezone.now()
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        OneTimeCode.objects.filter(user=user, purpose=purpose, consumed_at__isnull=True).update(consumed_at=now)
        OneTimeCode.objects.create(
            user=user,
            purpose=purpose,
            code_hash=code_hash(user_id=user.pk, purpose=purpose, code=code),
            created_at=now,
            expires_at=now + timedelta(minutes=settings.OTP_TTL_MINUTES),
        )
    return code
