"""Quotas: a plan's monthly allowance of a metered feature against what the reader used this calendar month (UTC).

Each feature is registered by the app that meters it (`quota_register`, from its AppConfig.ready): how many a
plan allows, and how many the reader used since a moment (counted where the uses are kept, so the two never
drift apart).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from account.models import User


@dataclass(frozen=True)
class Quota:
    limit: int
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class Metered:
    limit: Callable[[str], int]  # plan -> allowance a month
    used_since: Callable[[User, datetime], int]  # (reader, start of the month) -> uses


QUOTAS: dict[str, Metered] = {}


def quota_register(feature: str, *, limit: Callable[[str], int], used_since: Callable[[User, datetime], int]) -> None:
    QUOTAS[feature] = Metered(limit=limit, used_since=used_since)


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def quota_of(user: User, feature: str) -> Quota:
    """The reader's use of `feature` this calendar month (UTC) against their plan's allowance."""
    start, end = month_bounds(timezone.now())
    metered = QUOTAS[feature]
    return Quota(limit=metered.limit(user.plan), used=metered.used_since(user, start), resets_at=end)


def quotas_of(user: User) -> dict[str, Quota]:
    return {feature: quota_of(user, feature) for feature in QUOTAS}
