"""The production server: gunicorn with two workers, static files from whitenoise."""

import gzip
import re
import urllib.error
import urllib.request

import pytest

from tests.production import Gunicorn, production_env, run

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
