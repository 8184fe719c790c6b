"""The production server and commands for tests: demo/production.py, on the test database."""

from demo.production import BASE_DIR, Gunicorn, database_url, production_env, run

__all__ = ["BASE_DIR", "Gunicorn", "database_url", "production_env", "run"]
