from django.urls import reverse

from tests.warehouse.factories import ProductFactory, WarehouseFactory, book_in, storage_of


def test_stock_balance_shows_booked_stock(staff_client):
    """After a stock-in, the balance page shows the product with its quantity."""
    warehouse = WarehouseFactory()
    product = ProductFactory(sku="CAB-1", name="Cable")
    book_in(storage_of(warehouse), product, 12, "2.50")

    response = staff_client.get(reverse("warehouse:balance"))

    assert response.status_code == 200
    row = response.content.decode()
    assert "CAB-1" in row
    assert ">12<" in row
