"""`make bench`: BookFlow's speed, upstream cost, cleanup at scale and cost growth, as tables.

Runs gunicorn exactly as production does (gunicorn.conf.py, DEBUG off, PostgreSQL) with local fakes of
Google Books and Gemini, loads it with wrk, and prints one Markdown table per benchmark with the
command, the machine, median/min/max over several runs, and each figure as a ratio against a baseline
measured in the same run. Results also go to bench/latest.md.
"""

import argparse
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bookflow_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DEBUG": "0",
    "APP_SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdefghijkl",
    "DATABASE_URL": DATABASE_URL,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "GOOGLE_API_KEY": "bench-gemini-key",
    "LOG_LEVEL": "WARNING",
    "REDIS_URL": "",
}
os.environ.update(ENV)

import django  # noqa: E402

from fakes import gemini as fake_gemini  # noqa: E402
from fakes import google_books as fake_google_books  # noqa: E402
from fakes.processes import free_port, fresh_database, start_gunicorn, wait_until  # noqa: E402

PROXY = {"X-Forwarded-Proto": "https"}
OUT: list[str] = []


def emit(text: str = "") -> None:
    print(text, flush=True)
    OUT.append(text)


def machine() -> str:
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    model = re.search(r"model name\s+: (.+)", Path("/proc/cpuinfo").read_text())
    return (
        f"{os.cpu_count()} cores ({model.group(1) if model else platform.machine()}), "
        f"{mem_kb / 1024 / 1024:.0f} GiB RAM, Python {platform.python_version()}, "
        f"PostgreSQL on 127.0.0.1; load generator on the same machine"
    )


def table(headers: list[str], rows: list[list]) -> None:
    emit("| " + " | ".join(headers) + " |")
    emit("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        emit("| " + " | ".join(str(cell) for cell in row) + " |")
    emit()


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


# --- Servers ----------------------------------------------------------------------------------------


class Fakes:
    def __init__(self) -> None:
        self.google, self.gemini = fake_google_books.start(), fake_gemini.start()

    def env(self) -> dict:
        return {
            "GOOGLE_BOOKS_BASE_URL": f"http://127.0.0.1:{self.google.server_address[1]}/books/v1",
            "GEMINI_BASE_URL": f"http://127.0.0.1:{self.gemini.server_address[1]}",
            # Benchmarks measure speed, not the daily budgets (which a run of them could spend).
            "GOOGLE_BOOKS_DAILY_CALL_BUDGET": "1000000",
            "GEMINI_DAILY_CALL_BUDGET": "1000000",
        }


@contextmanager
def gunicorn(fakes: Fakes, **extra):
    """gunicorn with gunicorn.conf.py, as Render starts it; yields its base URL."""
    port = free_port()
    env = {**os.environ, **fakes.env(), "PORT": str(port), "WEB_CONCURRENCY": "2", **extra}
    web = start_gunicorn(env, Path(tempfile.mkdtemp(prefix="bench-gunicorn-")))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _get(base + "/api/health/").status_code == 200, 30, f"gunicorn (log: {web.log})", web)
        yield base
    finally:
        web.stop()


def _get(url: str, token: str | None = None):
    import requests

    headers = dict(PROXY, **({"Authorization": f"Bearer {token}"} if token else {}))
    return requests.get(url, headers=headers, timeout=30)


# --- Data -------------------------------------------------------------------------------------------


def reader(email: str, plan: str = "scholar"):
    from account.models import User
    from account.services import tokens_for_user

    user, _ = User.objects.get_or_create(email=email, defaults={"is_verified": True, "plan": plan})
    return user, tokens_for_user(user)["access"]


def synthetic_books(prefix: str, count: int) -> list[str]:
    from books.models import Book

    books = [
        Book(
            volume_id=f"{prefix}{n:05d}",
            title=f"Bench book {prefix}{n}",
            authors=["A. Writer"],
            description="A book made up for benchmarks. " * 8,
            categories=["Business & Economics"],
            language="en",
            source=Book.Source.SEED,  # never stale, so a summary request costs no Google call
        )
        for n in range(count)
    ]
    Book.objects.bulk_create(books, ignore_conflicts=True)
    return [book.volume_id for book in books]


# --- 1. Throughput and latency --------------------------------------------------------------------


WRK_LINE = re.compile(r"Requests/sec:\s+([\d.]+)")
LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, connections: int, seconds: int, token: str | None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", "X-Forwarded-Proto: https"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    latency = {p: float(v) * UNIT[u] for p, v, u in LATENCY.findall(output)}
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = sum(map(int, socket_errors.groups())) if socket_errors else 0
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return {
        "rps": float(WRK_LINE.search(output).group(1)),
        "p50": latency["50"],
        "p99": latency["99"],
        "errors": errors,
    }


def bench_throughput(fakes: Fakes, runs: int, seconds: int) -> None:
    from books.models import Book, Bookmark, Summary, SummaryUnlock

    user, token = reader("throughput@bench.local")
    books = list(Book.objects.filter(source=Book.Source.SEED).order_by("volume_id")[:50])
    Bookmark.objects.bulk_create([Bookmark(user=user, book=book) for book in books], ignore_conflicts=True)
    summary, _ = Summary.objects.get_or_create(
        book=books[0],
        defaults={"status": "ready", "content": fake_gemini.VALID_CONTENT, "provider": "gemini"},
    )
    SummaryUnlock.objects.get_or_create(user=user, summary=summary)
    endpoints = [
        ("bare DRF view (ceiling)", "/bench/bare/", None),
        ("GET /api/health/", "/api/health/", None),
        ("GET books/{id}/ (local copy)", f"/api/v1/books/{books[1].volume_id}/", token),
        ("GET summaries/{id}/ (ready)", f"/api/v1/summaries/{summary.pk}/", token),
        ("GET library/ (50 items, a page of 40)", "/api/v1/library/?page_size=40", token),
        ("GET books/search/ (cached)", "/api/v1/books/search/?q=atomic+habits+james+clear", token),
    ]
    emit("### Throughput and latency (hot reads)")
    emit()
    emit(
        f"`wrk -t2 -c{{16,64}} -d{seconds}s --latency` against gunicorn (gunicorn.conf.py, WEB_CONCURRENCY=2, "
        f"4 threads each, DEBUG off, PostgreSQL, Redis as on Render); {runs} runs each; median (min–max)."
    )
    emit()
    with gunicorn(fakes, REDIS_URL="redis://127.0.0.1:6379/15", CACHE_KEY_PREFIX="throughput") as base:
        for _ in range(20):  # warm every worker's caches and connections
            for _, path, auth in endpoints:
                _get(base + path, auth).raise_for_status()
        for connections in (16, 64):
            results = {
                name: [wrk(base + path, connections, seconds, auth) for _ in range(runs)]
                for name, path, auth in endpoints
            }
            bare = statistics.median(r["rps"] for r in results["bare DRF view (ceiling)"])
            rows = []
            for name, runs_ in results.items():
                rps = [r["rps"] for r in runs_]
                ratio = statistics.median(rps) / bare
                target = "" if name.startswith("bare") else ("met" if ratio >= 0.5 else "MISSED")
                rows.append(
                    [
                        name,
                        spread(rps),
                        f"{ratio:.2f}",
                        spread([r["p50"] for r in runs_], "{:.1f}"),
                        spread([r["p99"] for r in runs_], "{:.1f}"),
                        sum(r["errors"] for r in runs_),
                        target,
                    ]
                )
            emit(f"**{connections} connections**")
            emit()
            table(["endpoint", "req/s", "× bare", "p50 ms", "p99 ms", "errors", "≥ 0.50 × bare"], rows)


# --- 2. Summary overhead -----------------------------------------------------------------------------


def bench_summary_overhead(fakes: Fakes, count: int) -> None:
    import requests

    user, token = reader("overhead@bench.local")
    volume_ids = synthetic_books("ovh", count)
    headers = dict(PROXY, Authorization=f"Bearer {token}")
    latencies, round_trips = [], []
    with gunicorn(fakes, SUMMARY_TASK_DELAY_SECONDS="0") as base, requests.Session() as http:
        http.headers.update(headers)
        for volume_id in volume_ids:
            started = time.perf_counter()
            response = http.post(f"{base}/api/v1/books/{volume_id}/summary/", timeout=30)
            location = response.headers.get("Location")
            while response.status_code != 200 or response.json().get("status") != "ready":
                if response.status_code == 200 and response.json().get("status") == "failed":
                    raise SystemExit(f"summary failed: {response.json()}")
                time.sleep(0.002)
                response = http.get(base + location, timeout=30)
            latencies.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            http.get(base + location, timeout=30)
            round_trips.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    baseline = statistics.median(round_trips)
    emit("### Summary overhead: request → ready")
    emit()
    emit(
        f"{count} new books, one after another: POST `books/{{id}}/summary/`, then GET the `Location` every 2 ms "
        "until `ready`. Zero-latency fake Gemini, `SUMMARY_TASK_DELAY_SECONDS=0`, gunicorn as above. "
        "Baseline: one GET of a ready summary (an HTTP round trip) in the same run."
    )
    emit()
    table(
        ["measure", "ms", "× one round trip", "target", ""],
        [
            [
                "p50 request → ready",
                f"{statistics.median(latencies):.1f}",
                f"{statistics.median(latencies) / baseline:.1f}",
                "≤ 100 ms",
                "met" if statistics.median(latencies) <= 100 else "MISSED",
            ],
            [
                "p99 request → ready",
                f"{p99:.1f}",
                f"{p99 / baseline:.1f}",
                "≤ 500 ms",
                "met" if p99 <= 500 else "MISSED",
            ],
            ["min / max", f"{latencies[0]:.1f} / {latencies[-1]:.1f}", "", "", ""],
            ["baseline: GET ready summary (median)", f"{baseline:.1f}", "1.0", "", ""],
        ],
    )


# --- 3. Upstream cost --------------------------------------------------------------------------------


def bench_upstream_cost(fakes: Fakes) -> None:
    import redis
    import requests

    rows = []
    rng = random.Random(7)
    for label, extra in (
        ("REDIS_URL set (recommended)", {"REDIS_URL": REDIS_URL}),
        ("no Redis (per-process cache)", {}),
    ):
        if extra:
            redis.Redis.from_url(REDIS_URL).flushdb()
        readers = [reader(f"upstream{n}-{len(rows)}@bench.local")[1] for n in range(50)]
        books = synthetic_books(f"up{len(rows)}x", 100)
        queries = [f"bench query {len(rows)} {n}" for n in range(100)]
        with gunicorn(fakes, **extra) as base:
            gemini_before, google_before = fakes.gemini.calls, fakes.google.calls

            def summaries(token: str, books: list[str] = books) -> None:
                with requests.Session() as http:
                    http.headers.update(dict(PROXY, Authorization=f"Bearer {token}"))
                    for volume_id in rng.sample(books, 20):
                        http.post(f"{base}/api/v1/books/{volume_id}/summary/", timeout=60).raise_for_status()

            def searches(token: str, mine: list[str]) -> None:
                with requests.Session() as http:
                    http.headers.update(dict(PROXY, Authorization=f"Bearer {token}"))
                    for query in mine:
                        http.get(f"{base}/api/v1/books/search/", params={"q": query}, timeout=60).raise_for_status()

            with ThreadPoolExecutor(50) as pool:
                list(pool.map(summaries, readers))
            from books.models import Summary

            ready = Summary.objects.filter(book_id__in=books, status="ready")
            wait_until(lambda: ready.count() == 100, 120, "summaries")  # noqa: B023 - called right here
            search_plan = [queries[i % 100] for i in range(1000)]
            rng.shuffle(search_plan)
            with ThreadPoolExecutor(50) as pool:
                list(pool.map(searches, readers, [search_plan[i::50] for i in range(50)]))
            gemini_calls, google_calls = fakes.gemini.calls - gemini_before, fakes.google.calls - google_before
        # Summaries are claimed in the shared database: exactly one generation per book in any setup.
        # Search pages are cached in the cache: one shared cache (Redis) is what makes it exactly one call.
        search_target = "met" if google_calls == 100 else ("MISSED" if extra else "n/a: one cache per worker")
        rows.append(
            [
                label,
                "1,000 summary requests, 100 books, 50 readers",
                gemini_calls,
                f"{gemini_calls / 100:.2f}",
                "met" if gemini_calls == 100 else "MISSED",
            ]
        )
        rows.append(
            [label, "1,000 searches, 100 queries, 50 readers", google_calls, f"{google_calls / 100:.2f}", search_target]
        )
    emit("### Upstream cost")
    emit()
    emit(
        "50 concurrent readers (threads, one HTTP session each) against gunicorn with 2 workers. "
        "Baseline: the number of distinct books / queries (100): the ideal is one call each."
    )
    emit()
    table(["cache", "workload", "upstream calls", "× distinct", "exactly 100"], rows)


# --- 4. Cleanup at scale -----------------------------------------------------------------------------


MEASURE = """
import resource, subprocess, sys, time
started = time.perf_counter()
try:
    code = subprocess.run(sys.argv[2:], timeout=float(sys.argv[1])).returncode
except subprocess.TimeoutExpired:
    code = "timeout"
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""

NAIVE = {
    "batched `delete_otps` (ours)": ["manage.py", "scheduler", "--run", "delete_otps"],
    "one `QuerySet.delete()`": [
        "-c",
        "import django; django.setup(); from django.db.models import Q; from django.utils import timezone; "
        "from account.models import OneTimeCode as C; n = timezone.now(); "
        "print(C.objects.filter(Q(expires_at__lte=n) | Q(consumed_at__isnull=False)).delete()[0])",
    ],
    "naive ORM: load the queryset, delete each": [
        "-c",
        "import django; django.setup(); from django.db.models import Q; from django.utils import timezone; "
        "from account.models import OneTimeCode as C; n = timezone.now(); "
        "[c.delete() for c in list(C.objects.filter(Q(expires_at__lte=n) | Q(consumed_at__isnull=False)))]",
    ],
}


def fill_codes(expired: int, fresh: int) -> int:
    from django.db import connection

    from account.models import OneTimeCode

    user, _ = reader("cleanup@bench.local")
    OneTimeCode.objects.all().delete()
    with connection.cursor() as cursor:
        for count, expires in ((expired, "now() - interval '1 hour'"), (fresh, "now() + interval '1 hour'")):
            cursor.execute(
                "INSERT INTO account_onetimecode (user_id, purpose, code_hash, attempts, created_at, expires_at) "
                f"SELECT %s, 'verify_email', md5(g::text), 0, now(), {expires} FROM generate_series(1, %s) g",
                [user.pk, count],
            )
    return user.pk


def bench_cleanup(expired: int, fresh: int, naive_timeout: float) -> None:
    from account.models import OneTimeCode

    rows, baseline = [], None
    for label, args in NAIVE.items():
        fill_codes(expired, fresh)
        timeout = 600 if label.startswith("batched") else naive_timeout
        out = (
            subprocess.run(
                [sys.executable, "-c", MEASURE, str(timeout), sys.executable, *args],
                cwd=ROOT,
                env=os.environ,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        seconds, rss_kb, code = out.split()
        left = OneTimeCode.objects.count()
        seconds = float(seconds)
        baseline = baseline or seconds
        finished = code == "0"
        rows.append(
            [
                label,
                f"{seconds:.1f}" + ("" if finished else " (stopped: timeout)"),
                f"{seconds / baseline:.2f}",
                f"{int(rss_kb) / 1024:.0f}",
                f"{expired + fresh - left:,}" if finished else "not finished",
                f"{min(left, fresh):,} of {fresh:,}" if finished else "",
                ("met" if seconds <= 30 and int(rss_kb) / 1024 <= 150 else "MISSED")
                if label.startswith("batched")
                else "",
            ]
        )
    emit("### Cleanup at scale: `delete_otps`")
    emit()
    emit(
        f"{expired:,} expired codes plus {fresh:,} fresh ones in PostgreSQL, each variant in its own process "
        f"(peak RSS of that process); the naive ones stop after {naive_timeout:.0f} s. Baseline: ours."
    )
    emit()
    table(["variant", "seconds", "× ours", "peak MB", "deleted", "fresh kept", "≤ 30 s, ≤ 150 MB"], rows)


# --- 5. Cost growth ----------------------------------------------------------------------------------


def bench_cost_growth() -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from books.models import Bookmark, Note, Summary, SummaryUnlock

    rows = []
    counts = {}
    for size in (10, 1000):
        user, token = reader(f"growth{size}@bench.local")
        user.interests = ["history", "psychology"]
        user.save()
        volume_ids = synthetic_books(f"g{size}x", size)
        Bookmark.objects.bulk_create([Bookmark(user=user, book_id=v) for v in volume_ids], ignore_conflicts=True)
        Note.objects.bulk_create([Note(user=user, book_id=v, body="A note.") for v in volume_ids])
        summaries = Summary.objects.bulk_create(
            [
                Summary(book_id=v, status="ready", content=fake_gemini.VALID_CONTENT, provider="gemini")
                for v in volume_ids
            ],
            ignore_conflicts=True,
        )
        SummaryUnlock.objects.bulk_create(
            [SummaryUnlock(user=user, summary=s) for s in Summary.objects.filter(book_id__in=volume_ids)]
        )
        client = Client(headers={"Authorization": f"Bearer {token}", **PROXY})
        for path in (
            "/api/v1/library/?page_size=40",
            "/api/v1/library/notes/?page_size=40",
            "/api/v1/books/popular/",
            "/api/v1/books/recommended/",
        ):
            client.get(path)  # warm caches that are not what we measure
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
            assert response.status_code == 200, (path, response.content[:300])
            counts.setdefault(path, {})[size] = len(queries)
        del summaries
    for path, by_size in counts.items():
        rows.append(
            [
                f"GET {path.removeprefix('/api/v1/')}",
                by_size[10],
                by_size[1000],
                f"{by_size[1000] / by_size[10]:.2f}",
                "met" if by_size[10] == by_size[1000] else "MISSED",
            ]
        )
    emit("### Cost growth: queries per request")
    emit()
    emit(
        "The same reader request with 10 and with 1,000 bookmarks, notes and unlocked summaries "
        "(Django's CaptureQueriesContext, in process). Baseline: the count at 10."
    )
    emit()
    table(["endpoint", "queries @ 10", "queries @ 1,000", "× at 10", "equal"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per endpoint and connection count")
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk run")
    parser.add_argument("--codes", type=int, default=1_000_000, help="expired codes for the cleanup benchmark")
    parser.add_argument("--naive-timeout", type=float, default=120)
    parser.add_argument("--only", nargs="*", default=["throughput", "overhead", "upstream", "cleanup", "growth"])
    args = parser.parse_args()

    fakes = Fakes()
    os.environ.update(fakes.env())
    fresh_database(DATABASE_URL)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_books", verbosity=0)
    emit(f"## BookFlow benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    emit()
    emit(f"Command: `make bench` (`python bench/run.py {' '.join(sys.argv[1:])}`). Machine: {machine()}.")
    emit()
    steps = {
        "throughput": lambda: bench_throughput(fakes, args.runs, args.seconds),
        "overhead": lambda: bench_summary_overhead(fakes, 50),
        "upstream": lambda: bench_upstream_cost(fakes),
        "cleanup": lambda: bench_cleanup(args.codes, 10_000, args.naive_timeout),
        "growth": bench_cost_growth,
    }
    for name in args.only:
        steps[name]()
    (ROOT / "bench" / "latest.md").write_text("\n".join(OUT) + "\n")
    print("Written to bench/latest.md", flush=True)


if __name__ == "__main__":
    main()
