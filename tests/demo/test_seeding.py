"""Demo data at scale, at a tiny size: consistent books, the same data for the same seed,
and the benchmark running end to end. No timing is asserted: the bench reports."""

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count

from billing.models import Invoice, Order
from demo import seeding
from devices.models import Device, State
from tests.roles import role
from warehouse.invariants import INVARIANTS, books_audit
from warehouse.models import Movement, Product, Reservation

TINY = seeding.SIZES["XS"]


@pytest.fixture
def roles(db):
    """The demo users' groups (a committing test's flush may have wiped them)."""
    for name in ("Warehouse staff", "Billing clerk"):
        role(name)


def seed(scale="XS", seed=42) -> str:
    out = StringIO()
    call_command("seed_demo", "--scale", scale, "--seed", str(seed), stdout=out)
    return out.getvalue()


def fingerprint() -> dict:
    """What must come out the same from the same seed."""
    return {
        "counts": seeding.table_counts(),
        "first skus": list(Product.objects.order_by("sku").values_list("sku", flat=True)[:10]),
        "first serials": list(
            Device.objects.order_by("product__sku", "serial").values_list("serial", flat=True)[:10]
        ),
        "states": dict(Device.objects.values_list("state").annotate(n=Count("id"))),
    }


def test_the_tiny_scale_writes_books_that_agree_with_their_ledger(roles):
    """Positions equal the ledger, balances equal positions by kind, nothing is negative at
    any point of the ledger, reservations fit in storage, devices sit where their last
    movement put them, FIFO layers add up to what is owned, sequences follow the numbers."""
    output = seed()

    assert "Scale XS built" in output
    assert books_audit().broken == []
    counts = seeding.table_counts()
    assert counts["products"] == TINY.products
    assert counts["parties"] == TINY.parties
    assert counts["devices"] == TINY.devices
    assert counts["real locations"] == TINY.locations
    assert abs(counts["movements"] - TINY.movements) < TINY.movements * 0.2
    assert abs(counts["documents"] - TINY.documents) < TINY.documents * 0.25


def test_the_tiny_scale_plays_a_living_back_office(roles):
    """Deliveries, moves, removals, sales to the sold location, documents in every state,
    devices sold to a party, open reservations held by confirmed documents."""
    seed()

    actions = set(Movement.objects.values_list("action", flat=True))
    assert {"add", "move", "sell", "adjust_up", "adjust_down", "isolate", "remove"} <= actions
    sold = Device.objects.filter(state=State.SOLD)
    assert sold.exists()
    assert not sold.filter(owner__isnull=True).exists()
    assert not sold.exclude(location_kind="sold").exists()
    assert Device.objects.filter(state=State.NEW, location_kind="storage").exists()
    assert Order.objects.filter(status=Order.Status.COMPLETED).exists()
    assert Invoice.objects.filter(status=Invoice.Status.POSTED).exists()
    assert Reservation.objects.filter(status=Reservation.Status.OPEN).exists()


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(roles):
    """Seeded randomness: the same seed, the same counts, SKUs and serials; another seed
    changes them."""
    runs = []
    for seed_value in (7, 7, 8):
        with transaction.atomic():
            seed(seed=seed_value)
            runs.append(fingerprint())
            transaction.set_rollback(True)

    assert runs[0] == runs[1]
    assert runs[0]["first skus"] != runs[2]["first skus"]


def test_the_bulk_scales_refuse_a_database_that_has_products(roles):
    """M and L load into an empty database only; --if-empty leaves a full one alone."""
    seed()

    with pytest.raises(CommandError, match="has products already"):
        seed()
    out = StringIO()
    call_command("seed_demo", "--scale", "XS", "--if-empty", stdout=out)
    assert "left as it is" in out.getvalue()


def test_check_alone_reports_every_invariant(roles):
    """`seed_demo --check` verifies the data as it is and names each invariant."""
    seed()
    out = StringIO()

    call_command("seed_demo", "--check", stdout=out)

    text = out.getvalue()
    assert "Books agree:" in text
    for name in INVARIANTS:
        assert re.search(rf"{re.escape(name)} +ok\n", text)


@pytest.mark.django_db(transaction=True)
def test_the_bench_runs_end_to_end_and_reports_every_row(tmp_path):
    """A tiny bench in the test database: it builds the data, measures each item and
    prints a table with every row, and writes the same rows as JSON."""
    for name in ("Warehouse staff", "Billing clerk"):
        role(name)
    out = StringIO()
    path = tmp_path / "bench.json"

    call_command(
        "bench",
        "--here",
        "--scale=XS",
        "--runs=2",
        "--warmups=1",
        "--threads=4",
        "--orders-per-thread=4",
        "--rounds=1",
        "--import-lines=300,100",
        f"--json={path}",
        stdout=out,
    )

    text = out.getvalue()
    for measure in (
        "seed_demo --scale XS: build time",
        "stock balance page (25 rows, one warehouse): server time",
        "stock balance page vs the naive ledger sum",
        "stock balance page: queries at 5 / 50 / 500 rows",
        "device list (state=new",
        "reservations: 4 threads confirming one-line orders",
        "reservations: units oversold / deadlocks",
        "FIFO report over the whole ledger",
        "check_books: ",
        "Books agree: ",
    ):
        assert measure in text
    assert "import opening_stock" in text or "import: not available" in text
    rows = {row["key"]: row for row in json.loads(path.read_text())["rows"]}
    assert rows["reservations_oversold"]["figure"] == "0 / 0"
    # The API's rows: the integrators' confirms through gunicorn oversell nothing, fail none.
    assert {"api_device_lookup", "api_ledger_deep", "api_confirm_rate"} <= rows.keys()
    confirms = rows["api_confirm_rate"]["detail"]
    assert (confirms["oversold"], confirms["errors"]) == (0, [])
    assert confirms["confirmed"] == confirms["available"]
    # The reservation statement alone is measured for the note, and cleaned up after.
    assert rows["reservations_rate"]["detail"]["floor_orders_per_s"] > 0
    assert not Reservation.objects.filter(document_type="bench").exists()
    assert rows["balance_queries"]["met"] is True
    assert (rows["check_books"]["figure"], rows["check_books"]["met"]) == (0, True)
    assert {
        "seed_build",
        "balance_vs_raw",
        "balance_vs_naive",
        "devices_vs_raw",
        "reservations_rate",
        "fifo_report",
    } <= rows.keys()
