"""Personal data in tables, found by column names and by a sample of the values.

Two kinds of evidence:

``header``
    the column's name, compared without case, spaces or underscores: ``name``
    (first_name, last_name, full_name, surname, name, ...), ``address`` (address, street,
    postcode, zip, ...), ``birth_date`` (dob, birth_date, date_of_birth, birthday).
``values``
    an evenly spaced sample of the column's non-null values, each classified as at most
    one of (first match wins) ``email``, ``iban`` (mod-97 check), ``card_number`` (13-19
    digits, Luhn check), ``ip_address`` (IPv4 or IPv6, checked by :mod:`ipaddress`) or
    ``phone`` (9-15 digits with ``+``, spaces, dashes, dots or brackets; bare digits only
    with a leading 0). A column is flagged for a kind when at least 30% of the sample
    is of it. Integer columns are checked for card numbers only.

The checks run in Python over the sample (``sample`` values per column), never over
the whole table.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from shipyard.data.tabular import column_type
from shipyard.errors import ValidationError

__all__ = ["FLAG_SHARE", "HEADER_KINDS", "scan_pii"]

FLAG_SHARE = 0.3  # flag a column when at least this share of its sample matches a kind
HEADER_KINDS = {
    "name": frozenset(
        {"name", "firstname", "lastname", "fullname", "surname", "givenname", "familyname"}
        | {"forename", "middlename", "maidenname"}
    ),
    "address": frozenset(
        {"address", "streetaddress", "homeaddress", "addressline1", "addressline2", "street"}
        | {"postcode", "postalcode", "zip", "zipcode"}
    ),
    "birth_date": frozenset({"dob", "birthdate", "dateofbirth", "birthday"}),
}

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_CARD = re.compile(r"\d(?:[ -]?\d){12,18}")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]+")
_PHONE = re.compile(r"\+?\(?\d[\d ().-]*\d")
_DECIMAL = re.compile(r"\d+\.\d+")
Checks = tuple[tuple[str, Callable[[str], bool]], ...]


def scan_pii(table: pa.Table, *, sample: int = 2000) -> list[dict[str, Any]]:
    """Columns that look like personal data: ``[{"column", "kind", "evidence", "share"}]``.

    ``share`` is the fraction of sampled non-null values of that kind (1.0 for a name
    match). Sorted by column, then kind.
    """
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise ValidationError(
            f"sample must be a positive integer, got {sample!r} instead",
            details=[{"parameter": "sample", "value": repr(sample)}],
        )
    findings: list[dict[str, Any]] = []
    for name in table.column_names:
        kind = header_kind(name)
        if kind is not None:
            findings.append({"column": name, "kind": kind, "evidence": "header", "share": 1.0})
        findings.extend(_value_findings(name, table.column(name), sample))
    return sorted(findings, key=lambda item: (item["column"], item["kind"], item["evidence"]))


def header_kind(name: str) -> str | None:
    """The kind of personal data a column name announces, or ``None``."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    return next((kind for kind, names in HEADER_KINDS.items() if key in names), None)


def _value_findings(name: str, column: pa.ChunkedArray, sample: int) -> list[dict[str, Any]]:
    kind = column_type(column.type)
    if kind in ("string", "category"):
        checks = _TEXT_CHECKS
    elif kind == "int":
        checks = _INTEGER_CHECKS
    else:
        return []
    values = _sample(column, sample)
    if not values:
        return []
    counts = Counter(_classify(value.strip(), checks) for value in values)
    return [
        {"column": name, "kind": found, "evidence": "values", "share": round(n / len(values), 4)}
        for found, n in sorted(counts.items(), key=lambda item: str(item[0]))
        if found is not None and n / len(values) >= FLAG_SHARE
    ]


def _sample(column: pa.ChunkedArray, size: int) -> list[str]:
    """Up to ``size`` non-null values, evenly spaced over the column, as text."""
    present = column.drop_null()
    if len(present) > size:
        picks = np.linspace(0, len(present) - 1, num=size).round().astype(np.int64)
        present = present.take(pa.array(picks))
    return [str(value) for value in present.to_pylist()]


def _classify(text: str, checks: Checks) -> str | None:
    return next((kind for kind, check in checks if check(text)), None)


def _is_email(text: str) -> bool:
    return _EMAIL.fullmatch(text) is not None


def _is_iban(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not _IBAN.fullmatch(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _is_card_number(text: str) -> bool:
    if not _CARD.fullmatch(text):
        return False
    digits = [int(char) for char in text if char.isdigit()]
    if len(set(digits)) == 1:  # 0000 0000 0000 0000 passes Luhn but is no card
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _is_ip_address(text: str) -> bool:
    candidate = _IPV4.fullmatch(text) or (text.count(":") >= 2 and _IPV6_CHARS.fullmatch(text))
    if not candidate:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_phone(text: str) -> bool:
    if not _PHONE.fullmatch(text) or _DECIMAL.fullmatch(text):
        return False
    digits = sum(char.isdigit() for char in text)
    if not 9 <= digits <= 15:
        return False
    return not text.isdigit() or text.startswith("0")  # bare digits: a national number


_TEXT_CHECKS: Checks = (
    ("email", _is_email),
    ("iban", _is_iban),
    ("card_number", _is_card_number),
    ("ip_address", _is_ip_address),
    ("phone", _is_phone),
)
_INTEGER_CHECKS: Checks = (("card_number", _is_card_number),)
