"""`manage.py deliver_webhooks [--once] [--limit N] [--timeout S]`: POST events to subscribers.

Without `--once` it runs until SIGTERM or Ctrl-C, a round every `--interval`
seconds, stopping between two deliveries (never in the middle of one).
"""

import signal
import threading

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from api.webhooks import TIMEOUT, webhooks_deliver_due


class Command(BaseCommand):
    help = "Deliver the events webhook subscriptions are due, in order, at least once."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stop = threading.Event()  # set by SIGTERM/SIGINT (or a test) to end the loop

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="Deliver what is due, then exit (for cron)."
        )
        parser.add_argument(
            "--limit", type=int, default=100, help="Events per subscription and round."
        )
        parser.add_argument(
            "--timeout", type=float, default=TIMEOUT, help="Seconds a receiver has to answer."
        )
        parser.add_argument(
            "--interval", type=float, default=5.0, help="Seconds between two rounds."
        )

    def handle(self, *args, once, limit, timeout, interval, **options):
        if not once and threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGINT):
                signal.signal(number, self._on_signal)
        while True:
            close_old_connections()  # a long-running process: drop a connection gone bad
            try:
                done = webhooks_deliver_due(limit=max(1, limit), timeout=timeout, stop=self.stop)
            except DatabaseError as exc:
                if once:
                    raise
                self.stderr.write(f"Database error, trying again next round: {exc}")
            else:
                if done.delivered or done.failed or once:
                    self.stdout.write(f"{done.delivered} delivered, {done.failed} failed.")
            if once or self.stop.wait(interval):
                return

    def _on_signal(self, number, frame):
        self.stderr.write("Stopping after the delivery in progress.")
        self.stop.set()
