"""`manage.py import <kind> FILE`: check a CSV or XLSX file, then import it in one transaction.

A file with problems changes nothing: each problem is printed to stderr as
`file:row:column: message` (up to --max-errors) and the exit status is 1.
"""

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from warehouse.imports import FORMATS, IMPORTERS, MAX_ERRORS


class Command(BaseCommand):
    help = "Import products, parties, locations, constraints, opening stock or devices."

    def add_arguments(self, parser):
        parser.add_argument("kind", help="what the file holds: " + ", ".join(sorted(IMPORTERS)))
        parser.add_argument("file", help="a .csv (UTF-8, , or ; separated) or .xlsx file")
        parser.add_argument(
            "--dry-run", action="store_true", help="check the whole file, apply nothing"
        )
        parser.add_argument(
            "--max-errors",
            type=int,
            default=MAX_ERRORS,
            help=f"stop after this many problems (default {MAX_ERRORS})",
        )
        parser.add_argument("--format", choices=FORMATS, help="when the file name does not say")
        parser.add_argument("--user", help="the username the ledger records as who booked")

    def handle(self, *args, kind, file, dry_run, max_errors, format, user, **options):
        try:
            importer_class = IMPORTERS[kind]
        except KeyError:
            raise CommandError(
                f"Unknown kind “{kind}”: choose one of {', '.join(sorted(IMPORTERS))}."
            ) from None
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"No user named “{user}”.")
        try:
            open(file, "rb").close()
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}.") from None
        bar = ProgressBar(self.stderr) if self.stderr.isatty() else None
        importer = importer_class(
            path=file, name=file, actor=actor, max_errors=max_errors, format=format, progress=bar
        )
        result = importer.run(dry_run=dry_run)
        if bar is not None:
            bar.close()
        for problem in result.problems:
            self.stderr.write(str(problem))
        if result.problems:
            raise CommandError(result.summary(), returncode=1)
        self.stdout.write(result.summary())


class ProgressBar:
    """One line on a terminal: phase, bar, rows, rows per second; redrawn a few times a second."""

    WIDTH = 24

    def __init__(self, stream, *, interval: float = 0.2):
        self.stream = stream
        self.interval = interval
        self.started = time.monotonic()
        self.shown = 0.0
        self.phase = None
        self.drawn = False

    def __call__(self, phase: str, rows: int, done: float | None) -> None:
        now = time.monotonic()
        if phase == self.phase and now - self.shown < self.interval and done != 1.0:
            return
        self.phase, self.shown = phase, now
        elapsed = max(now - self.started, 1e-6)
        if done is None:
            bar = " " * self.WIDTH
            percent = "    "
        else:
            filled = int(done * self.WIDTH)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            percent = f"{done:4.0%}"
        line = f"\r{phase:<10} [{bar}] {percent} {rows:>11,} rows {rows / elapsed:>10,.0f} rows/s"
        self.stream.write(line, ending="")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("")
