"""What a user types or uploads, parsed within bounds the database and the CPU can hold.

Forms, filters and imports of every app use these, so a number past its
column, a NUL (PostgreSQL text cannot hold one) or an exponent that would
take a minute of Decimal arithmetic is refused where it is typed, with a
message, instead of failing deeper down.
"""

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator

# The largest quantity one booking, count or import row may carry: the columns hold
# 14 digits with 3 decimals (< 10^11), which leaves room for balances to add up.
MAX_QUANTITY = Decimal("999999999.999")
MAX_NUMBER_LENGTH = 40  # characters of a number as typed, sign and point included

_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")

NUL_MESSAGE = "contains a NUL character (\\x00), which cannot be stored."


def number_parse(text: str) -> Decimal:
    """A number written with ASCII digits, an optional sign and a point: no exponent, no NaN.

    Refused (ValueError, the user's sentence) before any Decimal arithmetic:
    longer than MAX_NUMBER_LENGTH, exponents, hex, full-width digits, NaN.
    """
    text = text.strip()
    if len(text) > MAX_NUMBER_LENGTH:
        raise ValueError(f"“{text[:20]}…” is not a number (too long).")
    if not _PLAIN_NUMBER.fullmatch(text):
        raise ValueError(f"“{_shown(text)}” is not a number.")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain numbers
        raise ValueError(f"“{_shown(text)}” is not a number.") from None


def nul_refuse(value) -> None:
    """A form or filter field's check: no NUL (a ModelChoiceField queries before validators)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError("Null characters are not allowed.", code="null_characters")


def quantity_max_validator():
    return MaxValueValidator(
        MAX_QUANTITY, message=f"At most {MAX_QUANTITY:,} in one booking, count or limit."
    )


def _shown(text: str) -> str:
    return text.replace("\x00", "\\x00")
