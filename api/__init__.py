"""The JSON API (issue 13): a top-floor app over warehouse, devices and billing.

Nothing imports it but `inventory_site/urls.py` (and later the demo tools).
Its conventions, each in one module:

- `authentication.py` — `Authorization: Bearer <secret>` (or `Token <secret>`)
  against `ApiToken` (models.py), sessions for the browser.
- `permissions.py` — each view's `permissions_by_method`, the pages' permissions.
- `errors.py` — one JSON error shape, the domain errors' status table.
- `pagination.py` — cursor pagination: no COUNT, a stable ordering ending in a key.
- `throttling.py` — a rate per token, with `X-RateLimit-*` headers.
- `views.py` — the base views every endpoint subclasses (they put the above together).
- `warehouse/` — the warehouse's reads; devices and billing get packages alike.
- `urls.py` — every route under `/api/`, the schema and its docs page.
"""
