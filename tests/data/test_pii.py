"""Personal data: each kind found by header or values, and the look-alikes left alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from shipyard.data.pii import scan_pii
from shipyard.data.tabular import table_from_dataframe
from shipyard.errors import ValidationError
from shipyard.examples.credit import make_credit_table

CARDS = ["4111 1111 1111 1111", "5500-0055-5555-5559", "378282246310005", "6011111111111117"]
IBANS = ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR1420041010050500013M02606"]


def _column(values: list[Any], rows: int = 40) -> pa.Table:
    """A one-column table repeating ``values`` to ``rows`` rows."""
    return pa.table({"col": (values * rows)[:rows]})


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["ada@example.com", "b.c+tag@mail.example.co.uk"], "email"),
        (["+44 20 7946 0958", "+1 (555) 123-4567", "06 12 34 56 78", "0612345678"], "phone"),
        (["555-123-4567", "+49 30 901820", "030.1234.5678"], "phone"),
        (CARDS, "card_number"),
        ([4111111111111111, 5500005555555559, 6011111111111117], "card_number"),
        (IBANS, "iban"),
        (["192.168.0.1", "10.0.0.255", "8.8.8.8"], "ip_address"),
        (["2001:db8::1", "::1", "fe80::1ff:fe23:4567:890a"], "ip_address"),
    ],
    ids=[
        "email",
        "phone-international",
        "phone-national",
        "card-text",
        "card-integers",
        "iban",
        "ipv4",
        "ipv6",
    ],
)
def test_values_of_each_kind_are_found(values: list[Any], kind: str) -> None:
    assert scan_pii(_column(values)) == [
        {"column": "col", "kind": kind, "evidence": "values", "share": 1.0}
    ]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("first_name", "name"),
        ("Last Name", "name"),
        ("SURNAME", "name"),
        ("name", "name"),
        ("street", "address"),
        ("Post_Code", "address"),
        ("zip", "address"),
        ("DOB", "birth_date"),
        ("date_of_birth", "birth_date"),
        ("Birthday", "birth_date"),
    ],
    ids=str,
)
def test_headers_of_each_kind_are_found(name: str, kind: str) -> None:
    table = pa.table({name: [1, 2, 3]})

    assert scan_pii(table) == [{"column": name, "kind": kind, "evidence": "header", "share": 1.0}]


@pytest.mark.parametrize(
    "values",
    [
        ["4111111111111112", "5500005555555550", "1234567812345678"],
        [4111111111111112, 1234567812345678],
        ["DE88 3704 0044 0532 0130 00", "GB83WEST12345698765432"],
        ["999.1.1.1", "256.0.0.1", "1.2.3"],
        ["2024-01-31", "1999-12-01", "2024-02-29T10:30:00"],
        ["10:30:00", "00:1A:2B:3C:4D:5E"],
        ["12345.6789", "-123456789", "123456789"],
        ["0000 0000 0000 0000"],
        ["not an email@", "user@localhost"],
    ],
    ids=[
        "luhn-failing-text",
        "luhn-failing-integers",
        "iban-bad-check-digits",
        "not-ip",
        "iso-dates",
        "times-and-mac",
        "plain-numbers",
        "zero-card",
        "almost-emails",
    ],
)
def test_look_alikes_are_not_flagged(values: list[Any]) -> None:
    assert scan_pii(_column(values)) == []


def test_credit_table_flags_only_its_email_column() -> None:
    df = make_credit_table(3000, seed=4)

    findings = scan_pii(table_from_dataframe(df))

    assert [item for item in findings if item["column"] != "email"] == []  # ids, incomes, ages
    if "email" in df.columns:
        assert findings == [
            {"column": "email", "kind": "email", "evidence": "values", "share": 1.0}
        ]


@pytest.mark.parametrize(
    ("emails", "flagged"),
    [(2, False), (3, True), (10, True)],
    ids=["20-percent", "30-percent", "all"],
)
def test_a_column_is_flagged_from_thirty_percent(emails: int, flagged: bool) -> None:
    values = [f"user{i}@example.org" for i in range(emails)] + ["plain text"] * (10 - emails)
    table = pa.table({"col": values * 20 + [None] * 50})  # nulls do not dilute the share

    findings = scan_pii(table)

    expected = [{"column": "col", "kind": "email", "evidence": "values", "share": emails / 10}]
    assert findings == (expected if flagged else [])


def test_header_and_values_both_reported_sorted_by_column() -> None:
    table = pa.table(
        {
            "zeta": ["a@b.io"] * 10,
            "address": ["1 Main Street"] * 10,
            "contact": ["x@y.org"] * 10,
        }
    )

    assert [(item["column"], item["evidence"]) for item in scan_pii(table)] == [
        ("address", "header"),
        ("contact", "values"),
        ("zeta", "values"),
    ]


def test_large_columns_are_sampled_evenly() -> None:
    rows = 200_000
    values = np.where(np.arange(rows) % 2 == 0, "someone@example.com", "n/a").tolist()

    [finding] = scan_pii(pa.table({"col": values}), sample=1000)

    assert finding["share"] == pytest.approx(0.5, abs=0.01)


def test_sample_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="sample must be a positive integer, got 0"):
        scan_pii(pa.table({"x": [1]}), sample=0)
