"""Identifier types of the contracts, validated where they enter: prison number, NHS number, codes, postcode."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_PRISON_NUMBER = re.compile(r"^[A-Z]\d{4}[A-Z]{2}$")
_ESTABLISHMENT = re.compile(r"^[A-Z]{3}$")
_ODS_PRACTICE = re.compile(r"^[A-Z]\d{5}$")
# The UK postcode shapes (outward code + inward code), including GIR 0AA; BS 7666 without the per-letter rules.
_POSTCODE = re.compile(r"^(GIR 0AA|[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2})$")


def nhs_number_is_valid(value: str) -> bool:
    """True when ``value`` is ten digits whose last is the Modulus 11 check digit of the first nine."""
    if len(value) != 10 or not value.isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(value[9])


def with_check_digit(first_nine: str) -> str | None:
    """The NHS number made of ``first_nine`` and its check digit, or None when none exists (remainder 10)."""
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 10:
        return None
    return first_nine + str(0 if check == 11 else check)


def _nhs_number(value: str) -> str:
    compact = value.replace(" ", "")
    if not nhs_number_is_valid(compact):
        raise ValueError("not a valid NHS number: it must be 10 digits ending in a correct Modulus 11 check digit")
    return compact


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"not a valid {what}")
        return value

    return check


def _postcode(value: str) -> str:
    compact = value.upper().replace(" ", "")
    normalised = f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact
    if not _POSTCODE.match(normalised):
        raise ValueError("not a valid UK postcode")
    return normalised


NhsNumber = Annotated[str, AfterValidator(_nhs_number)]
PrisonNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True),
    AfterValidator(_matching(_PRISON_NUMBER, "prison number: one letter, four digits, two letters (A1234BC)")),
]
EstablishmentCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True),
    AfterValidator(_matching(_ESTABLISHMENT, "establishment code: three letters (DMI)")),
]
OdsPracticeCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True),
    AfterValidator(_matching(_ODS_PRACTICE, "GP practice ODS code: one letter and five digits (A83001)")),
]
UkPostcode = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_postcode)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
