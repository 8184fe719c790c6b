"""Opening stock: what each location holds at the start, booked set-based in SQL.

Its rows are streamed with PostgreSQL COPY into a temporary staging table,
checked and booked set-based (ledger movements, positions, balances, FIFO
layers), so a million lines cost a constant number of statements and flat
memory. It replays the rules of `warehouse.services` (the ledger writer and
`_fifo_apply`) in SQL for speed; tests/warehouse/test_opening_stock_properties.py
books the same stock through the services and compares the books row for row.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.db import connection

from .. import services
from ..exceptions import fmt
from ..fields import MAX_QUANTITY
from ..models import Location, Movement, Warehouse
from .framework import Column, Importer, importer_register, raw_cursor
from .reading import sheet_open

Kind = Location.Kind

# --------------------------------------------------------------------------- opening stock

# Bounded like `fields.number_parse`: a cell of a million digits is "not a number".
_NUMBER = r"^\+?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})$"
_NEGATIVE = r"^-([0-9]+(\.[0-9]*)?|\.[0-9]+)$"
OPENING_REASON = "Opening stock import"
_OPENING_TABLES = (
    "import_walk",
    "import_steps",
    "import_taken",
    "import_moves",
    "import_delta",
    "import_opening_rows",
    "import_opening",
)


class OpeningStockImporter(Importer):
    """What each location holds at the start, with the unit cost of what is added.

    The quantity sets what the location holds: the difference from the books
    is booked as an adjustment up (from the warehouse's adjustment location,
    at the row's unit cost, or the average so far when it is empty, opening a
    FIFO layer) or down (consuming the oldest layers), so a second import of
    the same file books nothing. The rows are booked as `movements_book`
    would book them in the file's order, in one batch; everything runs
    set-based in SQL over a staging table filled by COPY.
    """

    label = "Opening stock (per location, with unit cost)"
    columns = (
        Column("warehouse", required=True, aliases=("warehouse_code",)),
        Column("location", required=True, aliases=("location_code", "code")),
        Column("sku", required=True),
        Column("quantity", required=True, aliases=("qty",)),
        Column("unit_cost", aliases=("cost",)),
    )

    def validate(self, result, problems):
        with connection.cursor() as cursor:
            # Room for the joins and sorts of a large file, for this transaction only.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            for table in _OPENING_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
            cursor.execute(
                "CREATE TEMP TABLE import_opening (row_no integer, warehouse text, location text,"
                " sku text, quantity text, unit_cost text) ON COMMIT DROP"
            )
        result.rows = self._stage(problems)
        if problems:
            return
        self.progress("checking", result.rows, None)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE import_opening")
            cursor.execute(_RESOLVE, {"number": _NUMBER})
            cursor.execute("ANALYZE import_opening_rows")
            cursor.execute(
                _ROW_PROBLEMS,
                {
                    "negative": _NEGATIVE,
                    "limit": problems.limit + 1,
                    "max_quantity": MAX_QUANTITY,
                    "max_shown": fmt(MAX_QUANTITY),
                },
            )
            for row, column, message in cursor.fetchall():
                problems.add(row, column, message)
            cursor.execute(_DUPLICATES, {"limit": problems.limit + 1})
            for row, first, sku, warehouse, location in cursor.fetchall():
                problems.add(
                    row,
                    "sku",
                    f"{sku} in {warehouse}/{location} is given twice: first on row {first}.",
                )
            if problems:
                return
            self._virtual_locations()
            cursor.execute(_LOCK_CREATE)
            cursor.execute(_LOCK)
            cursor.execute(_DELTA)
            cursor.execute("ANALYZE import_delta")
            cursor.execute(_TOTAL_CHECK, {"limit": problems.limit + 1})
            for row, sku, warehouse in cursor.fetchall():
                problems.add(
                    row,
                    "quantity",
                    f"{sku} in {warehouse} would own more than the books can hold "
                    "(99,999,999,999.999): the quantities are too large.",
                )
            if problems:
                return
            cursor.execute(_RESERVED_CHECK, {"limit": problems.limit + 1})
            for row, sku, warehouse, held, left in cursor.fetchall():
                problems.add(
                    row,
                    "quantity",
                    f"{fmt(held)} of {sku} in {warehouse} are reserved or blocked; "
                    f"the opening stock would leave {fmt(left)} in storage.",
                )
            cursor.execute(_COUNTS)
            result.created, result.updated, result.unchanged = cursor.fetchone()

    def _stage(self, problems) -> int:
        """Stream the rows into the staging table by COPY; the number of rows back."""
        rows = 0
        with sheet_open(self.path, format=self.format) as sheet:
            mapping = self.header_map(sheet.header, problems)
            if problems:
                return 0
            where = {name: index for index, name in mapping}
            order = [where.get(c.name) for c in self.columns]
            width = max(where.values()) + 1
            picks = [i if i is not None else width for i in order]  # `width`: an empty cell
            pick = _picker(picks)
            done = sheet.done
            with (
                raw_cursor() as cursor,
                cursor.copy(
                    "COPY import_opening (row_no, warehouse, location, sku, quantity, unit_cost)"
                    " FROM STDIN"
                ) as copy,
            ):
                write = copy.write_row
                for row, cells in sheet.rows:
                    if len(cells) != width:
                        if len(cells) > width and any(str(c).strip() for c in cells[width:]):
                            self.cells_of(row, cells, mapping, problems)
                        cells = (cells + [""] * width)[:width]
                    if not any(cells):
                        continue
                    if "\x00" in "".join(cells):  # COPY cannot carry it: named here instead
                        self.cells_of(row, cells, mapping, problems)
                        cells = [c.replace("\x00", "") for c in cells]
                    cells.append("")
                    write((row, *pick(cells)))
                    rows += 1
                    if not rows % 20_000:
                        self.progress("reading", rows, done())
        self.progress("reading", rows, 1.0)
        return rows

    def _virtual_locations(self) -> None:
        """Warehouses made before virtual locations existed get them now (for the adjustments)."""
        missing = Warehouse.objects.filter(
            pk__in=_staged_warehouse_ids(),
        ).exclude(locations__kind=Kind.ADJUSTMENT)
        for warehouse in missing:
            services.virtual_locations_ensure(warehouse=warehouse)

    def apply(self, result, problems):
        self.progress("booking", result.rows, None)
        params = {
            "reason": OPENING_REASON,
            "reference": Path(self.file).name[:64],
            "batch": uuid.uuid4(),
            "actor": self.actor.pk if self.actor else None,
            "now": self.now,
        }
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.import_moves")
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Movement._meta.db_table])
            cursor.execute(_MOVES, {"sequence": cursor.fetchone()[0]})
            for statement in (_STEPS, _STEPS_INDEX, "ANALYZE import_steps", _WALK, _WALK_INDEX):
                cursor.execute(statement)
            cursor.execute(_MOVEMENTS, params)
            cursor.execute(_POSITIONS_UPDATE)
            cursor.execute(_POSITIONS_INSERT)
            cursor.execute(_POSITIONS_ADJUSTMENT)
            cursor.execute(_BALANCES, params)
            cursor.execute(_FIFO_TAKEN)
            cursor.execute(_FIFO_SHORT)
            for row, sku, warehouse, short in cursor.fetchall():
                problems.add(
                    row,
                    "quantity",
                    f"the cost layers of {sku} in {warehouse} hold {fmt(short)} less than what "
                    "leaves: the books disagree.",
                )
            if problems:
                return
            cursor.execute(_FIFO_CONSUMPTIONS)
            cursor.execute(_FIFO_CONSUME)
            cursor.execute(_FIFO_OPEN, params)
            for table in _OPENING_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        # The database checks the ledger's foreign keys when the transaction commits.
        self.progress("committing", result.rows, None)


def _picker(indexes: list[int]):
    """cells → the staged columns in order (a tuple), as fast as Python allows."""
    from operator import itemgetter

    return itemgetter(*indexes)


def _staged_warehouse_ids():
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT warehouse_id FROM import_opening_rows")
        return [row[0] for row in cursor.fetchall()]


# Typed and resolved rows: ids where the codes are known, numbers where the text is one.
_RESOLVE = """
CREATE TEMP TABLE import_opening_rows ON COMMIT DROP AS
SELECT s.row_no, s.warehouse, s.location, s.sku, s.quantity AS quantity_text,
       s.unit_cost AS unit_cost_text,
       w.id AS warehouse_id, l.id AS location_id, l.kind AS location_kind,
       p.id AS product_id, p.traceable, p.unit, s.sku_key,
       CASE WHEN s.quantity ~ %(number)s THEN s.quantity::numeric END AS quantity,
       CASE WHEN s.unit_cost ~ %(number)s THEN s.unit_cost::numeric END AS unit_cost
FROM (
    SELECT row_no, btrim(warehouse) AS warehouse, btrim(location) AS location,
           identity_clean(sku) AS sku, identity_key(sku) AS sku_key,
           btrim(quantity) AS quantity, btrim(unit_cost) AS unit_cost
    FROM import_opening
) AS s
LEFT JOIN warehouse_warehouse w ON w.code = s.warehouse
LEFT JOIN warehouse_location l ON l.warehouse_id = w.id AND l.code = s.location
-- A SKU in any case or form (warehouse.identity): the product's unique key index.
LEFT JOIN warehouse_product p ON identity_key(p.sku) = s.sku_key
"""

# Every cell checked in one scan: (row, column, message), in row order, up to the limit.
_ROW_PROBLEMS = """
SELECT r.row_no, c.col, c.message
FROM (
    -- The rows with anything wrong, found by a cheap test, then each cell explained.
    SELECT * FROM import_opening_rows r
    WHERE r.warehouse_id IS NULL OR r.location_id IS NULL OR r.product_id IS NULL
       OR r.location_kind NOT IN ('storage', 'quarantine') OR r.traceable
       OR r.quantity IS NULL OR r.quantity <> round(r.quantity, 3)
       OR r.quantity > %(max_quantity)s
       OR (r.unit = 'pcs' AND r.quantity <> trunc(r.quantity))
       OR (r.unit_cost_text <> ''
           AND (r.unit_cost IS NULL OR r.unit_cost <> round(r.unit_cost, 4)
                OR r.unit_cost >= 1e10))
) AS r
CROSS JOIN LATERAL (VALUES
    (1, 'warehouse', CASE
        WHEN r.warehouse = '' THEN 'required.'
        WHEN r.warehouse_id IS NULL THEN format('no warehouse with code “%%s”.', r.warehouse)
    END),
    (2, 'location', CASE
        WHEN r.location = '' THEN 'required.'
        WHEN r.warehouse_id IS NOT NULL AND r.location_id IS NULL
            THEN format('no location “%%s” in warehouse %%s.', r.location, r.warehouse)
        WHEN r.location_kind = 'incoming'
            THEN format('%%s/%%s is an incoming location: opening stock goes into storage'
                        ' or quarantine.', r.warehouse, r.location)
        WHEN r.location_kind NOT IN ('storage', 'quarantine')
            THEN format('%%s/%%s is a virtual location.', r.warehouse, r.location)
    END),
    (3, 'sku', CASE
        WHEN r.sku = '' THEN 'required.'
        WHEN r.product_id IS NULL THEN format('no product with SKU “%%s”.', r.sku)
        WHEN r.traceable THEN format('%%s is traceable: import its units with the devices'
                                     ' import.', r.sku)
    END),
    (4, 'quantity', CASE
        WHEN r.quantity_text = '' THEN 'required.'
        WHEN r.quantity_text ~ %(negative)s THEN 'cannot be negative.'
        WHEN r.quantity IS NULL THEN format('“%%s” is not a number.', r.quantity_text)
        WHEN r.quantity <> round(r.quantity, 3)
            THEN format('“%%s” has more than 3 decimals.', r.quantity_text)
        WHEN r.quantity > %(max_quantity)s
            THEN format('“%%s” is too large: at most %%s.', r.quantity_text, %(max_shown)s)
        WHEN r.unit = 'pcs' AND r.quantity <> trunc(r.quantity)
            THEN format('%%s is counted in pieces: %%s is not whole.', r.sku, r.quantity_text)
    END),
    (5, 'unit_cost', CASE
        WHEN r.unit_cost_text = '' THEN NULL
        WHEN r.unit_cost_text ~ %(negative)s THEN 'cannot be negative.'
        WHEN r.unit_cost IS NULL THEN format('“%%s” is not a number.', r.unit_cost_text)
        WHEN r.unit_cost <> round(r.unit_cost, 4)
            THEN format('“%%s” has more than 4 decimals.', r.unit_cost_text)
        WHEN r.unit_cost >= 1e10 THEN format('“%%s” is too large.', r.unit_cost_text)
    END)
) AS c(ord, col, message)
WHERE c.message IS NOT NULL
ORDER BY r.row_no, c.ord
LIMIT %(limit)s
"""

_DUPLICATES = """
WITH repeated AS (
    SELECT warehouse, location, sku_key, min(row_no) AS first_row
    FROM import_opening_rows
    GROUP BY warehouse, location, sku_key
    HAVING count(*) > 1
)
SELECT r.row_no, d.first_row, r.sku, r.warehouse, r.location
FROM import_opening_rows r
JOIN repeated d USING (warehouse, location, sku_key)
WHERE r.row_no <> d.first_row
ORDER BY r.row_no
LIMIT %(limit)s
"""

# The product × warehouse balance rows, created if missing, then locked in the
# global order (product, warehouse): every booking service takes them first,
# so they also guard the positions and FIFO layers written below.
_LOCK_CREATE = """
INSERT INTO warehouse_warehousestock
    (product_id, warehouse_id, in_hand, in_storage, reserved, blocked, dispatched, rented,
     average_cost, updated_at)
SELECT DISTINCT product_id, warehouse_id, 0, 0, 0, 0, 0, 0, 0, now()
FROM import_opening_rows
ON CONFLICT (product_id, warehouse_id) DO NOTHING
"""
_LOCK = """
SELECT count(*) FROM (
    SELECT ws.id FROM warehouse_warehousestock ws
    WHERE (ws.product_id, ws.warehouse_id) IN
          (SELECT DISTINCT product_id, warehouse_id FROM import_opening_rows)
    ORDER BY ws.product_id, ws.warehouse_id
    FOR UPDATE OF ws
) AS locked
"""

# Per row: what the books hold now and the difference to book.
_DELTA = """
CREATE TEMP TABLE import_delta ON COMMIT DROP AS
SELECT r.row_no, r.product_id, r.location_id, r.location_kind, r.warehouse_id,
       a.id AS adjustment_id,
       r.quantity::numeric(14, 3) AS quantity,
       sp.id AS position_id,
       COALESCE(sp.quantity, 0) AS booked,
       r.quantity - COALESCE(sp.quantity, 0) AS diff,
       r.unit_cost::numeric(14, 4) AS given_cost
FROM import_opening_rows r
JOIN warehouse_warehousestock ws
    ON ws.product_id = r.product_id AND ws.warehouse_id = r.warehouse_id
JOIN warehouse_location a ON a.warehouse_id = r.warehouse_id AND a.kind = 'adjustment'
LEFT JOIN warehouse_stockposition sp
    ON sp.product_id = r.product_id AND sp.location_id = r.location_id
"""

# What a warehouse owns of a product after the import must fit its column (14 digits, 3 places).
_TOTAL_CHECK = """
SELECT min(d.row_no), p.sku, w.code
FROM import_delta d
JOIN warehouse_warehousestock ws
    ON ws.product_id = d.product_id AND ws.warehouse_id = d.warehouse_id
JOIN warehouse_product p ON p.id = d.product_id
JOIN warehouse_warehouse w ON w.id = d.warehouse_id
GROUP BY d.product_id, d.warehouse_id, p.sku, w.code, ws.in_hand, ws.dispatched, ws.rented
HAVING ws.in_hand + ws.dispatched + ws.rented + sum(d.diff) >= 1e11
ORDER BY 1
LIMIT %(limit)s
"""

# Storage may not drop below what documents reserve and devices block.
_RESERVED_CHECK = """
SELECT g.first_row, p.sku, w.code, ws.reserved + ws.blocked, ws.in_storage + g.storage
FROM (
    -- Summed per product × warehouse first: the names are looked up for the few refused.
    SELECT product_id, warehouse_id,
           COALESCE(min(row_no) FILTER (WHERE location_kind = 'storage' AND diff < 0),
                    min(row_no)) AS first_row,
           COALESCE(sum(diff) FILTER (WHERE location_kind = 'storage'), 0) AS storage
    FROM import_delta
    WHERE diff <> 0
    GROUP BY product_id, warehouse_id
) AS g
JOIN warehouse_warehousestock ws
    ON ws.product_id = g.product_id AND ws.warehouse_id = g.warehouse_id
JOIN warehouse_product p ON p.id = g.product_id
JOIN warehouse_warehouse w ON w.id = g.warehouse_id
WHERE ws.in_storage + g.storage < ws.reserved + ws.blocked
ORDER BY 1
LIMIT %(limit)s
"""

_COUNTS = """
SELECT count(*) FILTER (WHERE diff <> 0 AND booked = 0),
       count(*) FILTER (WHERE diff <> 0 AND booked <> 0),
       count(*) FILTER (WHERE diff = 0)
FROM import_delta
"""

# The rows that change the books, each with the id of the movement it books; written
# in id order, so the ledger below is inserted in that order without a sort.
_MOVES = """
CREATE TEMP TABLE import_moves ON COMMIT DROP AS
SELECT nextval(%(sequence)s::regclass) AS id, d.*
FROM (SELECT * FROM import_delta WHERE diff <> 0 ORDER BY row_no) AS d
"""

# The moving average, walked row by row as `movements_book` books them in file order:
# each product × warehouse from its balance (step 0) through its rows (steps 1, 2 ...).
# A gain is valued at its unit cost (empty: the average so far) and weighed in by
# `services.average_after_receipt`'s rule, rounded at every step as the services
# round; a loss leaves at the average so far. The recursion is as deep as the most
# rows one product has in one warehouse; each step finds its row by the index.
_STEPS = """
CREATE TEMP TABLE import_steps ON COMMIT DROP AS
SELECT id, product_id, warehouse_id, diff, given_cost,
       row_number() OVER (PARTITION BY product_id, warehouse_id ORDER BY id) AS step
FROM import_moves
"""
_STEPS_INDEX = "CREATE INDEX ON import_steps (product_id, warehouse_id, step)"
_WALK = """
CREATE TEMP TABLE import_walk ON COMMIT DROP AS
WITH RECURSIVE walk (id, product_id, warehouse_id, step, owned, average, unit_cost) AS (
    SELECT NULL::bigint, ws.product_id, ws.warehouse_id, 0::bigint,
           (ws.in_hand + ws.dispatched + ws.rented)::numeric, ws.average_cost::numeric,
           NULL::numeric
    FROM warehouse_warehousestock ws
    WHERE (ws.product_id, ws.warehouse_id) IN (SELECT product_id, warehouse_id FROM import_steps)
  UNION ALL
    SELECT s.id, s.product_id, s.warehouse_id, s.step, w.owned + s.diff,
           CASE
               WHEN s.diff < 0 THEN w.average
               WHEN w.owned <= 0 THEN COALESCE(s.given_cost, w.average)
               ELSE round(
                   (w.owned * w.average + s.diff * COALESCE(s.given_cost, w.average))
                   ::numeric(1000, 30) / (w.owned + s.diff), 4)
           END,
           CASE WHEN s.diff > 0 THEN COALESCE(s.given_cost, w.average) ELSE w.average END
    FROM walk w
    JOIN import_steps s
        ON s.product_id = w.product_id AND s.warehouse_id = w.warehouse_id
       AND s.step = w.step + 1
)
SELECT id, product_id, warehouse_id, step, average, unit_cost FROM walk WHERE id IS NOT NULL
"""
_WALK_INDEX = "CREATE INDEX ON import_walk (id)"

# The ledger: one adjustment per changed row at the unit cost of the walk.
_MOVEMENTS = """
INSERT INTO warehouse_movement
    (id, product_id, quantity, source_id, destination_id, action, unit_cost, serial, supplier,
     reason, reference, batch, package_id, actor_id, created_at)
SELECT d.id, d.product_id, abs(d.diff),
       CASE WHEN d.diff > 0 THEN d.adjustment_id ELSE d.location_id END,
       CASE WHEN d.diff > 0 THEN d.location_id ELSE d.adjustment_id END,
       CASE WHEN d.diff > 0 THEN 'adjust_up' ELSE 'adjust_down' END,
       w.unit_cost, '', '', %(reason)s, %(reference)s, %(batch)s, NULL, %(actor)s, %(now)s
FROM import_moves d
JOIN import_walk w ON w.id = d.id
ORDER BY d.id
"""

# Positions: Σ in − Σ out. Rows that exist are updated; new ones (gains only, for a
# real location) inserted; the check "never negative in a real location" sees the sums.
# A plain INSERT, not ON CONFLICT: the balance rows locked above keep other bookings of
# these products out, so a position missing in `import_delta` is still missing here.
_POSITIONS_UPDATE = """
UPDATE warehouse_stockposition sp SET quantity = sp.quantity + m.diff
FROM import_moves m
WHERE sp.id = m.position_id
"""
_POSITIONS_INSERT = """
INSERT INTO warehouse_stockposition (product_id, location_id, location_kind, warehouse_id, quantity)
SELECT product_id, location_id, location_kind, warehouse_id, diff
FROM import_moves
WHERE position_id IS NULL
"""
# The adjustment locations give what the counted ones gain (they may go below zero).
_POSITIONS_ADJUSTMENT = """
INSERT INTO warehouse_stockposition (product_id, location_id, location_kind, warehouse_id, quantity)
SELECT product_id, adjustment_id, 'adjustment', warehouse_id, -sum(diff)
FROM import_moves
GROUP BY product_id, adjustment_id, warehouse_id
HAVING sum(diff) <> 0
ON CONFLICT (product_id, location_id)
DO UPDATE SET quantity = warehouse_stockposition.quantity + EXCLUDED.quantity
"""

# Balances: in hand and in storage move by the differences; the average cost is
# where the walk ends.
_BALANCES = """
UPDATE warehouse_warehousestock ws SET
    in_hand = ws.in_hand + g.real,
    in_storage = ws.in_storage + g.storage,
    average_cost = a.average,
    updated_at = %(now)s
FROM (
    SELECT product_id, warehouse_id,
           sum(diff) AS real,
           COALESCE(sum(diff) FILTER (WHERE location_kind = 'storage'), 0) AS storage
    FROM import_moves
    GROUP BY product_id, warehouse_id
) AS g
JOIN (
    SELECT DISTINCT ON (product_id, warehouse_id) product_id, warehouse_id, average
    FROM import_walk
    ORDER BY product_id, warehouse_id, step DESC
) AS a USING (product_id, warehouse_id)
WHERE ws.product_id = g.product_id AND ws.warehouse_id = g.warehouse_id
"""

# FIFO, losses first: each loss movement takes the stretch of the oldest open
# layers that its running total covers (interval overlap of the two running sums).
_FIFO_TAKEN = """
CREATE TEMP TABLE import_taken ON COMMIT DROP AS
WITH downs AS (
    SELECT id, product_id, warehouse_id,
           sum(-diff) OVER w + diff AS start, sum(-diff) OVER w AS stop
    FROM import_moves
    WHERE diff < 0
    WINDOW w AS (PARTITION BY product_id, warehouse_id ORDER BY id)
), layers AS (
    SELECT c.id, c.product_id, c.warehouse_id, c.unit_cost,
           sum(c.remaining) OVER w - c.remaining AS start, sum(c.remaining) OVER w AS stop
    FROM warehouse_costlayer c
    WHERE c.remaining > 0
      AND (c.product_id, c.warehouse_id) IN (SELECT product_id, warehouse_id FROM downs)
    WINDOW w AS (PARTITION BY c.product_id, c.warehouse_id ORDER BY c.received_at, c.id)
)
SELECT d.id AS movement_id, d.product_id, d.warehouse_id, y.id AS layer_id, y.unit_cost,
       LEAST(d.stop, y.stop) - GREATEST(d.start, y.start) AS quantity
FROM downs d
JOIN layers y ON y.product_id = d.product_id AND y.warehouse_id = d.warehouse_id
             AND y.start < d.stop AND d.start < y.stop
"""

# Losses the layers cannot cover: the books disagree (as `_fifo_apply` refuses).
_FIFO_SHORT = """
SELECT min(d.row_no), p.sku, w.code, sum(-d.diff) - COALESCE(max(t.taken), 0)
FROM import_moves d
JOIN warehouse_product p ON p.id = d.product_id
JOIN warehouse_warehouse w ON w.id = d.warehouse_id
LEFT JOIN (
    SELECT product_id, warehouse_id, sum(quantity) AS taken
    FROM import_taken GROUP BY product_id, warehouse_id
) AS t ON t.product_id = d.product_id AND t.warehouse_id = d.warehouse_id
WHERE d.diff < 0
GROUP BY d.product_id, d.warehouse_id, p.sku, w.code
HAVING sum(-d.diff) > COALESCE(max(t.taken), 0)
ORDER BY 1
LIMIT 100
"""

_FIFO_CONSUMPTIONS = """
INSERT INTO warehouse_layerconsumption (layer_id, movement_id, quantity, unit_cost)
SELECT layer_id, movement_id, quantity, unit_cost FROM import_taken ORDER BY movement_id, layer_id
"""
_FIFO_CONSUME = """
UPDATE warehouse_costlayer c SET remaining = c.remaining - t.quantity
FROM (SELECT layer_id, sum(quantity) AS quantity FROM import_taken GROUP BY layer_id) AS t
WHERE c.id = t.layer_id
"""

# Gains open layers numbered by the file, as `_fifo_apply` opens them: gains that
# follow one another in the file (losses between them aside) with the same product,
# warehouse and unit cost share one layer; any other gain starts the next.
_FIFO_OPEN = """
INSERT INTO warehouse_costlayer
    (product_id, warehouse_id, package_id, package_number, movement_id, received_at,
     quantity, remaining, unit_cost)
SELECT product_id, warehouse_id, NULL, %(reference)s, min(id), %(now)s,
       sum(diff), sum(diff), unit_cost
FROM (
    SELECT g.*, sum(g.starts) OVER (ORDER BY g.id) AS run
    FROM (
        SELECT m.id, m.product_id, m.warehouse_id, m.diff, w.unit_cost,
               CASE WHEN ROW(m.product_id, m.warehouse_id, w.unit_cost) IS NOT DISTINCT FROM
                         ROW(lag(m.product_id) OVER o, lag(m.warehouse_id) OVER o,
                             lag(w.unit_cost) OVER o)
                    THEN 0 ELSE 1 END AS starts
        FROM import_moves m
        JOIN import_walk w ON w.id = m.id
        WHERE m.diff > 0
        WINDOW o AS (ORDER BY m.id)
    ) AS g
) AS runs
GROUP BY run, product_id, warehouse_id, unit_cost
ORDER BY run
"""


importer_register("opening_stock", OpeningStockImporter)
