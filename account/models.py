import contextlib

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now

from bookflow_api.durable import DurableTask


def normalize_email(email: str) -> str:
    """The one spelling of an address we store and look up: trimmed, lower-cased, and the domain in its
    IDNA (punycode) form, the form mail is delivered to — so `a@ｅxample.com` and `a@exa\u00admple.com`
    (a full-width letter, an invisible soft hyphen) are `a@example.com`, not new addresses."""
    local, at, domain = email.strip().lower().rpartition("@")
    if not at:
        return domain
    with contextlib.suppress(UnicodeError):  # not a valid international domain: validation rejects it
        domain = domain.encode("idna").decode("ascii").lower()
    return f"{local}@{domain}"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("Users must have an email address.")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True, is_verified=True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, email: str) -> "User":
        return self.get(email=normalize_email(email))


class Plan(models.TextChoices):
    FREE = "free", "Free"
    BASIC = "basic", "Basic"
    PREMIUM = "premium", "Premium"
    SCHOLAR = "scholar", "Scholar"


class User(AbstractBaseUser, PermissionsMixin):
    """A reader (or an admin); the email address is the login."""

    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    interests = models.JSONField(default=list, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    avatar = models.ImageField(upload_to="avatars/", blank=True)
    is_verified = models.BooleanField(default=False)
    plan = models.CharField(max_length=10, choices=Plan.choices, default=Plan.FREE)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="account_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email


class OneTimeCode(models.Model):
    """A 6-digit code sent by email; only its keyed hash is stored."""

    class Purpose(models.TextChoices):
        VERIFY_EMAIL = "verify_email", "Verify email"
        RESET_PASSWORD = "reset_password", "Reset password"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="one_time_codes")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    # Set when the code is used or replaced by a newer one; either way it no longer works.
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "purpose", "-created_at"]),
            models.Index(fields=["expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} code for {self.user}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= now()


class EmailTask(DurableTask):
    """An email to send off the request path; a code email creates its code only when it is sent."""

    class Kind(models.TextChoices):
        VERIFY_EMAIL = "verify_email", "Verification code"
        RESET_PASSWORD = "reset_password", "Password reset code"
        TRIAL_STARTED = "trial_started", "Free trial started"
        TRIAL_ENDING = "trial_ending", "Free trial ending soon"
        TRIAL_ENDED = "trial_ended", "Free trial ended"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_tasks")
    kind = models.CharField(max_length=30, choices=Kind.choices)

    class Meta(DurableTask.Meta):
        indexes = [models.Index(fields=["status", "run_after"], name="account_email_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.user}"


class WorkerHeartbeat(models.Model):
    """The scheduler worker's pulse: its `heartbeat` job stamps this row every 30 seconds."""

    ALIVE_WITHIN_SECONDS = 90  # three missed beats and the worker counts as down

    name = models.CharField(max_length=50, primary_key=True)
    last_seen = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} on {self.hostname or '?'}"

    @property
    def is_alive(self) -> bool:
        return (now() - self.last_seen).total_seconds() <= self.ALIVE_WITHIN_SECONDS
