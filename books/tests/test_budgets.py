"""Budgets for the paid upstreams: a daily call budget each for Gemini and Google Books, shared by every process,
and an hourly share of Google Books calls per reader."""

import logging
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from account.tasks import resume_stale_tasks
from bookflow_api.durable import TaskStatus
from books.budgets import budget_day, budget_resets_at, budget_spend, budgets_warn
from books.models import Summary, UpstreamUsage
from books.tests.factories import BookFactory, seed_book
from books.tests.helpers import BASE, payload
from conftest import ROOT, reader_client, subprocess_env

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/books/search/"


@pytest.fixture
def miss_share(monkeypatch):
    """Each reader may cost 5 Google Books calls an hour (as THROTTLE_RATES=catalogue_miss_user=5/hour)."""
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "catalogue_miss_user", "5/hour")
    return 5


def google_searches(upstream) -> int:
    return sum(1 for call in upstream.calls if "/volumes" in call.request.url)


# --- Google Books -------------------------------------------------------------------------------------


def test_a_flood_of_random_searches_from_one_reader_costs_at_most_its_hourly_share(upstream, miss_share):
    upstream.get(f"{BASE}/volumes", json=payload("search_something.json"))
    reader = reader_client()

    answers = [reader.get(SEARCH, {"q": uuid.uuid4().hex}) for _ in range(20)]

    assert google_searches(upstream) == miss_share
    assert {answer.status_code for answer in answers[:miss_share]} == {200}
    # Then the local catalogue answers: here it has no such books, so the catalogue is "unavailable", never a 429.
    assert {answer.json()["code"] for answer in answers[miss_share:]} == {"catalog_unavailable"}


def test_one_reader_past_their_share_leaves_every_other_reader_on_google(upstream, miss_share):
    upstream.get(f"{BASE}/volumes", json=payload("search_something.json"))
    flooder = reader_client()
    for _ in range(miss_share + 3):
        flooder.get(SEARCH, {"q": uuid.uuid4().hex})

    other = reader_client().get(SEARCH, {"q": "something"})

    assert other.json()["source"] == "google_books"


def test_cached_searches_do_not_count_against_a_readers_share(upstream, miss_share):
    upstream.get(f"{BASE}/volumes", json=payload("search_something.json"))
    reader = reader_client()

    answers = [reader.get(SEARCH, {"q": "something"}) for _ in range(miss_share * 3)]

    assert google_searches(upstream) == 1
    assert {answer.json()["source"] for answer in answers} == {"google_books"}


def test_book_lookups_past_the_share_answer_our_copy_or_503(upstream, miss_share):
    upstream.get(f"{BASE}/volumes", json=payload("search_something.json"))
    upstream.get(f"{BASE}/volumes/AQi9EAAAQBAJ", json=payload("volume_AQi9EAAAQBAJ.json"))
    reader = reader_client()
    for _ in range(miss_share):
        reader.get(SEARCH, {"q": uuid.uuid4().hex})  # unanswered searches still spend the share
    stale = BookFactory(volume_id="stale000001", fetched_at=timezone.now() - timedelta(days=30))

    ours = reader.get(f"/api/v1/books/{stale.volume_id}/")
    unknown = reader.get("/api/v1/books/AQi9EAAAQBAJ/")

    assert ours.status_code == 200 and ours.json()["title"] == stale.title
    assert unknown.status_code == 503 and unknown.json()["code"] == "catalog_unavailable"
    assert google_searches(upstream) == miss_share


def test_past_the_daily_budget_every_reader_gets_the_local_catalogue(upstream, settings):
    settings.GOOGLE_BOOKS_DAILY_CALL_BUDGET = 3
    upstream.get(f"{BASE}/volumes", json=payload("search_something.json"))

    answers = [reader_client().get(SEARCH, {"q": "something", "page": page}) for page in range(1, 6)]

    assert google_searches(upstream) == 3
    assert [answer.json()["source"] for answer in answers] == ["google_books"] * 3 + ["local"] * 2
    usage = UpstreamUsage.objects.get(upstream="google_books")
    assert (usage.calls, usage.refused) == (3, 2)


def test_the_budget_is_whole_again_at_midnight_pacific_time(upstream, settings, time_machine):
    settings.GOOGLE_BOOKS_DAILY_CALL_BUDGET = 1
    upstream.get(f"{BASE}/volumes", json=payload("search_something.json"))
    time_machine.move_to(datetime(2026, 3, 4, 7, 59, tzinfo=UTC), tick=False)  # 23:59 in Los Angeles
    reader = reader_client()
    reader.get(SEARCH, {"q": "something", "page": 1})
    spent = reader.get(SEARCH, {"q": "something", "page": 2}).json()["source"]
    time_machine.move_to(datetime(2026, 3, 4, 8, 0, tzinfo=UTC), tick=False)

    assert spent == "local"
    assert reader.get(SEARCH, {"q": "something", "page": 3}).json()["source"] == "google_books"
    assert budget_resets_at() == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)


def test_a_zero_budget_makes_no_call(upstream, settings):
    settings.GOOGLE_BOOKS_DAILY_CALL_BUDGET = 0
    upstream.get(f"{BASE}/volumes", json=payload("search_something.json"))

    response = reader_client().get(SEARCH, {"q": "something"})

    assert response.status_code == 503 and response.json()["code"] == "catalog_unavailable"
    assert google_searches(upstream) == 0


# --- Gemini -------------------------------------------------------------------------------------------


def test_past_the_gemini_budget_new_summaries_wait_for_the_next_day_then_run(gemini, settings, tasks):
    settings.GEMINI_DAILY_CALL_BUDGET = 1
    seed_book("first000001"), seed_book("second00001")
    reader = reader_client("basic")
    reader.post("/api/v1/books/first000001/summary/")
    tasks.run_all(limit=1)
    second = reader.post("/api/v1/books/second00001/summary/").json()
    tasks.run_all(limit=1)  # its first try: the budget is spent

    waiting = reader.get(f"/api/v1/summaries/{second['id']}/").json()
    resets_at = budget_resets_at()
    tasks.run_all()  # the timer at the reset

    assert waiting["status"] == "pending" and waiting["error"] is None
    assert waiting["next_attempt_at"] == resets_at.isoformat().replace("+00:00", "Z")
    assert Summary.objects.get(pk=second["id"]).status == TaskStatus.READY
    assert gemini.calls == 2
    assert reader.get("/api/v1/account/subscription/").json()["quotas"]["summaries"]["used"] == 2


def test_a_summary_waiting_for_the_budget_keeps_its_attempts_and_the_worker_picks_it_up(gemini, settings, tasks):
    settings.GEMINI_DAILY_CALL_BUDGET = 0
    seed_book("waiting0001")
    summary_id = reader_client().post("/api/v1/books/waiting0001/summary/").json()["id"]
    tasks.pending.clear()  # the web process died with its timers
    tasks.traveller.move_to(timezone.now() + timedelta(seconds=5))
    resume_stale_tasks()  # the worker finds it due: its try is put off too
    settings.GEMINI_DAILY_CALL_BUDGET = 250
    tasks.traveller.move_to(budget_resets_at() + timedelta(minutes=1))

    resume_stale_tasks()

    summary = Summary.objects.get(pk=summary_id)
    assert (summary.status, summary.attempts, gemini.calls) == (TaskStatus.READY, 1, 1)


def test_the_offline_provider_spends_no_budget(settings, tasks):
    settings.SUMMARY_PROVIDER = "offline"
    settings.GEMINI_DAILY_CALL_BUDGET = 0
    seed_book("offline0001")

    reader_client().post("/api/v1/books/offline0001/summary/")
    tasks.run_all()

    assert Summary.objects.get().status == TaskStatus.READY


# --- Shared by every process, shown and warned about --------------------------------------------------

SPENDER = """
import django; django.setup()
from books.budgets import budget_spend
print(sum(budget_spend("gemini") for _ in range(30)))
"""
COUNTER = """
import django; django.setup()
from books.budgets import budgets_today
print(budgets_today()["gemini"].used, budgets_today()["gemini"].refused)
"""


def test_the_budget_holds_across_two_processes(worker_database):
    env = subprocess_env(worker_database) | {"GEMINI_DAILY_CALL_BUDGET": "40"}

    def python(code: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)

    spenders = [python(SPENDER), python(SPENDER)]  # two web processes at once
    spent = [int(spender.communicate(timeout=120)[0]) for spender in spenders]
    used_and_refused = python(COUNTER).communicate(timeout=120)[0].split()

    assert sum(spent) == 40
    assert used_and_refused == ["40", "20"]


def test_health_shows_todays_use_of_both_budgets(api_client, settings):
    settings.GEMINI_DAILY_CALL_BUDGET = 10
    budget_spend("gemini"), budget_spend("gemini")

    budgets = api_client.get("/api/health/").json()["budgets"]

    assert budgets["gemini"] | {"resets_at": None} == {
        "limit": 10,
        "used": 2,
        "remaining": 8,
        "refused": 0,
        "resets_at": None,
    }
    assert budgets["google_books"]["used"] == 0 and budgets["google_books"]["limit"] == 1000


def test_the_worker_warns_once_when_a_budget_is_80_percent_spent(settings, caplog):
    settings.GEMINI_DAILY_CALL_BUDGET = 10
    for _ in range(7):
        budget_spend("gemini")
    caplog.set_level(logging.WARNING, logger="books.budgets")

    below = budgets_warn()
    budget_spend("gemini")
    at_80 = budgets_warn()
    budget_spend("gemini")
    again = budgets_warn()

    assert (below, at_80, again) == ([], ["gemini"], [])
    [record] = caplog.records
    assert "Google Gemini has used 8 of today's 10 calls (80 %)" in record.getMessage()
    assert "GEMINI_DAILY_CALL_BUDGET" in record.getMessage()


def test_the_admin_shows_todays_use_against_the_budget(admin_client, settings):
    settings.GOOGLE_BOOKS_DAILY_CALL_BUDGET = 200
    UpstreamUsage.objects.create(upstream="google_books", day=budget_day(), calls=50)

    page = admin_client.get("/admin/books/upstreamusage/").content.decode()

    assert "200" in page and "25 %" in page


def test_every_request_sent_to_google_books_counts_against_the_budget_retries_included(upstream):
    upstream.get(f"{BASE}/volumes", status=503)
    upstream.get(f"{BASE}/volumes", status=503)
    upstream.get(f"{BASE}/volumes", json=payload("search_something.json"))

    reader_client().get(SEARCH, {"q": "something"})

    assert google_searches(upstream) == 3
    assert UpstreamUsage.objects.get(upstream="google_books").calls == 3


def test_a_readers_daily_share_holds_across_the_hours(upstream, monkeypatch, clock):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "catalogue_miss_user", "2/hour")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "catalogue_miss_user_daily", "3/day")
    upstream.get(f"{BASE}/volumes", json=payload("search_something.json"))
    reader = reader_client()
    for _hour in range(3):
        clock.shift(timedelta(hours=1, seconds=1))
        for _ in range(2):
            reader.get(SEARCH, {"q": uuid.uuid4().hex})

    assert google_searches(upstream) == 3  # 2 the first hour, 1 the second, none the third
