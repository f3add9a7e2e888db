"""End-to-end smoke test of a production-like deployment (`make smoke`).

Boots what Render runs — `migrate` (the pre-deploy step), gunicorn with gunicorn.conf.py and the
`scheduler` worker, DEBUG off — against a fresh PostgreSQL database, with local fakes for Google Books,
Gemini (reached through the real google-genai client) and an SMTP server, then walks a reader's
journey over HTTP: health -> register -> code from the email -> verify -> trial -> search ->
summary 202 -> ready -> library. Prints each step; exits non-zero at the first failure.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakes import gemini as fake_gemini  # noqa: E402 (needs the repository on sys.path)
from fakes import google_books as fake_google_books  # noqa: E402
from fakes import smtp as fake_smtp  # noqa: E402
from fakes.processes import (  # noqa: E402
    Process,
    WaitFailed,
    drop_database,
    free_port,
    fresh_database,
    start_gunicorn,
    start_worker,
    wait_until,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bookflow_smoke"
EMAIL, PASSWORD = "smoke.reader@example.com", "a-long-Smoke-passphrase-42"


class SmokeFailure(Exception):
    pass


class Client:
    """HTTP as a reader's app sees it through Render's proxy (TLS ended there, X-Forwarded-Proto set)."""

    def __init__(self, base: str) -> None:
        self.base, self.session = base, requests.Session()
        self.session.headers["X-Forwarded-Proto"] = "https"

    def call(self, method: str, path: str, expect: int | tuple[int, ...], **kwargs) -> requests.Response:
        response = self.session.request(method, self.base + path, timeout=30, allow_redirects=False, **kwargs)
        expected = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in expected:
            raise SmokeFailure(f"{method} {path}: expected {expect}, got {response.status_code}: {response.text[:500]}")
        return response


def step(number: int, title: str, detail: str) -> None:
    print(f"  [{number:2}] {title:<34} ok  {detail}", flush=True)


def walk(api: Client, smtp: fake_smtp.SMTPSink, gemini, web: Process, worker: Process) -> None:
    health = wait_until(
        lambda: (
            (r := api.call("GET", "/api/health/", (200, 503))).status_code == 200
            and r.json()["worker"]["alive"]
            and r.json()
        ),
        60,
        "/api/health/ with the worker alive",
        web,
    )
    step(1, "health", f"database {health['database']}, worker last seen {health['worker']['last_seen']}")
    web.wait_for_line("Background scheduler started successfully for async tasks.", 10)
    step(2, "web log", "'Background scheduler started successfully for async tasks.'")
    for line in ("Added job 'delete_otps'.", "Added daily job: 'delete_old_job_executions'.", "Starting scheduler..."):
        worker.wait_for_line(line, 10)
    step(3, "worker log", "'Added job ...', 'Added daily job ...', 'Starting scheduler...'")

    user = api.call("POST", "/api/v1/auth/register/", 201, json={"email": EMAIL, "password": PASSWORD}).json()
    step(4, "register", f"user {user['id']}, verified={user['is_verified']}")

    code = wait_until(lambda: smtp.code_for(EMAIL), 30, "the code email")
    step(5, "code arrives by email (SMTP)", f"subject {smtp.message_to(EMAIL)['Subject']!r}")

    tokens = api.call("POST", "/api/v1/auth/verify-email/", 200, json={"email": EMAIL, "code": code}).json()
    api.session.headers["Authorization"] = f"Bearer {tokens['access']}"
    step(6, "verify", "access and refresh tokens")

    started = time.monotonic()
    subscription = wait_until(
        lambda: (s := api.call("GET", "/api/v1/account/subscription/", 200).json())["status"] == "trialing" and s,
        30,
        "the free trial",
        web,
    )
    wait_until(lambda: any("trial has started" in m["Subject"] for m in smtp.messages), 15, "the trial email")
    step(
        7,
        "trial appears",
        f"{subscription['plan']} until {subscription['trial_ends_at']} after {time.monotonic() - started:.1f} s",
    )

    results = api.call("GET", "/api/v1/books/search/", 200, params={"q": "atomic habits james clear"}).json()
    if results["source"] != "google_books" or not results["results"]:
        raise SmokeFailure(f"search did not come from Google Books: {results}")
    book = results["results"][0]
    step(8, "search", f"{results['count']} results from {results['source']}; first: {book['title']!r}")

    started = time.monotonic()
    accepted = api.call("POST", f"/api/v1/books/{book['id']}/summary/", 202)
    location = accepted.headers["Location"]
    step(9, "summary requested", f"202, Location {location}")

    summary = wait_until(
        lambda: (s := api.call("GET", location, 200).json())["status"] in ("ready", "failed") and s,
        60,
        "the summary",
        web,
    )
    if summary["status"] != "ready" or summary["provider"] != "gemini":
        raise SmokeFailure(f"summary ended {summary['status']} from {summary['provider']!r}: {summary['error']}")
    step(10, "summary ready", f"from {summary['provider']} in {time.monotonic() - started:.1f} s, {gemini.calls} call")

    library = api.call("GET", "/api/v1/library/", 200).json()
    if not any(item["book"]["id"] == book["id"] for item in library["results"]):
        raise SmokeFailure(f"the unlocked book is not in the library: {library}")
    step(11, "library", f"{library['count']} item(s), including the unlocked book")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("SMOKE_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--keep-database", action="store_true", help="leave the smoke database for inspection")
    args = parser.parse_args()

    logs = Path(tempfile.mkdtemp(prefix="bookflow-smoke-"))
    google, gemini, smtp = fake_google_books.start(), fake_gemini.start(), fake_smtp.start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DJANGO_"))} | {
        "DEBUG": "0",
        "APP_SECRET_KEY": "smoke-test-secret-key-not-for-production-0123456789abcdef",
        "DATABASE_URL": args.database_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "NUM_PROXIES": "1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "GOOGLE_BOOKS_BASE_URL": f"http://127.0.0.1:{google.server_address[1]}/books/v1",
        "GOOGLE_BOOKS_API_KEY": "smoke-books-key",
        "GOOGLE_API_KEY": "smoke-gemini-key",
        "GEMINI_BASE_URL": f"http://127.0.0.1:{gemini.server_address[1]}",
        "MAIL_SMTP_HOST": "127.0.0.1",
        "MAIL_SMTP_PORT": str(smtp.server_address[1]),
        "MAIL_SMTP_PASSWORD": "smoke",
        "MAIL_SMTP_USER": "",
        "REDIS_URL": "",
        "EMAIL_BACKEND": "",
        "PYTHONUNBUFFERED": "1",
    }
    env = {k: v for k, v in env.items() if v != "" or k in ("MAIL_SMTP_USER", "REDIS_URL")}
    processes: list[Process] = []
    print(f"Smoke test: gunicorn + worker on {args.database_url} (logs in {logs})", flush=True)
    try:
        fresh_database(args.database_url)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
        )
        step(0, "pre-deploy: migrate", "fresh database migrated")
        worker = start_worker("worker", env, logs)
        web = start_gunicorn(env, logs)
        processes += [worker, web]
        walk(Client(f"http://127.0.0.1:{port}"), smtp, gemini, web, worker)
        codes = {process.name: process.stop() for process in processes}
        if codes["worker"] != 0:
            raise SmokeFailure(f"the worker exited {codes['worker']} on SIGTERM, not 0")
        step(12, "shutdown", "SIGTERM: worker exited 0, gunicorn stopped")
    except (SmokeFailure, WaitFailed, subprocess.CalledProcessError, psycopg2.Error, requests.RequestException) as exc:
        print(f"\nSMOKE TEST FAILED: {exc}", file=sys.stderr)
        for process in processes:
            print(f"\n--- last lines of {process.name} ({process.log}) ---", file=sys.stderr)
            print("\n".join(process.output().splitlines()[-40:]), file=sys.stderr)
        return 1
    finally:
        for process in processes:
            process.stop(timeout=10)
        if not args.keep_database:
            drop_database(args.database_url)
    print("Smoke test passed.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
