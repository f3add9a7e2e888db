from datetime import datetime

import pytest
import responses

from books.providers.offline import OfflineProvider
from books.tests.factories import BookFactory
from books.tests.helpers import BASE, HABITS
from fakes import gemini as fake_gemini


@pytest.fixture(autouse=True)
def google_books_settings(settings):
    settings.GOOGLE_BOOKS_BASE_URL = BASE
    settings.GOOGLE_BOOKS_API_KEY = ""


@pytest.fixture
def upstream():
    """Google Books at the transport: every request must be expected by the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def gemini(settings):
    """The local fake Gemini, with the real google-genai client pointed at it (`server.script`, `server.calls`)."""
    server = fake_gemini.start()
    settings.GOOGLE_API_KEY = "test-gemini-key"
    settings.SUMMARY_PROVIDER = "auto"
    settings.GEMINI_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.GEMINI_TIMEOUT_SECONDS = 1
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def offline(settings):
    """Summaries written by the offline provider: no server, no key."""
    settings.SUMMARY_PROVIDER = "offline"


@pytest.fixture
def failures(monkeypatch, settings) -> dict:
    """The (offline) provider raises `failures[volume_id]` for that book and writes every other summary."""
    settings.SUMMARY_PROVIDER = "offline"
    failures, generate = {}, OfflineProvider.generate

    def failing_generate(self, book):
        if book.volume_id in failures:
            raise failures[book.volume_id]
        return generate(self, book)

    monkeypatch.setattr(OfflineProvider, "generate", failing_generate)
    return failures


@pytest.fixture
def book():
    return BookFactory(volume_id=HABITS, title="Atomic Habits", description="A book. " * 3)


@pytest.fixture
def pinned(time_machine) -> datetime:
    """A frozen clock, for dates compared exactly."""
    start = datetime.fromisoformat("2026-03-02T09:00:00+00:00")
    time_machine.move_to(start, tick=False)
    return start
