"""The summary provider contract: what every provider returns and raises."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from books.models import Book


class ProviderError(Exception):
    """Generation failed; `transient` errors are worth another attempt later."""

    def __init__(self, code: str, detail: str, *, transient: bool) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.transient = transient


class BudgetSpent(ProviderError):
    """Today's call budget for the provider is spent: no call was made; try again at `resets_at`."""

    def __init__(self, detail: str, *, resets_at: datetime) -> None:
        super().__init__("daily_budget_spent", detail, transient=True)
        self.resets_at = resets_at


@dataclass(frozen=True)
class GeneratedSummary:
    content: dict
    provider: str
    model: str


class SummaryProvider(Protocol):
    name: str

    def generate(self, book: Book) -> GeneratedSummary: ...
