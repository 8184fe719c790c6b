"""Typed cell values: text, numbers, yes/no, choices, identities.

Each parser raises a ValueError saying what is wrong with the cell.
"""

from __future__ import annotations

from decimal import Decimal

from ..exceptions import fmt
from ..fields import MAX_QUANTITY, number_parse
from ..identity import identity_clean

YES = frozenset({"yes", "y", "true", "1", "x", "on"})
NO = frozenset({"no", "n", "false", "0", "off"})


# --------------------------------------------------------------------------- values


def text_value(raw: str, *, max_length: int, multiline: bool = False) -> str:
    """A cell's text, trimmed; a line break where a value is one line refused.

    (A NUL never gets here: `cells_of` reports it and takes it out of every cell.)
    A line break in a one-line column is what an unclosed quote of a CSV makes
    of the rows after it: the cell swallowed them.
    """
    value = raw.strip()
    if len(value) > max_length:
        raise ValueError(f"longer than {max_length} characters.")
    if not multiline and ("\n" in value or "\r" in value):
        raise ValueError('holds a line break: is a quote (“"”) on this row left open?')
    return value


def decimal_value(
    raw: str, *, places: int, digits: int = 14, maximum: Decimal | None = None
) -> Decimal:
    """A non-negative number with at most `places` decimals; a point is the decimal separator.

    Parsed with a bounded length and no exponent (`fields.number_parse`), so no
    cell costs more than a few microseconds of Decimal arithmetic; at most
    `maximum` when given, else what `digits` allow.
    """
    text = raw.strip()
    number = number_parse(text)
    if number < 0:
        raise ValueError("cannot be negative.")
    if maximum is not None and number > maximum:
        raise ValueError(f"“{text}” is too large: at most {fmt(maximum)}.")
    if number >= Decimal(10) ** (digits - places):
        raise ValueError(f"“{text}” is too large.")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"“{text}” has more than {places} decimals.")
    return number.quantize(Decimal(1).scaleb(-places))


def bool_value(raw: str) -> bool:
    text = raw.strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(f"“{raw.strip()}” is not yes or no.")


def choice_value(raw: str, choices) -> str:
    """A TextChoices value, given as its value or its label, in any case."""
    text = raw.strip().lower()
    for value, label in choices:
        if text in (str(value).lower(), str(label).lower()):
            return value
    raise ValueError(f"“{raw.strip()}” is not one of {', '.join(str(v) for v, _ in choices)}.")


def identity_value(raw: str, *, max_length: int) -> str:
    """A SKU, serial or electronic id cell: cleaned (`identity_clean`), then bounded."""
    value = identity_clean(text_value(raw, max_length=max_length))
    if not value:
        raise ValueError("only invisible characters.")
    if len(value) > max_length:
        raise ValueError(f"longer than {max_length} characters.")
    return value


def _text(max_length: int, *, multiline: bool = False):
    return lambda raw: text_value(raw, max_length=max_length, multiline=multiline)


def _identity(max_length: int):
    return lambda raw: identity_value(raw, max_length=max_length)


def _money(raw: str) -> Decimal:
    return decimal_value(raw, places=2)


def _quantity(raw: str) -> Decimal:
    return decimal_value(raw, places=3, maximum=MAX_QUANTITY)
