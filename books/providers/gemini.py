"""Summaries from Google Gemini through the `google-genai` SDK, as structured JSON validated before use."""

import json
import logging

import httpx2 as httpx  # google-genai 3 speaks HTTP through httpx2, a fork of httpx
from django.conf import settings
from google import genai
from google.genai import errors, types
from pydantic import ValidationError

from books.budgets import Upstream, budget_resets_at, budget_spend
from books.models import Book
from books.providers.base import BudgetSpent, GeneratedSummary, ProviderError
from books.providers.summary_schema import SummaryContent

logger = logging.getLogger(__name__)

TRANSIENT_STATUSES = {408, 429, 500, 502, 503, 504}

INSTRUCTIONS = """You write structured, faithful summaries of books for busy readers.
Summarise the book described below. Use what you reliably know about this exact book; where you
are unsure, stay close to the description given and do not invent facts, names or numbers.
Give 5 to 10 key insights, 3 to 7 key principles and 3 to 5 actionable takeaways.
A `supporting_quote` or `memorable_quote` must be a real quotation from the book that you are sure of;
otherwise leave it empty. Leave `framework` out if the book has no named method or model.
`reading_time_minutes` is the time to read this summary, not the book."""


def book_prompt(book: Book) -> str:
    lines = [
        f"Title: {book.title}" + (f": {book.subtitle}" if book.subtitle else ""),
        f"Authors: {', '.join(book.authors) or 'unknown'}",
        f"Published: {book.published_date or 'unknown'}",
        f"Categories: {', '.join(book.categories) or 'unknown'}",
        f"ISBN-13: {book.isbn_13 or 'unknown'}",
        f"Description: {book.description[:4000] or 'none'}",
    ]
    return INSTRUCTIONS + "\n\n" + "\n".join(lines)


class GeminiProvider:
    name = "gemini"

    def __init__(self) -> None:
        self.model = settings.GEMINI_MODEL
        http_options = types.HttpOptions(timeout=settings.GEMINI_TIMEOUT_SECONDS * 1000)
        if settings.GEMINI_BASE_URL:
            http_options.base_url = settings.GEMINI_BASE_URL
        # No SDK-level retries: the durable task retries with backoff, and survives restarts.
        self.client = genai.Client(api_key=settings.GOOGLE_API_KEY, http_options=http_options)

    def generate(self, book: Book) -> GeneratedSummary:
        config = types.GenerateContentConfig(
            response_mime_type="application/json", response_schema=SummaryContent, temperature=0.4
        )
        if not budget_spend(Upstream.GEMINI):
            raise BudgetSpent("Today's Gemini call budget is spent.", resets_at=budget_resets_at())
        try:
            response = self.client.models.generate_content(model=self.model, contents=book_prompt(book), config=config)
        except errors.APIError as exc:
            transient = exc.code in TRANSIENT_STATUSES
            code = "provider_rate_limited" if exc.code == 429 else f"provider_http_{exc.code}"
            raise ProviderError(code, f"Gemini answered HTTP {exc.code}: {exc.message}", transient=transient) from exc
        except httpx.TimeoutException as exc:
            raise ProviderError("provider_timeout", "Gemini did not answer in time.", transient=True) from exc
        except httpx.TransportError as exc:
            raise ProviderError("provider_unreachable", f"Gemini is unreachable: {exc}", transient=True) from exc
        return GeneratedSummary(content=parse_content(response.text), provider=self.name, model=self.model)


def parse_content(text: str | None) -> dict:
    """Validate Gemini's JSON against content schema v1; a bad answer is worth another try."""
    if not text:
        raise ProviderError("provider_empty", "Gemini returned no content (blocked or empty).", transient=True)
    try:
        return SummaryContent.model_validate(json.loads(text)).model_dump()
    except json.JSONDecodeError as exc:
        raise ProviderError("invalid_output", f"Gemini returned malformed JSON: {exc}", transient=True) from exc
    except ValidationError as exc:
        detail = f"Gemini's JSON does not match the summary schema: {exc.error_count()} errors"
        raise ProviderError("invalid_output", detail, transient=True) from exc
