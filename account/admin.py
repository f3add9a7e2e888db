from axes.admin import AccessAttemptAdmin as BaseAccessAttemptAdmin
from axes.admin import AccessLogAdmin as BaseAccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.core.files.uploadedfile import UploadedFile
from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone
from django_apscheduler.admin import DjangoJobAdmin as BaseDjangoJobAdmin
from django_apscheduler.admin import DjangoJobExecutionAdmin as BaseDjangoJobExecutionAdmin
from django_apscheduler.models import DjangoJob, DjangoJobExecution
from rest_framework_simplejwt.token_blacklist.admin import BlacklistedTokenAdmin as BaseBlacklistedTokenAdmin
from rest_framework_simplejwt.token_blacklist.admin import OutstandingTokenAdmin as BaseOutstandingTokenAdmin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from account.avatars import InvalidAvatar, avatar_process
from account.models import EmailTask, OneTimeCode, Subscription, User, WorkerHeartbeat, normalize_email
from bookflow_api.durable import TASK_FIELDS


class NormalizedEmailMixin:
    """Store the address exactly as the API does (or refuse it as the API would), so an admin-made account
    can log in."""

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if self.instance.pk and email == self.instance.email:
            return email  # a row stored under older rules stays editable until its address is fixed
        return normalize_email(email)


class AdminUserCreationForm(NormalizedEmailMixin, UserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class AdminUserChangeForm(NormalizedEmailMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_avatar(self):
        """An avatar uploaded here is kept under the API's rules: measured, shrunk, stripped of metadata."""
        avatar = self.cleaned_data.get("avatar")
        if not isinstance(avatar, UploadedFile):  # unchanged, or cleared
            return avatar
        if not settings.AVATAR_UPLOADS_ENABLED:
            raise forms.ValidationError("Avatars need Cloudinary in production (see DEPLOYMENT.md).")
        try:
            return avatar_process(avatar)
        except InvalidAvatar as exc:
            raise forms.ValidationError(str(exc)) from exc


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows only the app writes: admins look at them (and may delete them), never add or edit them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# Third-party admins, re-registered as view-only: their rows are written by login/logout and by the worker.
admin.site.unregister([OutstandingToken, BlacklistedToken, DjangoJob, DjangoJobExecution])
admin.site.unregister([AccessAttempt, AccessLog, AccessFailureLog])  # axes' failure log is off: its page stays empty


@admin.register(OutstandingToken)
class OutstandingTokenAdmin(ViewOnlyAdmin, BaseOutstandingTokenAdmin):
    """Issued refresh tokens. simplejwt's admin shows each in full: anyone with admin access could sign in as a
    reader, so the token itself is never shown. (simplejwt allows "change" on GET only, so its page offered a
    Save button that answered 403.)"""

    exclude = ["token"]

    def get_readonly_fields(self, *args, **kwargs) -> list[str]:
        return [name for name in super().get_readonly_fields(*args, **kwargs) if name != "token"]


@admin.register(BlacklistedToken)
class BlacklistedTokenAdmin(ViewOnlyAdmin, BaseBlacklistedTokenAdmin):
    """Revoked refresh tokens (logout, rotation). Pointing an entry at another token would revoke that one and
    silently revive the first. Deleting an entry is how an admin revives its token."""


@admin.register(DjangoJob)
class DjangoJobAdmin(ViewOnlyAdmin, BaseDjangoJobAdmin):
    """The worker registers its jobs at start-up. The schedule lives in the pickled `job_state` (which a form
    cannot produce), so a hand-made job breaks the scheduler and an edited `next_run_time` disagrees with it;
    "Run the selected django jobs" still works."""


@admin.register(DjangoJobExecution)
class DjangoJobExecutionAdmin(ViewOnlyAdmin, BaseDjangoJobExecutionAdmin):
    """The log of job runs, written by the scheduler. (Its form could not even save a successful run: it requires
    `exception` and `traceback`, and offers no "Missed!" or "Max instances!" status.)"""


def _recent_failures(field: str) -> Subquery:
    """The failures still counting for the lockout of this row's address (or client address): all its rows'."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    same = AccessAttempt.objects.filter(attempt_time__gte=since, **{field: OuterRef(field)})
    return Subquery(same.values(field).annotate(total=Sum("failures_since_start")).values("total"))


@admin.register(AccessAttempt)
class AccessAttemptAdmin(ViewOnlyAdmin, BaseAccessAttemptAdmin):
    """Failed admin sign-ins, written by axes: one row per address, client address and browser. Deleting the rows
    behind a lockout lifts it at once (search the address or client address, select all, delete)."""

    list_display = ["attempt_time", "username", "ip_address", "failures_since_start", "locked_out", "user_agent"]
    list_filter = ["attempt_time"]
    actions = []  # axes' "clean up expired attempts" needs a request axes has seen; expired rows count for nothing

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(address_failures=_recent_failures("username"), client_failures=_recent_failures("ip_address"))
        )

    @admin.display(description="Locked out")
    def locked_out(self, attempt: AccessAttempt) -> str:
        locked = [
            name
            for name, failures, limit in [
                ("address", attempt.address_failures, settings.ADMIN_LOGIN_FAILURE_LIMIT),
                ("client address", attempt.client_failures, settings.ADMIN_LOGIN_IP_FAILURE_LIMIT),
            ]
            if (failures or 0) >= limit
        ]
        return " and ".join(locked) or "no"


@admin.register(AccessLog)
class AccessLogAdmin(ViewOnlyAdmin, BaseAccessLogAdmin):
    """Successful admin sign-ins and sign-outs, written by axes."""


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    ordering = ["-date_joined"]
    list_display = ["email", "first_name", "last_name", "plan", "is_verified", "is_staff", "date_joined", "last_login"]
    list_filter = ["plan", "is_verified", "is_staff", "is_superuser", "is_active", "date_joined"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["first_name", "last_name", "interests", "timezone", "avatar"]}),
        ("Status", {"fields": ["is_verified", "is_active", "plan", "date_joined", "last_login"]}),
        ("Permissions", {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    actions = []  # apps above account add theirs with user_action_register (books: "Grant a free trial")


def user_action_register(action) -> None:
    """An action on the readers' list from an app above account (called from that app's admin module)."""
    if action not in UserAdmin.actions:
        UserAdmin.actions = [*UserAdmin.actions, action]


@admin.register(Subscription)
class SubscriptionAdmin(ViewOnlyAdmin):
    """Written by the trial service (and, next, by payments): start, extend or end a trial from Books › Free trials
    or the users list, so the trial's own row, its emails and this one stay together."""

    list_display = ["user", "plan", "status", "trial_started_at", "trial_ends_at", "updated_at"]
    list_filter = ["status", "plan", "trial_ends_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]


@admin.register(OneTimeCode)
class OneTimeCodeAdmin(admin.ModelAdmin):
    """Read-only: admins see when codes were sent and used, never the code or its hash."""

    list_display = ["user", "purpose", "created_at", "expires_at", "attempts", "consumed_at"]
    list_filter = ["purpose", "created_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = ["user", "purpose", "created_at", "expires_at", "attempts", "consumed_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EmailTask)
class EmailTaskAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "status", "attempts", "error_code", "created_at", "finished_at"]
    list_filter = ["status", "kind", "created_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "kind", *TASK_FIELDS]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    """Is the scheduler worker alive? Its jobs and their runs are under "Django APScheduler"."""

    list_display = ["name", "alive", "last_seen", "hostname", "pid"]
    readonly_fields = ["name", "last_seen", "hostname", "pid"]

    @admin.display(boolean=True, description="Alive")
    def alive(self, beat: WorkerHeartbeat) -> bool:
        return beat.is_alive

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
