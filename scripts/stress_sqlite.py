"""Web and worker on one SQLite file under concurrent writes (`make stress`): zero `database is locked`, zero 5xx.

Boots what a fresh machine runs, as production would run it — gunicorn (2 workers x 4 threads, DEBUG off)
and two `scheduler` workers (a leader and a standby) on one SQLite file, every cron job firing every
second — then, for `--seconds` (60), readers sign up (code from a local SMTP sink), verify, and write
through the API: sign-ups, bookmarks, notes, summary requests (offline provider), password resets,
library reads. Halfway
through the leader is killed (SIGKILL) and the standby takes over under load. At the end every process
gets SIGTERM and must exit 0. Prints a table; exits non-zero if any log holds `database is locked`, any
request answered 5xx or failed, or a process exited badly.
"""

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakes import google_books as fake_google_books  # noqa: E402 (needs the repository on sys.path)
from fakes import smtp as fake_smtp  # noqa: E402
from fakes.processes import Process, free_port, start_gunicorn, start_worker, wait_until  # noqa: E402

PASSWORD = "a-long-Stress-passphrase-42"
LOCKED = "database is locked"


class Reader:
    """One reader's app: signs up, then writes in a loop; counts every answer by endpoint and status."""

    def __init__(
        self, base: str, smtp: fake_smtp.SMTPSink, seed_ids: list[str], results: Counter, lock: threading.Lock
    ):
        self.base, self.smtp, self.seed_ids, self.results, self.lock = base, smtp, seed_ids, results, lock
        self.session = requests.Session()
        self.session.headers["X-Forwarded-Proto"] = "https"
        self.email = f"reader-{random.getrandbits(48):012x}@example.com"

    def call(self, name: str, method: str, path: str, **kwargs) -> requests.Response | None:
        try:
            response = self.session.request(method, self.base + path, timeout=60, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.results[(name, f"error {type(exc).__name__}")] += 1
            return None
        with self.lock:
            self.results[(name, response.status_code)] += 1
        return response

    def sign_up(self, deadline: float) -> bool:
        self.call("register", "POST", "/api/v1/auth/register/", json={"email": self.email, "password": PASSWORD})
        code = None
        while code is None and time.monotonic() < deadline:
            code = self.smtp.code_for(self.email)
            time.sleep(0.05)
        if code is None:
            return False
        verified = self.call("verify", "POST", "/api/v1/auth/verify-email/", json={"email": self.email, "code": code})
        if verified is None or verified.status_code != 200:
            return False
        self.session.headers["Authorization"] = f"Bearer {verified.json()['access']}"
        return True

    def work(self, deadline: float) -> None:
        if not self.sign_up(deadline):
            return
        notes: list[int] = []
        while time.monotonic() < deadline:
            volume_id = random.choice(self.seed_ids)
            action = random.randrange(8)
            if action == 0:
                self.call("bookmark", "PUT", f"/api/v1/library/bookmarks/{volume_id}/")
            elif action == 1:
                self.call("unbookmark", "DELETE", f"/api/v1/library/bookmarks/{volume_id}/")
            elif action == 2:
                created = self.call("note", "POST", "/api/v1/library/notes/", json={"book": volume_id, "body": "x"})
                if created is not None and created.status_code == 201:
                    notes.append(created.json()["id"])
            elif action == 3 and notes:
                self.call("note edit", "PATCH", f"/api/v1/library/notes/{random.choice(notes)}/", json={"body": "y"})
            elif action == 4:
                self.call("summary", "POST", f"/api/v1/books/{volume_id}/summary/")
            elif action == 5:
                self.call("resend", "POST", "/api/v1/auth/password/reset/", json={"email": self.email})
            elif action == 6:
                body = {"email": f"later-{random.getrandbits(48):012x}@example.com", "password": PASSWORD}
                self.call("register", "POST", "/api/v1/auth/register/", json=body)
            else:
                self.call("library", "GET", "/api/v1/library/")


def seed_volume_ids(env: dict) -> list[str]:
    code = (
        "import django; django.setup(); from books.models import Book; "
        "print(*Book.objects.values_list('pk', flat=True))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return out.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long readers write (default 60)")
    parser.add_argument("--readers", type=int, default=16, help="concurrent readers (default 16)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bookflow-stress-"))
    google, smtp = fake_google_books.start(), fake_smtp.start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DJANGO_", "PYTEST"))} | {
        "DEBUG": "0",
        "APP_SECRET_KEY": "stress-test-secret-key-not-for-production-0123456789abcdef",
        "DATABASE_URL": f"sqlite:///{work / 'stress.sqlite3'}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "NUM_PROXIES": "1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "GOOGLE_BOOKS_BASE_URL": f"http://127.0.0.1:{google.server_address[1]}/books/v1",
        "SUMMARY_PROVIDER": "offline",
        "SUMMARY_TASK_DELAY_SECONDS": "0.2",
        "FREE_TRIAL_DELAY_SECONDS": "0.5",
        "MAIL_SMTP_HOST": "127.0.0.1",
        "MAIL_SMTP_PORT": str(smtp.server_address[1]),
        "MAIL_SMTP_PASSWORD": "stress",
        "MAIL_SMTP_USER": "",
        # Every reader shares 127.0.0.1: lift the per-address limits, keep the rest as configured.
        "THROTTLE_RATES": "register_ip=100000/min,login_ip=100000/min,code_check_ip=100000/min,"
        "code_send_ip=100000/min,catalogue_user=100000/min",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "bookflow_api.settings",
    }
    env.pop("REDIS_URL", None)
    env.pop("EMAIL_BACKEND", None)
    worker_options = ("--every", "1", "--standby-poll", "0.2")
    processes: list[Process] = []
    results: Counter = Counter()
    failures: list[str] = []
    print(f"Stress: gunicorn 2x4 + 2 workers on {env['DATABASE_URL']}, {args.readers} readers for {args.seconds:g} s")
    print(f"Logs in {work}", flush=True)
    try:
        for command in (["migrate", "--no-input", "-v0"], ["seed_books"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, timeout=300)
        seed_ids = seed_volume_ids(env)
        leader = start_worker("worker-1", env, work, *worker_options)
        leader.wait_for_line("Starting scheduler...", 60)
        standby = start_worker("worker-2", env, work, *worker_options)
        standby.wait_for_line("standing by", 60)
        web = start_gunicorn(env, work)
        processes += [leader, standby, web]
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(f"{base}/api/health/", timeout=5).status_code == 200, 60, "web health", web)

        deadline = time.monotonic() + args.seconds
        lock = threading.Lock()
        readers = [Reader(base, smtp, seed_ids, results, lock) for _ in range(args.readers)]
        threads = [threading.Thread(target=reader.work, args=(deadline,)) for reader in readers]
        for thread in threads:
            thread.start()
        time.sleep(args.seconds / 2)  # the load's own clock: halfway through, the leader dies
        leader.popen.kill()
        standby.wait_for_line("Starting scheduler...", 60)
        spare = start_worker("worker-3", env, work, *worker_options)
        processes.append(spare)
        spare.wait_for_line("standing by", 60)
        for thread in threads:
            thread.join()

        for process in processes:
            code = process.stop()
            if process is not leader and code != 0:
                failures.append(f"{process.name} exited {code} on SIGTERM")
    finally:
        for process in processes:
            process.stop(timeout=10)

    logs = {process.name: process.output() for process in processes}
    locked = {name: text.count(LOCKED) for name, text in logs.items()}
    tracebacks = {name: text.count("Traceback (most recent call last)") for name, text in logs.items()}
    executed = sum(len(re.findall(r"Starting scheduler\.\.\.", text)) for text in logs.values())  # leaders that started
    server_errors = sum(n for (_, status), n in results.items() if not isinstance(status, int) or status >= 500)
    failures += [f"{name}: {n} x {LOCKED!r}" for name, n in locked.items() if n]
    failures += [f"{name}: {n} traceback(s)" for name, n in tracebacks.items() if n]
    if server_errors:
        failures.append(f"{server_errors} request(s) answered 5xx or failed")
    jobs = job_runs(env)
    if not jobs:
        failures.append("no job ran")

    print("\n| endpoint | status | requests |\n|---|---|---|")
    for (name, status), count in sorted(results.items(), key=lambda item: (item[0][0], str(item[0][1]))):
        print(f"| {name} | {status} | {count} |")
    print(f"| **all** | | **{sum(results.values())}** |")
    print("\n| job | runs (status Executed) |\n|---|---|")
    for job_id, count in sorted(jobs.items()):
        print(f"| {job_id} | {count} |")
    print(f"\nLeaders started: {executed}; '{LOCKED}' in logs: {sum(locked.values())}; 5xx/failed: {server_errors}")
    if failures:
        print("\nSTRESS FAILED:\n- " + "\n- ".join(failures), file=sys.stderr)
        for name, text in logs.items():
            bad = [line for line in text.splitlines() if LOCKED in line or "Error" in line][:20]
            if bad:
                print(f"\n--- {name} ({work / (name + '.log')}) ---\n" + "\n".join(bad), file=sys.stderr)
        return 1
    print("Stress passed.")
    return 0


def job_runs(env: dict) -> dict[str, int]:
    code = (
        "import django; django.setup(); from django.db.models import Count; "
        "from django_apscheduler.models import DjangoJobExecution as E; "
        "[print(r['job_id'], r['n']) for r in E.objects.filter(status=E.SUCCESS)"
        ".values('job_id').annotate(n=Count('id'))]"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return {job_id: int(n) for job_id, n in (line.split() for line in out.stdout.splitlines())}


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
