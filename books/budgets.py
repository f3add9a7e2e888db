"""Daily call budgets for the paid upstreams (Gemini, Google Books), shared by every process through the database.

A budget day is Google's quota day: it starts at midnight Pacific time, when Google resets its per-day quotas,
so a budget spent here and a quota spent there reset together.
"""

import logging
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from books.models import UpstreamUsage

logger = logging.getLogger(__name__)

Upstream = UpstreamUsage.Upstream
QUOTA_DAY_ZONE = ZoneInfo("America/Los_Angeles")
WARN_AT = 0.8


@dataclass(frozen=True)
class BudgetUse:
    upstream: str
    limit: int
    used: int
    refused: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def budget_limit(upstream: str) -> int:
    budgets = {
        Upstream.GEMINI: settings.GEMINI_DAILY_CALL_BUDGET,
        Upstream.GOOGLE_BOOKS: settings.GOOGLE_BOOKS_DAILY_CALL_BUDGET,
    }
    return budgets[upstream]


def budget_day(moment: datetime | None = None) -> date:
    return (moment or timezone.now()).astimezone(QUOTA_DAY_ZONE).date()


def budget_resets_at(moment: datetime | None = None) -> datetime:
    """The next midnight, Pacific time, in UTC: when today's budget is whole again."""
    tomorrow = budget_day(moment) + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=QUOTA_DAY_ZONE).astimezone(UTC)


def budget_spend(upstream: str) -> bool:
    """Count one call against today's budget; False, and the call must not be made, once it is spent."""
    day = budget_day()
    usage = UpstreamUsage.objects.filter(upstream=upstream, day=day)
    # One conditional UPDATE: parallel processes cannot spend past the limit between a read and a write.
    spend = usage.filter(calls__lt=budget_limit(upstream))
    if spend.update(calls=F("calls") + 1):
        return True
    if not usage.exists():  # the day's first call
        try:
            with transaction.atomic():
                UpstreamUsage.objects.create(upstream=upstream, day=day)
        except IntegrityError:  # another process created today's row first
            pass
        if spend.update(calls=F("calls") + 1):
            return True
    usage.update(refused=F("refused") + 1)
    return False


def budgets_today() -> dict[str, BudgetUse]:
    """Each upstream's use of today's budget, in one query."""
    rows = {row.upstream: row for row in UpstreamUsage.objects.filter(day=budget_day())}
    return {
        upstream: BudgetUse(
            upstream=upstream,
            limit=budget_limit(upstream),
            used=rows[upstream].calls if upstream in rows else 0,
            refused=rows[upstream].refused if upstream in rows else 0,
            resets_at=budget_resets_at(),
        )
        for upstream in Upstream.values
    }


def budgets_warn() -> list[str]:
    """The worker's check: log a warning, once a day per upstream, when 80 % of its budget is spent."""
    warned = []
    for upstream in Upstream.values:
        limit = budget_limit(upstream)
        threshold = math.ceil(limit * WARN_AT)
        first = UpstreamUsage.objects.filter(
            upstream=upstream, day=budget_day(), calls__gte=threshold, warned_at__isnull=True
        ).update(warned_at=timezone.now())
        if first:
            use = budgets_today()[upstream]
            logger.warning(
                "%s has used %s of today's %s calls (%s %%); at %s it is refused until %s UTC. "
                "Raise %s_DAILY_CALL_BUDGET if your quota allows.",
                Upstream(upstream).label,
                use.used,
                limit,
                round(100 * use.used / limit) if limit else 100,
                limit,
                f"{use.resets_at:%Y-%m-%d %H:%M}",
                upstream.upper(),
            )
            warned.append(upstream)
    return warned
