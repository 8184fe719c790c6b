"""Tests: their own embedded server, stopped when the last test process exits.

They connect as the owner: the test runner creates and flushes (TRUNCATE)
databases. tests/test_database_roles.py connects as the application role.
"""

from inventory_site.database import database_config

from .base import *  # noqa: F403
from .base import BASE_DIR

SECRET_KEY = "test-only-not-secret"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
DATABASES = {
    "default": database_config(role="owner", embedded_dir=BASE_DIR / ".pgdata-test", throwaway=True)
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
