"""Development: `make run`."""

from inventory_site.database import database_config, database_role

from .base import *  # noqa: F403
from .base import BASE_DIR

DEBUG = True
SECRET_KEY = "dev-only-not-secret-8f2c1e0b9a7d4e3f"  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

# DATABASE_URL when set, else the embedded server in .pgdata/; the role by command.
DATABASES = {"default": database_config(role=database_role(), embedded_dir=BASE_DIR / ".pgdata")}
