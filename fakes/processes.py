"""The real processes for the end-to-end scripts (smoke, stress, bench): gunicorn and the worker as
Render starts them, each logging to a file, waited for by event (a log line, an answer), never by time;
and the fresh PostgreSQL database they run on.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent


class WaitFailed(Exception):
    """What we waited for never came, or the process that should bring it exited first."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A command run from the repository root, its output (stdout and stderr) in `logs/<name>.log`."""

    def __init__(self, name: str, args: list[str], env: dict, logs: Path) -> None:
        self.name, self.log = name, logs / f"{name}.log"
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_line(self, text: str, timeout: float) -> None:
        wait_until(lambda: text in self.output(), timeout, f"{self.name} logs {text!r}", self)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (what Render sends), SIGKILL to the whole session after `timeout`; the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        return self.popen.returncode


def start_gunicorn(env: dict, logs: Path, name: str = "web") -> Process:
    """The web process as Render starts it: gunicorn with gunicorn.conf.py, which binds 0.0.0.0:$PORT."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    return Process(name, [gunicorn, "bookflow_api.wsgi:application", "--config", "gunicorn.conf.py"], env, logs)


def start_worker(name: str, env: dict, logs: Path, *options: str) -> Process:
    """The worker as Render starts it: `python manage.py scheduler`, plus `options`."""
    return Process(name, [sys.executable, "manage.py", "scheduler", *options], env, logs)


def wait_until(check: Callable[[], object], timeout: float, what: str, process: Process | None = None):
    """Poll `check` until it returns something true and return that; a refused connection counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.popen.poll() is not None:
            raise WaitFailed(f"{process.name} exited with {process.popen.returncode} before: {what}")
        try:
            if result := check():
                return result
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise WaitFailed(f"timed out after {timeout:g} s waiting for: {what}")


def _admin(url: str, *statements: str) -> None:
    """Run statements on the server's `postgres` database, outside any transaction."""
    conn = psycopg2.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")))
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def fresh_database(url: str) -> None:
    """Drop and create the database of this PostgreSQL URL."""
    name = urlsplit(url).path.lstrip("/")
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    _admin(url, f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')
