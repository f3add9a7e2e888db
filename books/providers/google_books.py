"""Google Books API v1 client: one session, explicit timeouts, retries, typed results."""

import html
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.html import strip_tags
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from books.budgets import Upstream, budget_spend

logger = logging.getLogger(__name__)

# Quota errors: Google sends 429, or 403 with one of these reasons (older layout).
QUOTA_REASONS = {
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "userRateLimitExceededUnreg",
    "dailyLimitExceeded",
    "quotaExceeded",
}
COOLDOWN_KEY = "google_books:cooldown"
RETRIED_STATUSES = {500, 502, 503, 504}


class GoogleBooksError(Exception):
    """Base class: Google Books could not answer the question."""


class GoogleBooksUnavailable(GoogleBooksError):
    """Timeout, connection error, 5xx, quota, or a body we cannot read: try the local catalogue."""


class GoogleBooksNotFound(GoogleBooksError):
    """Google Books has no such volume."""


@dataclass(frozen=True)
class Volume:
    volume_id: str
    title: str
    subtitle: str = ""
    authors: list[str] = field(default_factory=list)
    publisher: str = ""
    published_date: str = ""
    published_year: int | None = None
    description: str = ""
    page_count: int | None = None
    categories: list[str] = field(default_factory=list)
    language: str = ""
    isbn_10: str = ""
    isbn_13: str = ""
    thumbnail_url: str = ""
    cover_url: str = ""
    average_rating: float | None = None
    ratings_count: int = 0
    preview_link: str = ""
    info_link: str = ""


@dataclass(frozen=True)
class SearchPage:
    total_items: int
    volumes: list[Volume]


_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


def parse_published(value: str | None) -> tuple[str, int | None]:
    """Normalise `2004`, `2004-05`, `2004-05-03` or a timestamp to (`YYYY[-MM[-DD]]`, year)."""
    match = _DATE.match(value or "")
    if not match:
        return "", None
    year, month, day = match.groups()
    if day:
        try:
            date(int(year), int(month), int(day))
        except ValueError:
            day = None
    text = "-".join(part for part in (year, month, day if month else None) if part)
    return text, int(year)


def https(url: str | None) -> str:
    """Serve Google's http:// links over https (the same hosts answer on both)."""
    if not url:
        return ""
    return "https://" + url[len("http://") :] if url.startswith("http://") else url


def _cover(links: dict) -> tuple[str, str]:
    thumbnail = https(links.get("thumbnail") or links.get("smallThumbnail"))
    large = next((links[k] for k in ("extraLarge", "large", "medium", "small") if links.get(k)), None)
    # The "curl" edge is a page-curl effect drawn on the image; clients want the plain cover.
    thumbnail = thumbnail.replace("&edge=curl", "")
    return thumbnail, https(large).replace("&edge=curl", "") if large else thumbnail


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _strings(value) -> list[str]:
    return [item.strip() for item in value if isinstance(item, str) and item.strip()] if isinstance(value, list) else []


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def parse_volume(item: dict) -> Volume | None:
    """A `books#volume` item as a Volume; None when it has no id or title."""
    info = item.get("volumeInfo")
    volume_id = item.get("id")
    if not isinstance(info, dict) or not isinstance(volume_id, str) or not _text(info.get("title")):
        return None
    identifiers = {
        entry.get("type"): entry.get("identifier", "").replace(" ", "").replace("-", "")
        for entry in info.get("industryIdentifiers") or []
        if isinstance(entry, dict)
    }
    published_date, published_year = parse_published(info.get("publishedDate"))
    thumbnail, cover = _cover(info.get("imageLinks") or {})
    rating = info.get("averageRating")
    return Volume(
        volume_id=volume_id,
        title=_text(info.get("title"))[:500],
        subtitle=_text(info.get("subtitle"))[:500],
        authors=_strings(info.get("authors")),
        publisher=_text(info.get("publisher"))[:255],
        published_date=published_date,
        published_year=published_year,
        description=html.unescape(strip_tags(_text(info.get("description")))),
        page_count=_int(info.get("pageCount")),
        categories=_strings(info.get("categories")),
        language=_text(info.get("language"))[:16],
        isbn_10=identifiers.get("ISBN_10", "")[:10],
        isbn_13=identifiers.get("ISBN_13", "")[:13],
        thumbnail_url=thumbnail,
        cover_url=cover,
        average_rating=float(rating) if isinstance(rating, int | float) and not isinstance(rating, bool) else None,
        ratings_count=_int(info.get("ratingsCount")) or 0,
        preview_link=https(info.get("previewLink")),
        info_link=https(info.get("infoLink")),
    )


def _error_reasons(response: requests.Response) -> set[str]:
    try:
        error = response.json().get("error", {})
        return {entry.get("reason") for entry in error.get("errors", []) if isinstance(entry, dict)}
    except (ValueError, AttributeError):
        return set()


def _retry_after(response: requests.Response, default: int) -> int:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else default


class GoogleBooksClient:
    """Talks to Google Books; raises GoogleBooksUnavailable / GoogleBooksNotFound, never a requests error."""

    timeout = (3.05, 6)  # connect, read (seconds)
    server_error_retries = 2
    retry_backoff_seconds = 0.25
    quota_cooldown_seconds = 60
    outage_cooldown_seconds = 15
    cache = cache

    def __init__(self, base_url: str | None = None, api_key: str | None = None) -> None:
        self.base_url = (base_url or settings.GOOGLE_BOOKS_BASE_URL).rstrip("/")
        self.api_key = settings.GOOGLE_BOOKS_API_KEY if api_key is None else api_key
        self.session = requests.Session()
        # Connection retries only: a request that reached Google is retried by _get, which counts each one
        # against the daily budget (a 5xx counts against Google's quota too).
        retry = Retry(total=1, connect=1, read=0, status=0, allowed_methods=("GET",), raise_on_status=False)
        self.session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=20))
        self.session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=20))
        self.session.headers["Accept"] = "application/json"

    def search(
        self, query: str, *, start_index: int = 0, max_results: int = 20, lang: str = "", order_by: str = ""
    ) -> SearchPage:
        params = {"q": query, "startIndex": start_index, "maxResults": max_results, "printType": "books"}
        if lang:
            params["langRestrict"] = lang
        if order_by:
            params["orderBy"] = order_by
        data = self._get("/volumes", params)
        items = data.get("items") if isinstance(data.get("items"), list) else []
        volumes = [volume for item in items if isinstance(item, dict) and (volume := parse_volume(item))]
        total = data.get("totalItems")
        return SearchPage(total_items=total if isinstance(total, int) and total >= 0 else len(volumes), volumes=volumes)

    def volume(self, volume_id: str) -> Volume:
        volume = parse_volume(self._get(f"/volumes/{volume_id}", {}))
        if volume is None:
            raise GoogleBooksNotFound(volume_id)
        return volume

    def paused(self) -> bool:
        """True while calls are held back after a quota error or an outage (in every process)."""
        return bool(self.cache.get(COOLDOWN_KEY))

    def _send(self, path: str, params: dict) -> requests.Response:
        """One request, counted against today's budget; GoogleBooksUnavailable when spent or unreachable."""
        if not budget_spend(Upstream.GOOGLE_BOOKS):
            raise GoogleBooksUnavailable("Today's Google Books call budget is spent.")
        try:
            return self.session.get(self.base_url + path, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            # Unreachable: answer from the local catalogue for a while instead of waiting on every request.
            self.cache.set(COOLDOWN_KEY, True, timeout=self.outage_cooldown_seconds)
            logger.warning(
                "Google Books unreachable (%s); pausing calls for %s s.",
                type(exc).__name__,
                self.outage_cooldown_seconds,
            )
            raise GoogleBooksUnavailable(str(exc)) from exc

    def _get(self, path: str, params: dict) -> dict:
        if self.paused():
            raise GoogleBooksUnavailable("Google Books is paused after a quota error or an outage.")
        if self.api_key:
            params = {**params, "key": self.api_key}
        for attempt in range(self.server_error_retries + 1):
            if attempt:
                time.sleep(self.retry_backoff_seconds * attempt)
            response = self._send(path, params)
            if response.status_code not in RETRIED_STATUSES:
                break

        if response.status_code == 404:
            raise GoogleBooksNotFound(path)
        if response.status_code == 429 or (response.status_code == 403 and _error_reasons(response) & QUOTA_REASONS):
            wait = _retry_after(response, self.quota_cooldown_seconds)
            # Honour Retry-After for every request in every process: no calls until it has passed.
            self.cache.set(COOLDOWN_KEY, True, timeout=max(wait, 1))
            logger.warning("Google Books quota exceeded (HTTP %s); pausing calls for %s s.", response.status_code, wait)
            raise GoogleBooksUnavailable("quota exceeded")
        if response.status_code == 400 and path.startswith("/volumes/"):
            raise GoogleBooksNotFound(path)
        if response.status_code != 200:
            logger.error("Google Books answered HTTP %s for %s.", response.status_code, path)
            raise GoogleBooksUnavailable(f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            logger.error("Google Books sent a body that is not JSON for %s.", path)
            raise GoogleBooksUnavailable("malformed JSON") from exc
        if not isinstance(data, dict):
            raise GoogleBooksUnavailable("unexpected JSON")
        return data


_client: GoogleBooksClient | None = None


def get_client() -> GoogleBooksClient:
    """The process-wide client (one connection pool)."""
    global _client
    if _client is None:
        _client = GoogleBooksClient()
    return _client


@receiver(setting_changed)
def _reset_client(*, setting: str, **kwargs) -> None:
    global _client
    if setting.startswith("GOOGLE_BOOKS_"):
        _client = None
