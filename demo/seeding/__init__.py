"""Demo data at scale: a reproducible history written by COPY, projections derived in SQL.

For speed, this generator does not book through the services: it replays the
ledger's rules (warehouse.services: positions, the moving average, FIFO
layers, reservations; devices.states: where a device may be in each state)
in its own integer arithmetic, and writes only the final rows. A rule changed
in the services and not here goes wrong silently, unless a test says so.
What keeps it honest is tests/demo/test_seeding_against_services.py: it
seeds a small size (the hidden XXS), rolls it back and replays the same
history through the services (`movements_book` line by line in ledger order,
`reservations_hold`/`reservations_close`, `stock_blocked_change`) into the
same catalogue, and compares ledger lines, positions, balances, moving
averages, FIFO layers and consumptions, packages and reservations row for
row (`tests.books.books_snapshot`). tests/demo/test_seeding.py builds the XS
scale and runs the audit of the books (warehouse.invariants, what
`manage.py check_books` runs) over it, which must find nothing;
`seed_demo --check` runs it on any data set.

`seed_demo --scale M|L` calls `seed_scale`. A seeded `random.Random` plays
two years of a back office in time order, one event at a time: deliveries
(into storage, or into an incoming location and put away later), re-slotting
moves, isolations and their outcome, stocktake adjustments, removals,
transfers between the warehouses, blocked devices, and documents — orders
that are confirmed (reserving), dispatched, completed (invoiced, sold,
rented), cancelled; invoices issued and posted; rentals coming back; credit
notes. The player keeps, per product × warehouse, what each location holds,
what is reserved and blocked, the moving average cost and the FIFO layers,
and applies the services' rules to every step (no real location below zero
at any point of the ledger, nothing leaves storage that is reserved or
blocked, devices only where their state allows). It writes final rows only
(the ledger refuses UPDATE and DELETE): movements stream into the ledger by
COPY while the history plays; devices, history events, packages, layers,
documents and reservations follow by COPY.

Then the cached projections are derived set-based in SQL from what was
written: positions = Σ in − Σ out of the ledger per product × location,
warehouse balances = positions summed by location kind, reserved = Σ open
reservations, blocked = blocked devices in storage. Two figures come from the
player rather than SQL, because they are the running state of the services'
own rules: the moving average cost (a recurrence over the ledger) and the
FIFO layers, one per stock-in line (and per slice carried across warehouses,
and per adjustment up or credit-note return), consumed oldest first by each
movement that leaves ownership, with a consumption row each.

While loading, the big tables' secondary indexes and foreign keys are
dropped and recreated from their own catalogue definitions (as pg_restore
does), all in the one transaction: a failure leaves nothing behind.
`warehouse.invariants` (manage.py check_books) verifies the result with SQL.

The parts, lowest first (each imports only those before it):
sizes (Size, SIZES, the word lists) → state (Pair, Doc, Line, the Player's
clock and queue) → catalogue (reference data, products, parties, the plan),
ledger (movements, average, layers, devices), work (deliveries, moves,
counts, quarantine), documents (orders, invoices, credit notes, rentals),
writer (COPY, projections, indexes, sequences, marker) → history (History,
which plays them all, and `seed_scale`).
"""

from .history import seed_scale
from .sizes import SIZES, Size, size_scaled
from .writer import marker_read, table_counts

__all__ = ["SIZES", "Size", "marker_read", "seed_scale", "size_scaled", "table_counts"]
