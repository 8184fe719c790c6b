"""`manage.py check_books`: audit the books; exit 1 naming every row that disagrees.

It runs every check registered with `warehouse.invariants.invariant_register`
(the warehouse's, the devices', billing's), read-only, as the application
role. When the books agree it prints one line and exits 0.
"""

from django.core.management.base import BaseCommand, CommandError

from warehouse.invariants import VIOLATIONS_SHOWN, books_audit


class Command(BaseCommand):
    help = "Check that cached stock, devices and documents agree with the ledger."

    def add_arguments(self, parser):
        parser.add_argument(
            "--skip-ledger-order",
            action="store_true",
            help="Skip the check that walks the whole ledger in order (no location below "
            "zero at any point): the dearest one on a large ledger.",
        )
        parser.add_argument(
            "--each",
            action="store_true",
            help="Print every check with ok or its number of broken rows.",
        )

    def handle(self, *args, skip_ledger_order=False, each=False, **options):
        audit = books_audit(ledger_order=not skip_ledger_order)
        if each:
            width = max(len(name) for name, _ in audit.results)
            for name, found in audit.results:
                mark = "ok" if not found else f"BROKEN ({_rows(found)})"
                self.stdout.write(f"  {name:<{width}}  {mark}")
        for name, found in audit.broken:
            self.stdout.write(self.style.ERROR(f"{name}: {_rows(found)}"))
            for violation in found:
                self.stdout.write(f"  {violation}")
        if audit.broken:
            raise CommandError(
                f"Books disagree: {len(audit.broken)} of {len(audit.results)} checks broken."
            )
        self.stdout.write(self.style.SUCCESS(audit.summary()))


def _rows(found) -> str:
    more = "+" if len(found) >= VIOLATIONS_SHOWN else ""
    return f"{len(found):,}{more} row{'s' if len(found) != 1 else ''}"
