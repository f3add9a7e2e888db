"""Clients of the services outside (one module each), and the choice of this deployment's summary provider."""

from django.conf import settings

from books.providers.base import SummaryProvider


def summary_provider() -> SummaryProvider:
    """Gemini when configured (or asked for), else the offline extractive provider."""
    # Imported on first use: the Gemini SDK (and pydantic) would add most of a second to every process start.
    choice = settings.SUMMARY_PROVIDER
    if choice == "gemini" or (choice == "auto" and settings.GOOGLE_API_KEY):
        from books.providers.gemini import GeminiProvider

        return GeminiProvider()
    from books.providers.offline import OfflineProvider

    return OfflineProvider()
