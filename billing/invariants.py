"""Billing's checks of the books (warehouse.invariants), registered from BillingConfig.ready."""

from warehouse.invariants import invariant_register, sql_check

# The documents whose lines hold stock: (reservation document type, header table,
# line table, the line's link to its header, the status that holds).
RESERVING = (
    ("order", "billing_order", "billing_orderline", "order_id", "confirmed"),
    ("invoice", "billing_invoice", "billing_invoiceline", "invoice_id", "issued"),
)


def _held_lines_sql() -> str:
    """The lines that must hold an open reservation: (type, document, number, line, …)."""
    return " UNION ALL ".join(
        f"""
        SELECT '{kind}' AS document_type, doc.id AS document_id, doc.number,
               line.id AS line_id, line.product_id, doc.warehouse_id, line.quantity
        FROM {lines} AS line JOIN {header} AS doc ON doc.id = line.{link}
        WHERE doc.status = '{status}'
        """
        for kind, header, lines, link, status in RESERVING
    )


def register() -> None:
    invariant_register(
        "document sequences continue after the numbers in use",
        sql_check(
            """
            SELECT 'sequence ' || used.prefix,
                   'next number ' || COALESCE(s.next_number::text, 'missing')
                   || ', highest in use ' || used.n
            FROM (
                SELECT 'ORD' AS prefix, MAX(SUBSTRING(number FROM 5)::int) AS n
                FROM billing_order
                UNION ALL
                SELECT 'INV', MAX(SUBSTRING(number FROM 5)::int) FROM billing_invoice
                UNION ALL
                SELECT 'CN', MAX(SUBSTRING(number FROM 4)::int) FROM billing_creditnote
            ) AS used
            LEFT JOIN billing_documentsequence AS s ON s.prefix = used.prefix
            WHERE used.n IS NOT NULL AND COALESCE(s.next_number, 0) <= used.n
            """
        ),
        app="billing",
    )
    invariant_register(
        "open reservations agree with the lines of confirmed orders and issued invoices",
        sql_check(
            f"""
            SELECT COALESCE(held.number, res.document_number) || ' line '
                   || COALESCE(held.line_id, res.line_id) || ' (SKU ' || p.sku || ')',
                   CASE WHEN res.id IS NULL THEN 'holds no open reservation'
                        WHEN held.line_id IS NULL THEN 'open reservation '
                             || res.id || ' of a line that holds nothing'
                        ELSE 'line of ' || trim_scale(held.quantity) || ', open reservation '
                             || res.id || ' of ' || trim_scale(res.quantity)
                             || ' (its product, warehouse or document differ?)'
                   END
            FROM ({_held_lines_sql()}) AS held
            FULL JOIN (
                SELECT * FROM warehouse_reservation
                WHERE status = 'open' AND document_type IN ('order', 'invoice')
            ) AS res
                ON res.document_type = held.document_type AND res.line_id = held.line_id
            JOIN warehouse_product AS p ON p.id = COALESCE(held.product_id, res.product_id)
            WHERE res.id IS NULL OR held.line_id IS NULL
               OR res.quantity <> held.quantity OR res.product_id <> held.product_id
               OR res.warehouse_id <> held.warehouse_id OR res.document_id <> held.document_id
            """
        ),
        app="billing",
    )
