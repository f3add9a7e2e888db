"""The admin login lockout: the hooks django-axes calls (settings.py names them; DEPLOYMENT.md explains them).

axes records failed sign-ins to /admin/login/ in the database (an AccessAttempt row per address, client
address and browser) and refuses further ones, before any password is hashed, once one address or one
client address has too many within the cool-off. Only the admin site: the API login has its own throttles.

axes checks the count before the password is hashed and records the failure after, so attempts that overlap
would all pass the check: one attempt at a time is let in per address and per client address (a turn, held
in the shared cache), and one that finds either busy is refused as a paused one is.
"""

import hashlib
import ipaddress
import logging
import uuid

from axes import signals as axes_signals
from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.cache import cache
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from rest_framework.throttling import BaseThrottle

from account.models import address_key
from bookflow_api.errors import CACHE_ERRORS

logger = logging.getLogger(__name__)

SIGN_IN_TURN_SECONDS = 30  # a turn left by a process that died frees itself after this; a check takes < 1 s


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


def sign_in_turn_keys(address: str | None, ip: str | None) -> list[str]:
    """The cache keys of the turns an attempt needs: its address's and its client address's."""
    names = [f"address:{address}" if address else "", f"client:{ip}" if ip else ""]
    return [f"admin-sign-in-turn:{hashlib.sha256(name.encode()).hexdigest()}" for name in names if name]


def sign_in_turn_take(request: HttpRequest, credentials: dict | None) -> bool:
    """Take the turn of the attempt's address and of its client address, both or neither; False when another
    attempt holds either (or the cache cannot be reached). The request keeps what it took, for
    `sign_in_turn_end`. The shared cache is Redis with REDIS_URL; without it each process has its own."""
    if getattr(request, "admin_sign_in_turns", None):
        return True  # this request already holds its turn
    token, taken = uuid.uuid4().hex, []
    try:
        for key in sign_in_turn_keys(admin_login_address(request, credentials), client_ip(request)):
            if not cache.add(key, token, timeout=SIGN_IN_TURN_SECONDS):
                break
            taken.append(key)
        else:
            request.admin_sign_in_turns = (token, taken)
            return True
    except CACHE_ERRORS as exc:
        logger.error("The shared cache (REDIS_URL) is unreachable: admin sign-in refused: %s", exc)
    _give_back(token, taken)
    return False


def sign_in_turn_end(request: HttpRequest) -> None:
    """Give back the turns the request took, once its attempt has ended (its failure recorded, or its
    success reset)."""
    turns = getattr(request, "admin_sign_in_turns", None)
    if not turns:
        return
    token, taken = turns
    request.admin_sign_in_turns = None
    try:
        _give_back(token, taken)
    except CACHE_ERRORS as exc:  # the turns free themselves after SIGN_IN_TURN_SECONDS
        logger.error("The shared cache (REDIS_URL) is unreachable: admin sign-in turns not given back: %s", exc)


def _give_back(token: str, keys: list[str]) -> None:
    for key in keys:
        if cache.get(key) == token:  # not a turn taken by another attempt after this one's expired
            cache.delete(key)


class AdminLoginLockoutBackend(AxesStandaloneBackend):
    """First in AUTHENTICATION_BACKENDS: a locked-out admin sign-in stops here, before any password is hashed,
    and so does one that arrives while another for its address or client address is being checked (refused
    the same way). Every other sign-in passes untouched (the API login calls authenticate() without a
    request)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not is_admin_request(request):
            return None
        # The turn first, then axes' count: the attempt before has recorded its failure by the time it is given.
        if not sign_in_turn_take(request, {"username": username}):
            logger.warning("Admin sign-in refused: another for its address or client address is being checked.")
            request.axes_locked_out = True  # axes neither counts it nor hashes; AxesMiddleware answers 429
            raise AxesBackendPermissionDenied("Another sign-in for this address or client address is in flight")
        return super().authenticate(request, username, password, **kwargs)


class AdminSignInTurnMiddleware:
    """Gives back the sign-in turn an admin sign-in took once the view has answered, however it ended: a
    success, a failure, a refusal or an exception. Just before axes' middleware in MIDDLEWARE, around the view
    and everything the sign-in does (axes records the failure or resets the address within the view)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            sign_in_turn_end(request)


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
