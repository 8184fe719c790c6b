"""The data sets' sizes and the words the demo is written in (names, places, reasons)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from warehouse.models import Location

Kind = Location.Kind

# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Size:
    """What a scale holds. Movements are a target the history stays close to."""

    products: int
    locations: int  # real locations, in both warehouses
    movements: int
    devices: int
    parties: int
    documents: int
    days: int = 730


SIZES = {
    # For tests: seconds, not minutes.
    "XS": Size(
        products=60, locations=16, movements=4_000, devices=300, parties=40, documents=80, days=120
    ),
    # Hidden (not a --scale choice): the replay through the services in
    # tests/demo/test_seeding_against_services.py books it line by line in seconds.
    "XXS": Size(
        products=30, locations=12, movements=1_500, devices=100, parties=20, documents=40, days=60
    ),
    "M": Size(
        products=2_000,
        locations=200,
        movements=200_000,
        devices=20_000,
        parties=2_000,
        documents=5_000,
    ),
    "L": Size(
        products=20_000,
        locations=1_000,
        movements=2_000_000,
        devices=200_000,
        parties=20_000,
        documents=50_000,
    ),
}


def size_scaled(factor: float) -> Size:
    """L scaled by `factor` (the hidden --size-factor), with small floors so it stays alive."""
    big = SIZES["L"]
    return replace(
        big,
        products=max(30, round(big.products * factor)),
        locations=max(10, round(big.locations * factor)),
        movements=max(1_000, round(big.movements * factor)),
        devices=max(60, round(big.devices * factor)),
        parties=max(20, round(big.parties * factor)),
        documents=max(30, round(big.documents * factor)),
        days=big.days if factor >= 0.05 else 120,
    )


# --------------------------------------------------------------------------- vocabulary

# code, noun, unit, traceable, cost range (EUR), brands, model words
CATEGORIES = [
    ("RTR", "router", "pcs", True, (35, 180), ["hAP", "AX", "RB", "Edge"]),
    ("SW", "switch", "pcs", True, (60, 900), ["24P", "48P", "8P", "16P"]),
    ("AP", "access point", "pcs", True, (50, 300), ["Wi-Fi 6", "Wi-Fi 6E", "Wi-Fi 7", "Outdoor"]),
    ("ONT", "GPON ONT modem", "pcs", True, (25, 90), ["G-140", "HG8", "F601", "XS-2"]),
    ("MDM", "4G/5G router", "pcs", True, (80, 400), ["LTE", "5G", "Cat 12", "Cat 6"]),
    ("PHN", "IP desk phone", "pcs", True, (40, 260), ["T46", "T54", "D785", "CP-8"]),
    ("POS", "card payment terminal", "pcs", True, (120, 480), ["A8", "V240", "Move 5", "S1F2"]),
    ("LTP", "laptop", "pcs", True, (450, 1900), ['14"', '15.6"', '13"', '16"']),
    ("MON", "monitor", "pcs", True, (90, 650), ['24" IPS', '27" QHD', '32" 4K', '22"']),
    ("UPS", "UPS", "pcs", True, (70, 900), ["1500 VA", "800 VA", "3000 VA", "2200 VA"]),
    ("TAB", "tablet", "pcs", True, (150, 900), ['10.9"', '8.7"', '12.4"', '11"']),
    ("CAM", "IP camera", "pcs", True, (45, 420), ["Dome 4MP", "Bullet 8MP", "PTZ", "Turret"]),
    ("SCN", "barcode scanner", "pcs", True, (60, 350), ["2D", "1D", "Rugged", "Cordless"]),
    ("NAS", "NAS", "pcs", True, (180, 1400), ["2-bay", "4-bay", "8-bay", "Rack 12-bay"]),
    ("CAB", "network cable", "m", False, (0.2, 2.5), ["Cat 6", "Cat 6A", "Cat 7", "Cat 5e"]),
    ("PAT", "patch cord", "pcs", False, (0.8, 9), ["0.5 m", "1 m", "2 m", "5 m"]),
    ("FIB", "fibre drop cable", "m", False, (0.3, 3), ["SM 2F", "SM 4F", "MM 12F", "SM 1F"]),
    ("CON", "connectors", "box", False, (6, 60), ["RJ45", "RJ11", "LC", "SC/APC"]),
    ("PSU", "power supply", "pcs", False, (4, 60), ["12 V", "24 V", "48 V PoE", "5 V USB"]),
    ("BAT", "battery", "pcs", False, (1, 90), ["AA", "18650", "12 V 7 Ah", "CR2032"]),
    ("MNT", "mounting bracket", "pcs", False, (2, 45), ["wall", "pole", "ceiling", "rack 1U"]),
    ("FAS", "screws", "kg", False, (4, 25), ["M3", "M4", "M6", "wood 4x40"]),
    ("CLN", "cleaning fluid", "l", False, (3, 20), ["IPA 99%", "contact", "screen", "optic"]),
    ("LBL", "label roll", "pcs", False, (3, 25), ["62 mm", "29 mm", "102 mm", "12 mm"]),
    ("SFP", "SFP module", "pcs", False, (8, 220), ["1G LX", "10G SR", "10G LR", "1G T"]),
    ("TAP", "tape", "pcs", False, (1, 12), ["PVC", "duct", "kapton", "fibre"]),
    ("TIE", "cable ties", "box", False, (3, 18), ["200 mm", "300 mm", "velcro", "UV"]),
]
BRANDS = [
    "Aster",
    "Borealis",
    "Cobalt",
    "Delta",
    "Elmo",
    "Fjord",
    "Granite",
    "Helix",
    "Ion",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Nordlys",
    "Orion",
    "Polar",
    "Quartz",
    "Rune",
    "Sigma",
    "Tundra",
    "Umbra",
    "Vanta",
    "Wren",
    "Xeno",
    "Yarrow",
    "Zephyr",
]
COLOURS = ["grey", "black", "white", "blue", "yellow", "red", "green", "orange"]
FIRST = [
    "Anna",
    "Erik",
    "Maja",
    "Lars",
    "Sofia",
    "Jonas",
    "Elin",
    "Oskar",
    "Ida",
    "Nils",
    "Sara",
    "Mikael",
    "Emma",
    "Johan",
    "Linnea",
    "Anders",
    "Karin",
    "Peter",
    "Hanna",
    "Olof",
    "Tove",
    "Viktor",
    "Alva",
    "Henrik",
    "Freja",
    "Magnus",
    "Ingrid",
    "Leo",
    "Astrid",
    "Emil",
    "Greta",
    "Axel",
    "Liv",
    "Hugo",
    "Signe",
    "Isak",
    "Ebba",
    "Ture",
    "Vera",
    "Sven",
]
LAST = [
    "Lindqvist",
    "Berg",
    "Andersson",
    "Nilsson",
    "Holm",
    "Ek",
    "Sundberg",
    "Lund",
    "Dahl",
    "Strand",
    "Nyberg",
    "Björk",
    "Wikström",
    "Sandberg",
    "Forsberg",
    "Engström",
    "Hedlund",
    "Lindgren",
    "Axelsson",
    "Falk",
    "Hagen",
    "Moberg",
    "Nordin",
    "Öberg",
    "Rask",
    "Sjöberg",
    "Vik",
    "Åberg",
    "Ström",
    "Blom",
]
PLACES = [
    "Harbour",
    "Aurora",
    "Greenfield",
    "Mill Street",
    "Northgate",
    "Riverside",
    "Lakeside",
    "Old Town",
    "Hillcrest",
    "Seaview",
    "Birchwood",
    "Stonebridge",
    "Market Square",
    "Parkside",
]
BUSINESSES = [
    "Café",
    "Dental Clinic",
    "School",
    "Hotel",
    "Bakery",
    "Pharmacy",
    "Library",
    "Gym",
    "Kindergarten",
    "Veterinary",
    "Garage",
    "Florist",
    "Bookshop",
    "Hair Studio",
    "Restaurant",
]
TRADES = [
    "Telecom Supply",
    "Electronics Wholesale",
    "Repairs & Service",
    "Networks",
    "Distribution",
    "IT Solutions",
    "Cable Works",
    "Logistics",
]
STREETS = ["Harbour Rd", "Mill St", "King St", "Birch Ave", "Station Rd", "Church Ln", "Lake Rd"]
TOWNS = ["Norrby", "Västerå", "Eksjö", "Lund", "Falun", "Visby", "Kiruna", "Mora"]

REASONS_ISOLATE = ["Damaged box", "Returned faulty", "Awaiting test", "Suspected counterfeit"]
REASONS_REMOVE = ["Scrapped", "Lost in transit", "Used for repair", "Damaged beyond repair"]

# Top-level documents: kind, share. Completed orders with sale lines add an invoice each.
PLANS = [
    ("order_completed", 0.38),
    ("order_dispatched", 0.015),
    ("order_confirmed", 0.03),
    ("order_draft", 0.03),
    ("order_cancelled", 0.04),
    ("invoice_posted", 0.42),
    ("invoice_issued", 0.03),
    ("invoice_draft", 0.02),
    ("invoice_cancelled", 0.035),
]
OPEN_PLANS = {
    "order_dispatched",
    "order_confirmed",
    "invoice_issued",
    "order_draft",
    "invoice_draft",
}
CREDIT_SHARE = 0.012
DOCUMENTS_PER_PLAN = 1 + 0.38 * 0.97 + CREDIT_SHARE * 0.8

# Plain strings (not the TextChoices members): they are compared millions of times.
STORAGE, INCOMING, QUARANTINE = "storage", "incoming", "quarantine"
DISPATCHED, RENTED = "dispatched", "rented"
REAL = frozenset((STORAGE, INCOMING, QUARANTINE))
OWNED = REAL | {DISPATCHED, RENTED}
BIG_TABLES = [
    "warehouse_product",
    "warehouse_party",
    "warehouse_movement",
    "warehouse_stockposition",
    "warehouse_warehousestock",
    "warehouse_reservation",
    "warehouse_incomingpackage",
    "warehouse_costlayer",
    "warehouse_layerconsumption",
    "devices_device",
    "devices_deviceevent",
    "warehouse_event",
    "billing_order",
    "billing_orderline",
    "billing_orderline_assigned_devices",
    "billing_invoice",
    "billing_invoiceline",
    "billing_invoiceline_devices",
    "billing_creditnote",
    "billing_creditnoteline",
    "billing_rental",
]
# Where the bench finds out that a data set is complete: written last, in the same transaction.
MARKER_TABLE = "billing_seed_marker"
