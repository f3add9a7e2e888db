"""Rate limits, kept in the shared cache (Redis when REDIS_URL is set, so they hold across processes).

Per-address limits apply whether or not an account exists, so a 429 tells nothing about who is a reader.
The code-email limits of an address never answer 429 at all (`code_send_allowed`): a code just sent
to a real reader would otherwise set it apart from an unknown address.
"""

import hashlib

from rest_framework.throttling import SimpleRateThrottle

from account.models import address_key


class AtomicRateThrottle(SimpleRateThrottle):
    """N requests per window, counted with the cache's atomic `add` + `incr`.

    DRF's own throttle reads a history, decides, then writes it back: parallel requests all read the
    same history and all pass. Here each request takes a number; only the first N of a window pass.
    The window opens with the first request and lasts the rate's period.
    """

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        return self.count(self.key) <= self.num_requests

    def count(self, key: str) -> int:
        now = self.timer()
        if self.cache.add(key, 0, self.duration):
            self.cache.set(f"{key}:start", now, self.duration)
        try:
            return self.cache.incr(key)
        except ValueError:  # the window closed between add and incr: open a new one
            self.cache.set(key, 1, self.duration)
            self.cache.set(f"{key}:start", now, self.duration)
            return 1

    def wait(self) -> float:
        started = self.cache.get(f"{self.key}:start")
        if started is None:
            return float(self.duration)
        return max(self.duration - (self.timer() - started), 1.0)


class IPThrottle(AtomicRateThrottle):
    """Limit by client address, signed in or not."""

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class EmailThrottle(AtomicRateThrottle):
    """Limit by the email address in the request body (hashed: no addresses in the cache)."""

    @classmethod
    def cache_key_for(cls, email: str) -> str:
        # Counted before validation: `"alice"@example.com` and `alice@example.com` share one count. surrogatepass:
        # a lone surrogate sent as \ud800 must not crash the throttle before validation refuses it.
        digest = hashlib.sha256(address_key(email).encode(errors="surrogatepass")).hexdigest()
        return cls.cache_format % {"scope": cls.scope, "ident": digest}

    def get_cache_key(self, request, view) -> str | None:
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        return self.cache_key_for(email)

    @classmethod
    def allows(cls, email: str) -> bool:
        """Count a request for `email` made outside a view's throttles; True while within the rate."""
        throttle = cls()
        return throttle.count(cls.cache_key_for(email)) <= throttle.num_requests


class UserThrottle(AtomicRateThrottle):
    def get_cache_key(self, request, view) -> str | None:
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}

    @classmethod
    def allows(cls, user_id: int) -> bool:
        """Count one use by this reader made outside a view's throttles; True while within the rate."""
        throttle = cls()
        return throttle.count(cls.cache_format % {"scope": cls.scope, "ident": user_id}) <= throttle.num_requests


class RegisterIPThrottle(IPThrottle):
    scope = "register_ip"


class LoginIPThrottle(IPThrottle):
    scope = "login_ip"


class LoginEmailThrottle(EmailThrottle):
    scope = "login_email"


class CodeCheckIPThrottle(IPThrottle):
    scope = "code_check_ip"


class CodeCheckEmailThrottle(EmailThrottle):
    scope = "code_check_email"


class CodeSendIPThrottle(IPThrottle):
    scope = "code_send_ip"


class CodeSendEmailThrottle(EmailThrottle):
    """The resend cooldown: one code a minute per address."""

    scope = "code_send_email"


class CodeSendEmailDailyThrottle(EmailThrottle):
    """The daily cap of codes per address."""

    scope = "code_send_email_daily"


class PasswordUserThrottle(UserThrottle):
    scope = "password_user"


class AvatarUploadThrottle(UserThrottle):
    """Profile updates that carry a file (an avatar to decode), per reader."""

    scope = "avatar_user"


def code_send_allowed(email: str) -> bool:
    """Count a code email to `email` against its cooldown, then its daily cap; False past either.

    Asked for every address, known or not, and the caller answers the same either way: nothing is sent
    during the cooldown (the earlier code stays valid) and nothing past the cap.
    """
    return CodeSendEmailThrottle.allows(email) and CodeSendEmailDailyThrottle.allows(email)


CODE_CHECK_THROTTLES = [CodeCheckIPThrottle, CodeCheckEmailThrottle]
