"""Run the project under its production settings, in a child process, on this database.

For the tests (on the test database) and the bench (on its own): the
production settings with a fresh secret key, and gunicorn with two workers on
a free loopback port.
"""

import os
import queue
import re
import secrets
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION = "inventory_site.settings.production"


def database_url() -> str:
    """The database in use, as a DATABASE_URL (the embedded server's socket)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def production_env(**extra: str) -> dict:
    """The environment of a production process: a fresh secret key, this database."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if k != "DJANGO_ALLOW_ASYNC_UNSAFE" and not k.startswith(("DJANGO_", "INVENTORY_"))
    }
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": PRODUCTION,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(45),  # 60 characters
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url(),
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def run(args: list[str], env: dict, timeout: int = 60) -> subprocess.CompletedProcess:
    """`python <args>` in the project folder; its output as text."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Gunicorn:
    """gunicorn in a child process; its log lines read by a thread, so the pipe never fills."""

    def __init__(self, env: dict):
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "inventory_site.wsgi:application"),
                *("--workers", "2", "--bind", "127.0.0.1:0", "--no-control-socket"),
            ],
            cwd=BASE_DIR,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 15) -> re.Match:
        """The first log line matching `pattern`, else the log so far as the failure."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                log = "".join(self.log)
                raise RuntimeError(f"gunicorn never logged {pattern!r}:\n{log}") from None
            self.log.append(line)
            if match := re.search(pattern, line):
                return match

    def address(self) -> str:
        """Its base URL, once it listens."""
        port = self.wait_for(r"Listening at: http://127\.0\.0\.1:(\d+)")[1]
        return f"http://127.0.0.1:{port}"

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
