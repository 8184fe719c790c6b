"""Development: `make run`."""

from .base import *  # noqa: F403

DEBUG = True
SECRET_KEY = "dev-only-not-secret-8f2c1e0b9a7d4e3f"  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
