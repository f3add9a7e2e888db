"""The lean authenticated path: a valid access token is trusted without loading the reader's row when the shared
cache vouches that nothing that ends sessions has happened to the reader since the cache last read the row.

Each reader has two cache keys: a generation, bumped by every save or deletion of the row (right away and again
after the commit), and a state (the generation it was read at, and the password fingerprint the tokens carry).
A state counts only while its generation is the current one, so a row changed by any process — deactivated,
deleted, its password changed or reset — sends the next request of any process back to the database, which
refuses the token. The generation is never guessed: a missing one (evicted, never set) means "read the row".
Only with a cache every process shares (Redis): with per-process caches every request reads the row, as before.
"""

import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from account.models import User

STATE_SECONDS = 10 * 60


def _keys(user_id) -> tuple[str, str]:
    return f"auth:{user_id}:generation", f"auth:{user_id}:state"


def cache_is_shared() -> bool:
    return settings.CACHES["default"]["BACKEND"].endswith("RedisCache")


def auth_state_forget(user_id: int) -> None:
    """The reader's row changed: every process reads it again on its next request (now and after the commit)."""

    def bump() -> None:
        generation_key, _ = _keys(user_id)
        try:
            cache.incr(generation_key)
        except ValueError:  # no generation: start a fresh one no old state can carry
            cache.set(generation_key, secrets.randbits(62), timeout=None)

    if cache_is_shared():
        bump()
        transaction.on_commit(bump, robust=False)


def _lean_user(user_id) -> User:
    """The reader with only the id loaded; the first other field read loads the whole row (one query)."""
    user = User.from_db(DEFAULT_DB_ALIAS, ["id"], [user_id])
    user.load_whole_row_on_first_access = True
    return user


class LeanJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token):
        if not cache_is_shared():
            return super().get_user(validated_token)
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        generation_key, state_key = _keys(user_id)
        known = cache.get_many([generation_key, state_key])
        generation, state = known.get(generation_key), known.get(state_key)
        if generation is not None and state is not None and state[0] == generation:
            if validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) != state[1]:
                raise AuthenticationFailed("The user's password has been changed.", code="password_changed")
            return _lean_user(user_id)
        if generation is None:
            cache.add(generation_key, secrets.randbits(62), timeout=None)
            generation = cache.get(generation_key)
        user = super().get_user(validated_token)  # the row: refuses a deleted or inactive reader, a changed password
        cache.set(state_key, (generation, get_md5_hash_password(user.password)), timeout=STATE_SECONDS)
        return user


class LeanJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme: the same Bearer JWT (`jwtAuth`) as simplejwt's."""

    target_class = LeanJWTAuthentication
