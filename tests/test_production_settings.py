"""Production settings: a missing secret key said in one line, errors logged with traceback."""

import pytest

from tests.production import production_env, run

# A view that fails, served under the production settings through Django's test client
# (over https, as the proxy would say), so the log is production's own.
FAILING_REQUEST = """
import django
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.test import Client
from django.urls import path

django.setup()


@login_not_required
def broken(request):
    raise RuntimeError("the shelf fell over")


urlpatterns = [path("broken/", broken)]
settings.ROOT_URLCONF = __name__
response = Client(raise_request_exception=False).get("/broken/", secure=True)
print(response.status_code)
"""


@pytest.mark.django_db
def test_production_settings_without_a_secret_key_say_so_in_one_line():
    """Not a KeyError traceback: an ImproperlyConfigured that names the variable."""
    env = production_env(DJANGO_SECRET_KEY=None)

    result = run(["manage.py", "check"], env)

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY")
    assert "KeyError" not in result.stderr


@pytest.mark.django_db
def test_a_failing_request_is_logged_to_stderr_with_its_traceback():
    env = production_env(DJANGO_ALLOWED_HOSTS="testserver")

    result = run(["-c", FAILING_REQUEST], env)

    assert result.stdout.strip() == "500", result.stderr
    log = result.stderr
    assert "ERROR django.request" in log
    assert "Internal Server Error: /broken/" in log
    assert "Traceback (most recent call last):" in log
    assert "RuntimeError: the shelf fell over" in log


@pytest.mark.django_db
def test_the_log_level_comes_from_the_environment():
    """DJANGO_LOG_LEVEL=CRITICAL keeps even a failing request out of the log."""
    env = production_env(DJANGO_ALLOWED_HOSTS="testserver", DJANGO_LOG_LEVEL="CRITICAL")

    result = run(["-c", FAILING_REQUEST], env)

    assert result.stdout.strip() == "500", result.stderr
    assert "the shelf fell over" not in result.stderr
