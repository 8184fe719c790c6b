"""Tests: their own embedded server, stopped when the last test process exits."""

from .base import *  # noqa: F403
from .base import BASE_DIR, database_config

SECRET_KEY = "test-only-not-secret"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
DATABASES = {
    "default": database_config(base_dir=BASE_DIR, data_dir=".pgdata-test", stop_on_exit=True)
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
