"""Account writes: registration, one-time codes, passwords, tokens."""

import hashlib

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.models import update_last_login
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework import status
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from account.avatars import InvalidAvatar, avatar_process
from account.codes import code_hash
from account.emails import email_enqueue
from account.models import OneTimeCode, User, normalize_email
from account.signals import email_verified
from account.throttles import code_send_allowed
from bookflow_api.errors import ApplicationError

Purpose = OneTimeCode.Purpose

INVALID_CODE = ApplicationError("invalid_code", "The code is not valid. Check the latest email we sent you.")
TOO_MANY_ATTEMPTS = ApplicationError("too_many_attempts", "Too many wrong codes. Ask for a new one.")
ABSENT_CODE_MEMORY_SECONDS = 24 * 60 * 60
AVATARS_NOT_CONFIGURED = ApplicationError(
    "avatars_not_configured",
    "Avatars cannot be uploaded to this server yet: it has no image storage configured.",
    status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
)


def _user_by_email(email: str) -> User | None:
    return User.objects.filter(email=normalize_email(email), is_active=True).first()


def _validate_new_password(password: str, user: User | None) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ApplicationError("weak_password", exc.messages[0], errors={"password": list(exc.messages)}) from exc


def _attempts_of_address(*, purpose: str, email: str) -> int:
    """Count a guess against the address itself, whether or not it has an account or a live code.

    Kept in the cache for a day, so an address without a live code (unknown, verified, its code used up
    or deleted by the nightly clean-up) runs out of tries exactly like a real account's code, and the
    answers never tell whether an account exists. A new code (or, for an unknown address, a "new code")
    starts it again.
    """
    key = "otp:absent:" + hashlib.sha256(f"{purpose}:{normalize_email(email)}".encode()).hexdigest()
    cache.add(key, 0, timeout=ABSENT_CODE_MEMORY_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=ABSENT_CODE_MEMORY_SECONDS)
        return 1


def _attempts_forget(*, purpose: str, email: str) -> None:
    cache.delete("otp:absent:" + hashlib.sha256(f"{purpose}:{normalize_email(email)}".encode()).hexdigest())


def code_check(*, user: User | None, email: str, purpose: str, code: str) -> None:
    """Consume the user's latest code for `purpose` if `code` matches it, else raise why not.

    Every guess counts first, then the code is compared, and only the right code reports `code_expired`:
    a wrong guess answers the same for known and unknown addresses.
    """
    otp = None
    if user is not None:
        otp = (
            OneTimeCode.objects.filter(user=user, purpose=purpose, consumed_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
    # Every guess counts against the address too: once the nightly clean-up deletes a real account's spent
    # code, its address answers exactly as an unknown one that took the same guesses.
    tries = _attempts_of_address(purpose=purpose, email=email)
    if otp is None:
        if tries > settings.OTP_MAX_ATTEMPTS:
            raise TOO_MANY_ATTEMPTS
        raise INVALID_CODE
    # Count the try before comparing, in one conditional UPDATE, so parallel guesses cannot exceed the limit.
    counted = OneTimeCode.objects.filter(pk=otp.pk, attempts__lt=settings.OTP_MAX_ATTEMPTS).update(
        attempts=F("attempts") + 1
    )
    if not counted:
        raise TOO_MANY_ATTEMPTS
    expected = code_hash(user_id=user.pk, purpose=purpose, code=code)
    if not constant_time_compare(expected, otp.code_hash):
        raise INVALID_CODE
    if otp.is_expired:
        raise ApplicationError("code_expired", "This code has expired. Ask for a new one.")
    used = OneTimeCode.objects.filter(pk=otp.pk, consumed_at__isnull=True).update(consumed_at=timezone.now())
    if not used:
        raise INVALID_CODE


def user_register(
    *, email: str, password: str, first_name: str = "", last_name: str = "", timezone_name: str = "UTC"
) -> User:
    """Create an unverified account and email it a verification code."""
    email = normalize_email(email)
    taken = ApplicationError(
        "email_taken",
        "An account with this email already exists. Log in or reset your password.",
        errors={"email": ["An account with this email already exists."]},
    )
    if User.objects.filter(email=email).exists():
        raise taken
    user = User(email=email, first_name=first_name, last_name=last_name, timezone=timezone_name)
    _validate_new_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            email_enqueue(user=user, kind=Purpose.VERIFY_EMAIL)  # its code is issued when it is sent
    except IntegrityError as exc:
        raise taken from exc
    code_send_allowed(email)  # the first code counts: the address's cooldown and daily cap start now
    return user


def email_verify(*, email: str, code: str) -> User:
    """Mark the account verified when `code` is its current verification code."""
    user = _user_by_email(email)
    if user is not None and user.is_verified:
        user = None  # answer exactly as for an unknown address
    code_check(user=user, email=email, purpose=Purpose.VERIFY_EMAIL, code=code)
    with transaction.atomic():
        _mark_verified(user)
        user.save(update_fields=["is_verified"])
    update_last_login(None, user)
    return user


def _mark_verified(user: User) -> None:
    """The address is proven: a first verification tells the apps (books schedules the free trial)."""
    if not user.is_verified:
        user.is_verified = True
        email_verified.send(sender=User, user=user)


def code_resend(*, email: str, purpose: str) -> None:
    """Send a new code if the account exists and needs one and the address is within its limits; say nothing
    either way, so every address gets the same answer whatever its state."""
    if not code_send_allowed(email):
        return  # in its cooldown or past its daily cap: the earlier code stays valid
    # A new code (for an address without one, a "new code"): the address gets fresh tries either way.
    _attempts_forget(purpose=purpose, email=email)
    user = _user_by_email(email)
    if user is None or (purpose == Purpose.VERIFY_EMAIL and user.is_verified):
        return
    with transaction.atomic():
        email_enqueue(user=user, kind=purpose)


def user_login(*, email: str, password: str) -> User:
    """Return the user for these credentials, or raise `invalid_credentials` / `email_not_verified`."""
    user = authenticate(username=normalize_email(email), password=password)
    if user is None:
        raise ApplicationError(
            "invalid_credentials", "Email or password is incorrect.", status_code=status.HTTP_401_UNAUTHORIZED
        )
    if not user.is_verified:
        raise ApplicationError(
            "email_not_verified",
            "Verify your email address first; we can send you a new code.",
            status_code=status.HTTP_403_FORBIDDEN,
        )
    update_last_login(None, user)
    return user


def tokens_for_user(user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def tokens_revoke_all(*, user: User) -> None:
    """Blacklist every refresh token the user still holds."""
    live = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=token) for token in live], ignore_conflicts=True)


def password_reset_confirm(*, email: str, code: str, new_password: str) -> User:
    """Set a new password with a reset code; every older session ends."""
    user = _user_by_email(email)
    # Judge the password against the address alone, never the stored account: the answer before the
    # code is checked must not depend on whether the account exists.
    _validate_new_password(new_password, User(email=normalize_email(email)))
    code_check(user=user, email=email, purpose=Purpose.RESET_PASSWORD, code=code)
    with transaction.atomic():
        user.set_password(new_password)
        # The code reached this inbox, which proves the address as well as verification would.
        _mark_verified(user)
        user.save(update_fields=["password", "is_verified"])
        tokens_revoke_all(user=user)
    update_last_login(None, user)
    return user


def password_change(*, user: User, current_password: str, new_password: str) -> dict[str, str]:
    """Change the password, end every other session, and return fresh tokens for this one."""
    if not user.check_password(current_password):
        raise ApplicationError(
            "invalid_password",
            "The current password is incorrect.",
            errors={"current_password": ["The current password is incorrect."]},
        )
    _validate_new_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        tokens_revoke_all(user=user)
    return tokens_for_user(user)


def user_update(*, user: User, data: dict) -> User:
    """Apply already-validated profile fields; an avatar that cannot be kept refuses the whole update."""
    if "avatar" in data:
        data = {**data, "avatar": _avatar_from_upload(data["avatar"])}
    old_avatar = user.avatar.name if "avatar" in data else ""
    for field, value in data.items():
        setattr(user, field, value)
    user.save(update_fields=list(data))
    if old_avatar and old_avatar != user.avatar.name:
        user.avatar.storage.delete(old_avatar)
    return user


def _avatar_from_upload(upload: UploadedFile) -> ContentFile:
    if not settings.AVATAR_UPLOADS_ENABLED:  # production without Cloudinary: the instance's disk is not kept
        raise AVATARS_NOT_CONFIGURED
    try:
        return avatar_process(upload)
    except InvalidAvatar as exc:
        raise ApplicationError("invalid", str(exc), errors={"avatar": [str(exc)]}) from exc


def user_delete(*, user: User, password: str) -> None:
    """Delete the account after re-checking the password."""
    if not user.check_password(password):
        raise ApplicationError(
            "invalid_password",
            "The password is incorrect.",
            errors={"password": ["The password is incorrect."]},
        )
    avatar = user.avatar.name
    storage = user.avatar.storage
    with transaction.atomic():
        tokens_revoke_all(user=user)
        user.delete()
        if avatar:
            transaction.on_commit(lambda: storage.delete(avatar), robust=True)


def token_logout(*, refresh: str) -> None:
    """Blacklist one refresh token; it cannot be used again."""
    try:
        RefreshToken(refresh).blacklist()
    except TokenError as exc:
        raise InvalidToken(exc.args[0]) from exc
