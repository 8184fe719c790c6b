"""Stock booked before FIFO existed gets opening layers and packages, so the books agree."""

from django.db import migrations
from django.db.models import F
from django.utils import timezone


def opening_create(apps, schema_editor):
    WarehouseStock = apps.get_model("warehouse", "WarehouseStock")
    CostLayer = apps.get_model("warehouse", "CostLayer")
    StockPosition = apps.get_model("warehouse", "StockPosition")
    IncomingPackage = apps.get_model("warehouse", "IncomingPackage")
    now = timezone.now()
    owned = WarehouseStock.objects.annotate(
        owned=F("in_hand") + F("dispatched") + F("rented")
    ).filter(owned__gt=0)
    CostLayer.objects.bulk_create(
        CostLayer(
            product_id=s.product_id,
            warehouse_id=s.warehouse_id,
            package_number="OPENING",
            received_at=now,
            quantity=s.owned,
            remaining=s.owned,
            unit_cost=s.average_cost,
        )
        for s in owned.iterator()
    )
    waiting = StockPosition.objects.filter(location_kind="incoming", quantity__gt=0)
    averages = {
        (s.product_id, s.warehouse_id): s.average_cost for s in WarehouseStock.objects.all()
    }
    IncomingPackage.objects.bulk_create(
        IncomingPackage(
            number="OPENING",
            warehouse_id=p.warehouse_id,
            location_id=p.location_id,
            product_id=p.product_id,
            quantity=p.quantity,
            package_price=p.quantity * averages.get((p.product_id, p.warehouse_id), 0),
            unit_cost=averages.get((p.product_id, p.warehouse_id), 0),
            received_at=now,
        )
        for p in waiting.iterator()
    )


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0006_packages_fifo_constraints")]

    operations = [migrations.RunPython(opening_create, migrations.RunPython.noop)]
