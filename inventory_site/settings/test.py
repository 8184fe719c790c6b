"""Tests: their own embedded server, stopped when the last test process exits.

They connect as the owner: the test runner creates and flushes (TRUNCATE)
databases. tests/test_database_roles.py connects as the application role.

Each xdist worker has a server of its own (`.pgdata-test-gw0`, ...): the event
feed's horizon is the cluster's oldest running transaction, so a long test of
one worker would otherwise hold back the feed that a test of the other reads.
The processes a test starts (gunicorn, manage.py) inherit the worker's name.
"""

import os

from inventory_site.database import database_config

from .base import *  # noqa: F403
from .base import BASE_DIR

SECRET_KEY = "test-only-not-secret"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
DATABASES = {
    "default": database_config(
        role="owner",
        embedded_dir=BASE_DIR / (f".pgdata-test-{_WORKER}" if _WORKER else ".pgdata-test"),
        throwaway=True,
    )
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
