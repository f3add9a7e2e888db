import re
from typing import NoReturn

import idna
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now

from bookflow_api.durable import DurableTask

ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
DOT_ATOM = re.compile(rf"{ATEXT}(?:\.{ATEXT})*", re.ASCII | re.IGNORECASE)
QUOTED_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


class AddressMessage:
    """Why an address is refused, each message saying what to write instead."""

    INVALID = "Enter a valid email address."
    TOO_LONG = "An email address can be at most 254 characters long, 64 of them before the @."
    QUOTED = (
        "Write the part before the @ without quotes. Addresses that need quotes (spaces, @, quotes and the like "
        "before the @) are not accepted."
    )
    LOCAL_PART = (
        "The part before the @ can use only letters a-z, digits, single dots between them and "
        "! # $ % & ' * + - / = ? ^ _ ` { | } ~"
    )
    IP_LITERAL = "Use a domain name after the @, not an IP address."
    SINGLE_LABEL = "Use a full domain name after the @, such as example.com."
    DOMAIN = "The part after the @ is not a valid domain name."


def _refuse(message: str) -> NoReturn:
    raise ValidationError(message, code="invalid")


def _local_part(local: str) -> str:
    """The dot-atom a local part stands for: quotes and quoted pairs resolved when they are needless."""
    quoted = QUOTED_STRING.fullmatch(local)
    if quoted:
        # RFC 5321: "alice" and "al\ice" name the mailbox alice; only needless quotes can go.
        local = QUOTED_PAIR.sub(r"\1", quoted[1])
        if not DOT_ATOM.fullmatch(local):
            _refuse(AddressMessage.QUOTED)
    elif not DOT_ATOM.fullmatch(local):
        _refuse(AddressMessage.QUOTED if '"' in local else AddressMessage.LOCAL_PART)
    if len(local) > 64:
        _refuse(AddressMessage.TOO_LONG)
    return local.lower()


def _domain(domain: str) -> str:
    """The domain's A-label form under IDNA 2008 with UTS #46 mapping (what mail is delivered to)."""
    if domain.startswith("["):
        _refuse(AddressMessage.IP_LITERAL)
    try:
        # Non-transitional: straße.de stays its own domain (IDNA 2003 made it strasse.de); the mapping still
        # folds case, full-width letters and drops invisible soft hyphens.
        domain = idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except UnicodeError:  # idna.IDNAError included
        _refuse(AddressMessage.DOMAIN)
    if all(label.isdigit() for label in domain.split(".")):  # 127.0.0.1 without the brackets
        _refuse(AddressMessage.IP_LITERAL)
    if "." not in domain:
        _refuse(AddressMessage.SINGLE_LABEL)
    return domain


def normalize_email(email: str) -> str:
    """The one spelling of an address we store and look up, or ValidationError (code `invalid`) for a form
    that names no single public mailbox.

    Trimmed; the part before the @ lower-cased and unquoted when its quotes are needless (`"alice"` is
    `alice`), refused when they are not; the domain in IDNA 2008 A-label form, so `a@ｅxample.com` and
    `a@exa\u00admple.com` are `a@example.com` while `x@straße.de` is `x@xn--strae-oqa.de`. IP literals,
    single-label domains and invalid international domains are refused. Normalising twice changes nothing.
    """
    email = email.strip()
    if len(email) > 320:  # generous before mapping; the stored form is checked against 254 below
        _refuse(AddressMessage.TOO_LONG)
    local, at, domain = email.rpartition("@")
    if not (at and local and domain):
        _refuse(AddressMessage.INVALID)
    address = f"{_local_part(local)}@{_domain(domain)}"
    if len(address) > 254:
        _refuse(AddressMessage.TOO_LONG)
    EmailValidator(message=AddressMessage.INVALID, allowlist=[])(address)  # e.g. a numeric or one-letter TLD
    return address


def address_key(email: str) -> str:
    """`normalize_email`'s spelling, or for a form it refuses (text not validated yet, a row stored under
    older rules) the trimmed, lower-cased text: a key for limits and trials that never fails."""
    try:
        return normalize_email(email)
    except ValidationError:
        return email.strip().lower()


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
        try:
            email = normalize_email(email)
        except ValidationError:  # a refused form names no account (admin login, createsuperuser)
            raise self.model.DoesNotExist from None
        return self.get(email=email)


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

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        # A reader authenticated on the lean path has only their id: the first field read loads the whole row,
        # in one query, instead of one query per field (Django's way with deferred fields).
        if fields and getattr(self, "load_whole_row_on_first_access", False):
            self.load_whole_row_on_first_access = False
            fields = [field.attname for field in self._meta.concrete_fields]
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)


class Subscription(models.Model):
    """What a reader is subscribed to beyond `free`: today the free trial (`trialing`, then `expired`), written by
    the trial service in books through account/subscriptions.py. The plan in force is `User.plan`."""

    class Status(models.TextChoices):
        TRIALING = "trialing", "Trialing"
        EXPIRED = "expired", "Trial ended"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="subscription")
    plan = models.CharField(max_length=10, choices=Plan.choices, help_text="The subscribed plan (the trial's).")
    status = models.CharField(max_length=20, choices=Status.choices)
    trial_started_at = models.DateTimeField(null=True, blank=True)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.plan} ({self.status})"


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
