"""A serial typed whole reads the unique index, four of its characters the trigram index."""

import pytest
from django.http import QueryDict

from api.devices.selectors import devices_by_serial
from devices.models import Device
from devices.selectors import device_search
from tests.devices.factories import devices_in, world_create
from tests.lookups import analyze, plan, rows, unindexed

ROWS = 3000


@pytest.fixture
def devices(db):
    w = world_create()
    devices_in(w.stock, w.modem, *(f"LTP{n:07d}" for n in range(ROWS)), actor=w.actor)
    analyze(Device)
    return w


def search(**params):
    query = QueryDict(mutable=True)
    query.update(params)
    filterset, found = device_search(query)
    assert filterset.is_valid(), filterset.errors
    return found


def test_a_whole_serial_reads_the_unique_index(devices):
    found = devices_by_serial(serial="LTP0001234")

    assert "Index Scan using device_serial_key_unique" in plan(found)
    assert [d.serial for d in found] == ["LTP0001234"]


def test_four_characters_of_a_serial_read_the_trigram_index_and_find_every_match(devices):
    found = search(state="new", q="0123")

    assert "Bitmap Index Scan on device_text_trgm" in plan(found)
    assert rows(found) == unindexed(found)
    assert len(found) == len([n for n in range(ROWS) if "0123" in f"LTP{n:07d}"])


def test_the_serial_typed_whole_comes_first_in_the_device_search(devices):
    devices_in(devices.stock, devices.modem, "LTP000123", actor=devices.actor)

    found = [d.serial for d in search(q="ltp000123")]

    assert found[:2] == ["LTP000123", "LTP0001230"]
    assert sorted(found[1:]) == found[1:]


@pytest.mark.parametrize(
    "typed",
    ["ltp0001234", "LTP000\u200b1234", "ＬＴＰ０００１２３４", " LTP0001234\ufeff"],
    ids=["lower case", "zero-width space", "full-width letters", "spaces and a BOM"],
)
def test_a_serial_typed_in_another_case_or_form_is_found(devices, typed):
    assert [d.serial for d in search(q=typed)] == ["LTP0001234"]
    assert [d.serial for d in devices_by_serial(serial=typed)] == ["LTP0001234"]


def test_percent_and_underscore_typed_in_the_device_search_are_literal(devices):
    devices_in(devices.stock, devices.modem, "ODD_1%", actor=devices.actor)

    assert [d.serial for d in search(q="D_1%")] == ["ODD_1%"]
    assert list(search(q="P_0")) == []
    assert list(search(q="%")) == [Device.objects.get(serial="ODD_1%")]
