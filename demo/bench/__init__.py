"""`manage.py bench` in its parts: database, pages, reservations, imports, report."""

from .run import Bench

__all__ = ["Bench"]
