"""`manage.py once_prune [--days N]`: forget one-time keys older than N days (30 by default).

A form posted again after its key was pruned books again: keep keys longer
than any page stays open.
"""

from django.core.management.base import BaseCommand, CommandError

from warehouse.once import KEEP_DAYS, once_keys_prune


class Command(BaseCommand):
    help = "Delete one-time keys (double-post guards) older than --days."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=KEEP_DAYS, help=f"keep this many days (default {KEEP_DAYS})"
        )

    def handle(self, *args, days, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        deleted = once_keys_prune(days=days)
        self.stdout.write(f"Deleted {deleted} one-time key{'s' if deleted != 1 else ''}.")
