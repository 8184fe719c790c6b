"""The production server: gunicorn with two workers, static files from whitenoise."""

import gzip
import queue
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from tests.production import BASE_DIR, production_env, run

HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS proxy in front of gunicorn sends


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


fetcher = urllib.request.build_opener(_NoRedirect)


def fetch(url: str, headers: dict | None = None):
    """(status, headers, body) of a GET, redirects not followed."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with fetcher.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


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
                pytest.fail(f"gunicorn never logged {pattern!r}:\n{''.join(self.log)}")
            self.log.append(line)
            if match := re.search(pattern, line):
                return match

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.mark.django_db
def test_gunicorn_serves_the_login_page_and_static_files_under_production_settings(tmp_path):
    """Two workers answer the login page with the security and CSP headers; whitenoise
    serves the hashed, gzipped htmx that collectstatic wrote; plain http goes to https."""
    env = production_env(DJANGO_STATIC_ROOT=str(tmp_path / "staticfiles"))
    collected = run(["manage.py", "collectstatic", "--no-input"], env)
    assert collected.returncode == 0, collected.stdout + collected.stderr

    server = Gunicorn(env)
    try:
        port = server.wait_for(r"Listening at: http://127\.0\.0\.1:(\d+)")[1]
        workers = {server.wait_for(r"Booting worker with pid: (\d+)")[1] for _ in range(2)}
        base = f"http://127.0.0.1:{port}"

        status, headers, body = fetch(f"{base}/login/", HTTPS)
        assert status == 200, body
        assert b'name="password"' in body
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"

        # The page names the hashed copy of htmx (the manifest storage), whitenoise serves it.
        script = re.search(rb'src="(/static/django_htmx/htmx-2\.min\.[0-9a-f]{12}\.js)"', body)
        assert script, "the login page does not load a hashed htmx"
        status, headers, body = fetch(
            base + script[1].decode(), {**HTTPS, "Accept-Encoding": "gzip"}
        )
        assert status == 200
        assert headers["Content-Encoding"] == "gzip"
        assert "immutable" in headers["Cache-Control"]
        assert b"htmx" in gzip.decompress(body)

        status, headers, _ = fetch(f"{base}/login/")
        assert status == 301
        assert headers["Location"] == f"https://127.0.0.1:{port}/login/"
    finally:
        server.stop()
    assert len(workers) == 2
    assert server.process.returncode == 0, "".join(server.log)
