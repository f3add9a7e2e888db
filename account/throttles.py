"""Rate limits for the auth endpoints, kept in the shared cache (Redis when REDIS_URL is set).

Per-address limits apply whether or not an account exists, so a 429 tells nothing about who is a reader.
"""

import hashlib

from rest_framework.throttling import SimpleRateThrottle

from account.models import normalize_email


class IPThrottle(SimpleRateThrottle):
    """Limit by client address, signed in or not."""

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class EmailThrottle(SimpleRateThrottle):
    """Limit by the email address in the request body (hashed: no addresses in the cache)."""

    @classmethod
    def cache_key_for(cls, email: str) -> str:
        digest = hashlib.sha256(normalize_email(email).encode()).hexdigest()
        return cls.cache_format % {"scope": cls.scope, "ident": digest}

    def get_cache_key(self, request, view) -> str | None:
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        return self.cache_key_for(email)

    @classmethod
    def record(cls, email: str) -> None:
        """Count a request for `email` made elsewhere (a code sent at registration)."""
        throttle = cls()
        throttle.key = cls.cache_key_for(email)
        throttle.history = throttle.cache.get(throttle.key, [])
        throttle.now = throttle.timer()
        throttle.throttle_success()


class UserThrottle(SimpleRateThrottle):
    def get_cache_key(self, request, view) -> str | None:
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


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


CODE_SEND_THROTTLES = [CodeSendIPThrottle, CodeSendEmailThrottle, CodeSendEmailDailyThrottle]
CODE_CHECK_THROTTLES = [CodeCheckIPThrottle, CodeCheckEmailThrottle]
