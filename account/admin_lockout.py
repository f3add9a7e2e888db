"""The admin login lockout: the hooks django-axes calls (settings.py names them; DEPLOYMENT.md explains them).

axes records failed sign-ins to /admin/login/ in the database (an AccessAttempt row per address, client
address and browser) and refuses further ones, before any password is hashed, once one address or one
client address has too many within the cool-off. Only the admin site: the API login has its own throttles.
"""

import ipaddress

from axes import signals as axes_signals
from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from rest_framework.throttling import BaseThrottle

from account.models import address_key


def is_admin_request(request: HttpRequest | None) -> bool:
    return request is not None and request.path.startswith(reverse("admin:index"))


def admin_login_address(request: HttpRequest, credentials: dict | None) -> str | None:
    """The address an attempt counts against, spelt as accounts are looked up (`Staff@Example.com` is
    `staff@example.com`), so case variants share one count."""
    username = credentials.get("username") if credentials else request.POST.get("username")
    return address_key(username)[:255] if username else None


def client_ip(request: HttpRequest) -> str | None:
    """The client address by the API throttles' rule (REST_FRAMEWORK's NUM_PROXIES): with no proxy the peer,
    whatever X-Forwarded-For claims; behind Render's one proxy the entry that proxy appended."""
    for candidate in (BaseThrottle().get_ident(request), request.META.get("REMOTE_ADDR")):
        try:
            return str(ipaddress.ip_address((candidate or "").strip()))
        except ValueError:
            continue
    return None


def _failures(attempts: QuerySet) -> int:
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class AdminLoginLockoutHandler(AxesDatabaseHandler):
    """axes' database handler with two limits where axes has one: ADMIN_LOGIN_FAILURE_LIMIT failures for one
    address (AXES_FAILURE_LIMIT) or ADMIN_LOGIN_IP_FAILURE_LIMIT from one client address. A success resets
    its address only."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """What axes compares with AXES_FAILURE_LIMIT: the address's recent failures or, once the client address
        has reached its own (never lower) limit, the client's."""
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        by_address = _failures(recent.filter(username=get_client_username(request, credentials)))
        by_client = _failures(recent.filter(ip_address=request.axes_ip_address))
        return by_client if by_client >= settings.ADMIN_LOGIN_IP_FAILURE_LIMIT else by_address

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """What a successful sign-in clears (AXES_RESET_ON_SUCCESS): the failures of its address, from every
        client address, and nothing else. axes would also delete every failure from the client address, so a
        staff member could sign in as themselves between guesses at another address (or lift its pause)."""
        address = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=address).delete() if address else (0, {})
        return count


class AdminLoginLockoutBackend(AxesStandaloneBackend):
    """First in AUTHENTICATION_BACKENDS: a locked-out admin sign-in stops here, before any password is hashed.
    Every other sign-in passes untouched (the API login calls authenticate() without a request)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not is_admin_request(request):
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """429 with the same page whether or not the account exists."""
    minutes = settings.ADMIN_LOGIN_COOLOFF_MINUTES
    context = {"title": "Sign-in paused", "minutes": minutes}
    response = render(request, "account/admin_login_locked.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def _admin_only(receiver):
    def forward(sender, request=None, **kwargs):
        if is_admin_request(request):
            receiver(sender, request=request, **kwargs)

    return forward


def hear_admin_sign_ins_only() -> None:
    """axes listens to every sign-in signal; let it hear the admin site's only. The API login neither counts
    nor gets blocked (and, sending no request, would log an axes error per failure), nor do test clients."""
    for signal, receiver in [
        (user_login_failed, axes_signals.handle_user_login_failed),
        (user_logged_in, axes_signals.handle_user_logged_in),
        (user_logged_out, axes_signals.handle_user_logged_out),
    ]:
        signal.disconnect(receiver)
        signal.connect(_admin_only(receiver), weak=False, dispatch_uid=f"admin-only-{receiver.__name__}")
