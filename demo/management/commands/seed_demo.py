"""Demo data: a living warehouse, small through the services or large by COPY.

`--scale S` (the default, what `make run` loads) books a first look through
the services (demo.small). `--scale M` and `--scale L` write a reproducible
history of thousands of products and millions of movements with
`demo.seeding` (PostgreSQL COPY, projections derived in SQL). `--check`
runs the audit of the books (`check_books`). It lives in demo, the top
floor, because it drives all three apps: stock, devices and documents.
"""

import argparse
import random

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from demo.bulk import scale_build
from demo.small import SmallBooks
from demo.users import credentials_text, users_ensure, users_existing
from warehouse.models import Product

PRODUCTION_SETTINGS = "inventory_site.settings.production"


class Command(BaseCommand):
    help = "Load demo data (warehouses, products, parties, movements), demo users if asked."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when products exist already."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (reproducible).")
        parser.add_argument(
            "--scale",
            choices=["S", "M", "L", "XS"],
            help="S: a first look, through the services (the default). M: 2,000 products, "
            "200,000 movements. L: 20,000 products, 1,000 locations, 2,000,000 movements, "
            "200,000 devices, 20,000 parties, 50,000 documents (minutes, by COPY).",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Audit the books as check_books does (after seeding; alone: the data "
            "as it is). Exit status 1 when one is broken.",
        )
        parser.add_argument(
            "--demo-users",
            action="store_true",
            help="With the demo data, the logins admin/admin, staff/staff and clerk/clerk "
            "(development only: refused unless DEBUG). Without it, nobody can log in as the "
            "users the data is booked by.",
        )
        # For tests and experiments: L scaled by a factor.
        parser.add_argument("--size-factor", type=float, help=argparse.SUPPRESS)

    def handle(
        self, *args, if_empty=False, seed=42, scale=None, check=False, demo_users=False, **options
    ):
        factor = options.get("size_factor")
        if scale is None and factor is None and check:
            self.check_invariants()  # the data as it is: nothing written
            return
        self.refuse_outside_development(demo_users)
        if if_empty and Product.objects.exists():
            # The data is left alone, and so are the users: none created, none changed.
            self.stdout.write("Demo data: the database has products already, left as it is.")
            if demo_users:
                self.credentials_print(users_existing())
            return
        users = users_ensure(passwords=demo_users)
        if (scale or "S") == "S" and factor is None:
            books = SmallBooks(log=self.stderr.write)
            with transaction.atomic():
                books.seed(random.Random(seed), users["staff"])
                books.documents(random.Random(seed), users["clerk"], users["staff"])
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        else:
            self.seed_scale(scale, factor, seed, users)
        if check:
            self.check_invariants()
        self.credentials_print(users)

    def refuse_outside_development(self, demo_users):
        """No demo data under production settings; no known password unless DEBUG."""
        if settings.SETTINGS_MODULE == PRODUCTION_SETTINGS:
            raise CommandError(
                "seed_demo writes demo data and its users: refused under production settings."
            )
        if demo_users and not settings.DEBUG:
            raise CommandError(
                "--demo-users gives known passwords: for development (DEBUG) only, refused here."
            )

    def seed_scale(self, scale, factor, seed, users):
        """M, L (or L scaled by --size-factor): the bulk generator, into an empty database."""
        return scale_build(
            scale=scale, factor=factor, seed=seed, users=users, stdout=self.stdout, style=self.style
        )

    def check_invariants(self):
        """The audit of the books (warehouse.invariants): one line per check."""
        call_command("check_books", "--each", stdout=self.stdout, stderr=self.stderr)

    def credentials_print(self, users):
        if text := credentials_text(users):
            self.stdout.write(text)
