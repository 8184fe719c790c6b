"""The reference-data importers: products, parties, locations, stock constraints.

Rows are checked one by one and written in batches with the ORM; natural
keys (SKU, warehouse + location code, party name + kind) make a second
import of the same file change nothing.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db.models import Exists, OuterRef

from .. import services
from ..exceptions import LocationKindFixed
from ..identity import identity_clean, identity_key
from ..models import (
    Location,
    Movement,
    Party,
    Product,
    StockConstraint,
    StockPosition,
    Warehouse,
)
from .framework import Column, Plan, Record, RowImporter, importer_register
from .values import _identity, _money, _quantity, _text, bool_value, choice_value, text_value

Kind = Location.Kind

# --------------------------------------------------------------------------- products


class ProductImporter(RowImporter):
    label = "Products"
    permissions = ("warehouse.book_stock", "warehouse.add_product", "warehouse.change_product")
    columns = (
        Column("sku", required=True),
        Column("name", required=True),
        Column("unit"),
        Column("traceable"),
        Column("sale_price"),
        Column("rental_price"),
        Column("active"),
        Column("description"),
    )
    DEFAULTS: ClassVar[dict] = {
        "unit": Product.Unit.PIECE,
        "traceable": False,
        "sale_price": Decimal("0.00"),
        "rental_price": Decimal("0.00"),
        "active": True,
        "description": "",
    }

    def row_clean(self, row, cells, problems):
        before = len(problems)
        c = self.cell
        values = {
            "sku": c(cells, "sku", problems, row, _identity(64), required=True),
            "name": c(cells, "name", problems, row, _text(200), required=True),
            "unit": c(
                cells, "unit", problems, row, lambda v: choice_value(v, Product.Unit.choices)
            ),
            "traceable": c(cells, "traceable", problems, row, bool_value),
            "sale_price": c(cells, "sale_price", problems, row, _money),
            "rental_price": c(cells, "rental_price", problems, row, _money),
            "active": c(cells, "active", problems, row, bool_value),
            "description": c(cells, "description", problems, row, _text(10_000, multiline=True)),
        }
        if len(problems) > before:
            return None
        return Record(row, {k: v for k, v in values.items() if v is not None})

    def row_keys(self, row, cells):
        sku = identity_clean(cells["sku"])
        if sku:
            yield (row, "sku", identity_key(sku), sku)

    def batch_plan(self, records, problems):
        # By key: `cab-hdmi-2` is the product CAB-HDMI-2, which keeps its SKU as it is.
        existing = {
            identity_key(p.sku): p
            for p in Product.objects.filter(
                sku__identity__in=[r.values["sku"] for r in records]
            ).annotate(booked=Exists(Movement.objects.filter(product=OuterRef("pk"))))
        }
        plan = Plan()
        for record in records:
            current = existing.get(identity_key(record.values["sku"]))
            if current is None:
                product = Product(**{**self.DEFAULTS, **record.values, "created_at": self.now})
                if product.traceable and product.unit != Product.Unit.PIECE:
                    problems.add(record.row, "unit", "A traceable product is counted in pieces.")
                plan.create.append(product)
                continue
            wanted = {k: v for k, v in record.values.items() if k != "sku"}
            if "traceable" in plan.change(current, wanted) and current.booked:
                problems.add(
                    record.row,
                    "traceable",
                    "Stock has been booked: traceability can no longer change.",
                )
            if current.traceable and current.unit != Product.Unit.PIECE:
                column = "unit" if "unit" in record.values else "traceable"
                problems.add(record.row, column, "A traceable product is counted in pieces.")
        return plan

    def plan_write(self, plan, records):
        Product.objects.bulk_create(plan.create)
        if plan.update:
            Product.objects.bulk_update(plan.update, sorted(plan.fields))


# --------------------------------------------------------------------------- parties


class PartyImporter(RowImporter):
    label = "Parties"
    permissions = ("warehouse.add_party", "warehouse.change_party")
    columns = (
        Column("name", required=True),
        Column("kind"),
        Column("email", aliases=("e_mail",)),
        Column("phone"),
        Column("address"),
        Column("vat_number", aliases=("vat",)),
        Column("active"),
    )

    def row_clean(self, row, cells, problems):
        before = len(problems)
        c = self.cell
        values = {
            "name": c(cells, "name", problems, row, _text(200), required=True),
            "kind": c(cells, "kind", problems, row, _party_kind),
            "email": c(cells, "email", problems, row, _email),
            "phone": c(cells, "phone", problems, row, _text(40)),
            "address": c(cells, "address", problems, row, _text(10_000, multiline=True)),
            "vat_number": c(cells, "vat_number", problems, row, _text(32)),
            "active": c(cells, "active", problems, row, bool_value),
        }
        if len(problems) > before:
            return None
        values = {k: v for k, v in values.items() if v is not None}
        values.setdefault("kind", Party.Kind.CONTACT)
        return Record(row, values)

    def row_keys(self, row, cells):
        name = cells["name"].strip()
        try:
            kind = _party_kind(cells.get("kind") or Party.Kind.CONTACT)
        except ValueError:
            kind = cells["kind"].strip()
        if name:
            yield (row, "name", f"{kind}\x1f{name}", f"{name} ({kind})")

    def batch_plan(self, records, problems):
        found: dict[tuple[str, str], list[Party]] = defaultdict(list)
        for party in Party.objects.filter(name__in={r.values["name"] for r in records}):
            found[(party.kind, party.name)].append(party)
        plan = Plan()
        for record in records:
            values = record.values
            matches = found.get((values["kind"], values["name"]), [])
            if len(matches) > 1:
                problems.add(
                    record.row,
                    "name",
                    f"{len(matches)} parties ({values['kind']}) are named “{values['name']}”: "
                    "the import cannot tell them apart.",
                )
                continue
            if not matches:
                plan.create.append(Party(**values, created_at=self.now))
                continue
            plan.change(matches[0], values)
        return plan

    def plan_write(self, plan, records):
        Party.objects.bulk_create(plan.create)
        if plan.update:
            Party.objects.bulk_update(plan.update, sorted(plan.fields))


def _party_kind(raw: str) -> str:
    return choice_value(raw, Party.Kind.choices)


def _email(raw: str) -> str:
    value = raw.strip()
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(f"“{value}” is not an e-mail address.") from None
    return value


# --------------------------------------------------------------------------- locations

WAREHOUSE_CREATE = "warehouse.add_warehouse"
REAL_KIND_CHOICES = [(k.value, k.label) for k in Location.REAL_KINDS]


class LocationImporter(RowImporter):
    label = "Locations"
    permissions = ("warehouse.book_stock", "warehouse.add_location", "warehouse.change_location")
    columns = (
        Column("warehouse", required=True, aliases=("warehouse_code",)),
        Column("code", required=True, aliases=("location", "location_code")),
        Column("name"),
        Column("kind"),
        Column("active"),
        Column("warehouse_name"),
    )
    export_only = ("products", "quantity")

    def row_clean(self, row, cells, problems):
        before = len(problems)
        c = self.cell
        values = {
            "warehouse": c(cells, "warehouse", problems, row, _warehouse_code, required=True),
            "code": c(cells, "code", problems, row, _location_code, required=True),
            "name": c(cells, "name", problems, row, _text(120)),
            "kind": c(cells, "kind", problems, row, lambda v: choice_value(v, REAL_KIND_CHOICES)),
            "active": c(cells, "active", problems, row, bool_value),
            "warehouse_name": c(cells, "warehouse_name", problems, row, _text(120)),
        }
        if len(problems) > before:
            return None
        return Record(row, {k: v for k, v in values.items() if v is not None})

    def row_keys(self, row, cells):
        warehouse, code = cells["warehouse"].strip(), cells["code"].strip()
        if warehouse and code:
            yield (row, "code", f"{warehouse}\x1f{code}", f"{warehouse}/{code}")

    def batch_plan(self, records, problems):
        codes = {r.values["warehouse"] for r in records}
        warehouses = {w.code: w for w in Warehouse.objects.filter(code__in=codes)}
        existing = {
            (loc.warehouse.code, loc.code): loc
            for loc in Location.objects.filter(
                warehouse__code__in=codes, code__in={r.values["code"] for r in records}
            )
            .select_related("warehouse")
            .annotate(booked=Exists(StockPosition.objects.filter(location=OuterRef("pk"))))
        }
        plan = Plan(extra={"warehouses": {}})
        for record in records:
            values = record.values
            wanted = {k: values[k] for k in ("name", "kind", "active") if k in values}
            if values["warehouse"] not in warehouses:
                if not self._may_create_warehouse():
                    problems.add(
                        record.row,
                        "warehouse",
                        f"warehouse “{values['warehouse']}” does not exist; creating a warehouse "
                        f"needs the permission “{WAREHOUSE_CREATE}”.",
                    )
                    continue
                name = values.get("warehouse_name") or values["warehouse"]
                plan.extra["warehouses"].setdefault(values["warehouse"], name)
            current = existing.get((values["warehouse"], values["code"]))
            if current is None:
                plan.create.append(
                    Location(
                        warehouse=warehouses.get(values["warehouse"]),
                        code=values["code"],
                        name=wanted.get("name", values["code"]),
                        kind=wanted.get("kind", Kind.STORAGE),
                        active=wanted.get("active", True),
                    )
                )
                plan.create[-1].warehouse_code = values["warehouse"]
                continue
            if not current.is_real:
                problems.add(record.row, "code", f"{current} is a virtual location.")
                continue
            changes = plan.changes(current, wanted)
            if "kind" in changes:  # checked before the change is set on the location
                try:
                    services.location_kind_check(
                        location=current, kind=wanted["kind"], booked=current.booked
                    )
                except LocationKindFixed as exc:
                    problems.add(record.row, "kind", exc.message)
            plan.change(current, wanted, changes)
        return plan

    def _may_create_warehouse(self) -> bool:
        # No user: the command line's operator, who may. A user: their permission.
        return self.actor is None or self.actor.has_perm(WAREHOUSE_CREATE)

    def plan_write(self, plan, records):
        made = {
            code: services.warehouse_create(code=code, name=name)
            for code, name in plan.extra["warehouses"].items()
        }
        # A new warehouse comes with its STOCK location: a row naming it updates it.
        fresh = {
            (loc.warehouse_id, loc.code): loc
            for loc in Location.objects.filter(warehouse__in=list(made.values()))
        }
        create = []
        for location in plan.create:
            if location.warehouse_id is None:
                location.warehouse = made[location.warehouse_code]
            twin = fresh.get((location.warehouse_id, location.code))
            if twin is None:
                create.append(location)
            elif (twin.name, twin.kind, twin.active) != (
                location.name,
                location.kind,
                location.active,
            ):
                twin.name, twin.kind, twin.active = location.name, location.kind, location.active
                twin.save(update_fields=["name", "kind", "active"])
        Location.objects.bulk_create(create)
        if plan.update:
            Location.objects.bulk_update(plan.update, sorted(plan.fields))


def _warehouse_code(raw: str) -> str:
    value = text_value(raw, max_length=16)
    try:
        validate_slug(value)
    except ValidationError:
        raise ValueError(
            f"“{value}” is not a warehouse code (letters, digits, - and _ only)."
        ) from None
    return value


def _location_code(raw: str) -> str:
    value = text_value(raw, max_length=32)
    if value.startswith("~"):
        raise ValueError("codes starting with ~ are kept for virtual locations.")
    return value


# --------------------------------------------------------------------------- constraints


class ConstraintImporter(RowImporter):
    label = "Stock constraints (minimum, maximum)"
    columns = (
        Column("warehouse", required=True, aliases=("warehouse_code",)),
        Column("sku", required=True),
        Column("minimum", aliases=("min",)),
        Column("maximum", aliases=("max",)),
        Column("hard"),
    )

    def row_clean(self, row, cells, problems):
        before = len(problems)
        c = self.cell
        values = {
            "warehouse": c(cells, "warehouse", problems, row, _text(16), required=True),
            "sku": c(cells, "sku", problems, row, _identity(64), required=True),
            "minimum": c(cells, "minimum", problems, row, _quantity),
            "maximum": c(cells, "maximum", problems, row, _quantity),
            "hard": c(cells, "hard", problems, row, bool_value),
        }
        if len(problems) > before:
            return None
        # A row says the whole constraint: empty minimum is 0, empty maximum is none.
        values["minimum"] = values["minimum"] or Decimal("0.000")
        values["hard"] = bool(values["hard"])
        if values["maximum"] is not None and values["maximum"] < values["minimum"]:
            problems.add(row, "maximum", "The maximum cannot be below the minimum.")
            return None
        return Record(row, values)

    def row_keys(self, row, cells):
        warehouse, sku = cells["warehouse"].strip(), identity_clean(cells["sku"])
        if warehouse and sku:
            yield (row, "sku", f"{warehouse}\x1f{identity_key(sku)}", f"{sku} in {warehouse}")

    def batch_plan(self, records, problems):
        warehouses = {
            w.code: w
            for w in Warehouse.objects.filter(code__in={r.values["warehouse"] for r in records})
        }
        products = {
            identity_key(p.sku): p
            for p in Product.objects.filter(sku__identity__in={r.values["sku"] for r in records})
        }
        existing = {
            (c.product_id, c.warehouse_id): c
            for c in StockConstraint.objects.filter(
                warehouse__in=list(warehouses.values()), product__in=list(products.values())
            )
        }
        plan = Plan()
        for record in records:
            values = record.values
            warehouse = warehouses.get(values["warehouse"])
            product = products.get(identity_key(values["sku"]))
            if warehouse is None:
                problems.add(record.row, "warehouse", _no_warehouse(values["warehouse"]))
            if product is None:
                problems.add(record.row, "sku", _no_product(values["sku"]))
            if warehouse is None or product is None:
                continue
            wanted = {k: values[k] for k in ("minimum", "maximum", "hard")}
            current = existing.get((product.pk, warehouse.pk))
            if current is None:
                plan.create.append(StockConstraint(product=product, warehouse=warehouse, **wanted))
                continue
            plan.change(current, wanted)
        return plan

    def plan_write(self, plan, records):
        StockConstraint.objects.bulk_create(plan.create)
        if plan.update:
            StockConstraint.objects.bulk_update(plan.update, sorted(plan.fields))


def _no_warehouse(code: str) -> str:
    return f"no warehouse with code “{code}”."


def _no_product(sku: str) -> str:
    return f"no product with SKU “{sku}”."


importer_register("products", ProductImporter)
importer_register("parties", PartyImporter)
importer_register("locations", LocationImporter)
importer_register("constraints", ConstraintImporter)
