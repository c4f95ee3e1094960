"""The run search language, parsed without a database: trees, types and error positions."""

from __future__ import annotations

import pytest

from shipyard.errors import ValidationError
from shipyard.tracking.search import (
    MAX_DEPTH,
    And,
    Compare,
    Field,
    InList,
    IsNull,
    Like,
    Node,
    Not,
    Or,
    OrderKey,
    SearchSyntaxError,
    caret_picture,
    parse_filter,
    parse_order_by,
)

AUC = Field("metric", "auc")
ACC = Field("metric", "acc")
MODEL = Field("param", "model")
STAGE = Field("tag", "stage")
STATUS = Field("attribute", "status")


def gt(f: Field, value: float) -> Compare:
    return Compare(f, ">", value)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("metrics.auc > 1", gt(AUC, 1.0)),
        (
            "metrics.auc > 1 and metrics.acc > 2 and tags.stage = 'p'",
            And((gt(AUC, 1), gt(ACC, 2), Compare(STAGE, "=", "p"))),
        ),
        (
            "metrics.auc > 1 or metrics.acc > 2 and tags.stage = 'p'",
            Or((gt(AUC, 1), And((gt(ACC, 2), Compare(STAGE, "=", "p"))))),
        ),
        (
            "(metrics.auc > 1 or metrics.acc > 2) and tags.stage = 'p'",
            And((Or((gt(AUC, 1), gt(ACC, 2))), Compare(STAGE, "=", "p"))),
        ),
        ("not metrics.auc > 1 and metrics.acc > 2", And((Not(gt(AUC, 1)), gt(ACC, 2)))),
        ("not metrics.auc > 1 or metrics.acc > 2", Or((Not(gt(AUC, 1)), gt(ACC, 2)))),
        ("not (metrics.auc > 1 or metrics.acc > 2)", Not(Or((gt(AUC, 1), gt(ACC, 2))))),
        ("not not metrics.auc > 1", Not(Not(gt(AUC, 1)))),
        ("((metrics.auc > 1))", gt(AUC, 1)),
        (
            "metrics.auc > 1 and (metrics.acc > 2 and metrics.acc > 3)",
            And((gt(AUC, 1), And((gt(ACC, 2), gt(ACC, 3))))),
        ),
    ],
    ids=[
        "single",
        "and-chain-flat",
        "and-binds-tighter",
        "parentheses",
        "not-binds-tightest",
        "not-before-or",
        "not-group",
        "not-not",
        "redundant-parentheses",
        "nested-group-kept",
    ],
)
def test_precedence(text: str, tree: Node) -> None:
    assert parse_filter(text) == tree


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("metrics.auc = 1", Compare(AUC, "=", 1.0)),
        ("metrics.auc != 1", Compare(AUC, "!=", 1.0)),
        ("metrics.auc <> 1", Compare(AUC, "!=", 1.0)),
        ("metrics.auc < 1", Compare(AUC, "<", 1.0)),
        ("metrics.auc <= 1", Compare(AUC, "<=", 1.0)),
        ("metrics.auc > 1", Compare(AUC, ">", 1.0)),
        ("metrics.auc >= 1", Compare(AUC, ">=", 1.0)),
        ("metrics.auc>=1", Compare(AUC, ">=", 1.0)),
        ("metrics.auc in (1, 2.5)", InList(AUC, (1.0, 2.5))),
        ("metrics.auc not in (1)", InList(AUC, (1.0,), negated=True)),
        ("params.model like 'log%'", Like(MODEL, "log%")),
        ("params.model not like 'a_b'", Like(MODEL, "a_b", negated=True)),
        ("metrics.auc is null", IsNull(AUC)),
        ("metrics.auc is not null", IsNull(AUC, negated=True)),
        ("end_time is null", IsNull(Field("attribute", "end_time"))),
        ("status in ('running', 'killed')", InList(STATUS, ("running", "killed"))),
        ("status != 'failed'", Compare(STATUS, "!=", "failed")),
        ("experiment = 'alpha'", Compare(Field("attribute", "experiment"), "=", "alpha")),
        ("start_time > 1700000000", gt(Field("attribute", "start_time"), 1.7e9)),
        ("name like '%baseline%'", Like(Field("attribute", "name"), "%baseline%")),
        ("user < 'm'", Compare(Field("attribute", "user"), "<", "m")),
        ("id = 'abc'", Compare(Field("attribute", "id"), "=", "abc")),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_operator(text: str, tree: Node) -> None:
    assert parse_filter(text) == tree


def test_keywords_prefixes_and_attributes_ignore_case() -> None:
    text = "METRICS.auc > 1 AnD NOT Status IN ('running') Or PARAMS.model IS NOT NULL"
    assert parse_filter(text) == Or(
        (And((gt(AUC, 1), Not(InList(STATUS, ("running",))))), IsNull(MODEL, negated=True))
    )


def test_keys_keep_their_case() -> None:
    assert parse_filter("metrics.AUC > 1") == gt(Field("metric", "AUC"), 1)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("1", 1.0),
        ("-2", -2.0),
        ("0.25", 0.25),
        (".5", 0.5),
        ("3.", 3.0),
        ("1e3", 1000.0),
        ("-1.5E-2", -0.015),
        ("2e+2", 200.0),
    ],
)
def test_numbers(literal: str, value: float) -> None:
    assert parse_filter(f"metrics.auc = {literal}") == Compare(AUC, "=", value)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'rf'", "rf"),
        ('"rf"', "rf"),
        ("''", ""),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        ('"it\'s"', "it's"),
        (r"'a\\b'", "a\\b"),
        (r"'tab\there\nnew\rline'", "tab\there\nnew\rline"),
        (r"'100\%'", "100\\%"),  # kept: like patterns use it to escape a wildcard
        ("'a and b or (c)'", "a and b or (c)"),
        ("'ünïcode'", "ünïcode"),
    ],
    ids=[
        "single", "double", "empty", "escaped-quote", "escaped-double", "other-quote",
        "backslash", "control", "unknown-escape-kept", "keywords-inside", "unicode",
    ],
)  # fmt: skip
def test_strings(literal: str, value: str) -> None:
    assert parse_filter(f"params.model = {literal}") == Compare(MODEL, "=", value)


@pytest.mark.parametrize(
    ("literal", "text"),
    [("10", "10"), ("1e-3", "1e-3"), ("0.010", "0.010"), ("-1", "-1")],
)
def test_numbers_compare_with_text_as_written(literal: str, text: str) -> None:
    assert parse_filter(f"params.lr = {literal}") == Compare(Field("param", "lr"), "=", text)
    assert parse_filter(f"tags.n in ({literal}, 'x')") == InList(Field("tag", "n"), (text, "x"))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("metrics.`val loss` < 1", "val loss"),
        ("metrics.a.b/c-d_e < 1", "a.b/c-d_e"),
        ("metrics.`a\\`b` < 1", "a`b"),
        ("metrics.`and` < 1", "and"),
        ("metrics.`x > 1` < 1", "x > 1"),
        ("metrics.0 < 1", "0"),
    ],
    ids=["space", "dots-slashes-dashes", "escaped-backquote", "keyword", "operator", "digit"],
)
def test_keys(text: str, key: str) -> None:
    assert parse_filter(text) == Compare(Field("metric", key), "<", 1.0)


def test_fields_print_as_written() -> None:
    assert str(Field("metric", "val loss")) == "metrics.`val loss`"
    assert str(Field("tag", "a.b/c")) == "tags.a.b/c"
    assert str(Field("attribute", "status")) == "status"


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_blank_filter_is_none(text: str) -> None:
    assert parse_filter(text) is None


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("", []),
        ("metrics.auc", [OrderKey(AUC)]),
        (
            "metrics.auc desc, start_time",
            [OrderKey(AUC, descending=True), OrderKey(Field("attribute", "start_time"))],
        ),
        ("params.model ASC, tags.stage DESC", [OrderKey(MODEL), OrderKey(STAGE, True)]),
        ("metrics.`val loss` desc", [OrderKey(Field("metric", "val loss"), True)]),
        ("experiment,id", [OrderKey(Field("attribute", k)) for k in ("experiment", "id")]),
    ],
    ids=["empty", "one", "two", "case", "backquoted", "no-space"],
)
def test_order_by(text: str, keys: list[OrderKey]) -> None:
    assert parse_order_by(text) == keys


FILTER_ERRORS = [
    ("missing-operand", "metrics.auc >", 13, "expected a value after '>' at position 13"),
    (
        "missing-operand-then-and",
        "metrics.auc > and x",
        14,
        "expected a value after '>', got 'and'",
    ),
    ("missing-operator", "metrics.auc", 11, "expected an operator after 'metrics.auc'"),
    ("missing-field", "metrics.auc > 1 and", 19, "expected a field after 'and'"),
    ("keyword-as-field", "and = 1", 0, "expected a field, got 'and'"),
    ("unclosed-parenthesis", "(metrics.auc > 1", 0, "unclosed parenthesis at position 0"),
    ("empty-parentheses", "()", 1, "expected a field, got ')'"),
    ("unclosed-group", "id = 'a' and (metrics.auc > 1", 13, "unclosed parenthesis at position 13"),
    ("group-stray", "(metrics.auc > 1 id = 'a')", 17, "expected ')', 'and' or 'or', got 'id'"),
    ("unmatched-close", "metrics.auc > 1)", 15, "unmatched ')' at position 15"),
    (
        "stray-token",
        "metrics.auc > 1 metrics.acc > 2",
        16,
        "expected 'and', 'or' or the end, got 'metrics.acc'",
    ),
    ("stray-value", "metrics.auc > 1 2", 16, "got '2'"),
    ("unclosed-string", "params.model = 'rf", 15, "unclosed string (no closing ')"),
    ("unclosed-double", 'params.model = "rf\\"', 15, 'unclosed string (no closing ")'),
    ("unclosed-key", "metrics.`val loss < 1", 8, "unclosed key (no closing `)"),
    ("empty-key", "metrics.`` < 1", 8, "empty key at position 8"),
    ("missing-key", "metrics. < 1", 8, "expected a key after 'metrics.'"),
    ("bare-backquote", "`auc` < 1", 0, "unexpected character '`'"),
    (
        "unknown-prefix",
        "metric.auc > 1",
        0,
        "unknown prefix 'metric' at position 0; did you mean 'metrics'?",
    ),
    (
        "unknown-prefix-far",
        "foo.auc > 1",
        0,
        "unknown prefix 'foo' at position 0; use metrics., params. or tags.",
    ),
    (
        "unknown-attribute",
        "id = 'a' and stat = 'running'",
        13,
        "unknown attribute 'stat' at position 13; did you mean 'status'?",
    ),
    ("unknown-attribute-no-match", "auc > 1", 0, "e.g. metrics.auc"),
    ("empty-in", "status in ()", 11, "empty list after 'in'"),
    ("in-without-list", "status in 'running'", 10, "expected '(' after 'in'"),
    ("in-trailing-comma", "status in ('running',)", 21, "expected a value after ','"),
    ("in-missing-comma", "status in ('running' 'failed')", 21, "expected ',' or ')' in the list"),
    ("in-unclosed", "status in ('running'", 20, "unclosed parenthesis after 'in'"),
    (
        "not-without-in-or-like",
        "params.model not = 'x'",
        17,
        "expected 'in' or 'like' after 'params.model'",
    ),
    ("is-without-null", "params.model is 'x'", 16, "expected 'null' after 'is'"),
    (
        "metric-with-string",
        "metrics.auc > '0.9'",
        14,
        "metrics.auc compares with numbers only, got '0.9'",
    ),
    ("metric-in-string", "metrics.auc in (1, 'x')", 19, "compares with numbers only"),
    ("metric-like", "metrics.auc like '0.9%'", 12, "metrics.auc cannot be matched with like"),
    ("time-with-string", "start_time > '2024-01-01'", 13, "start_time compares with numbers only"),
    (
        "status-unknown",
        "status = 'finish'",
        9,
        "status is one of running, finished, failed, killed, got 'finish' at position 9; "
        "did you mean 'finished'?",
    ),
    ("status-number", "status = 1", 9, "status is one of"),
    ("status-order", "status >= 'failed'", 7, "status supports =, !=, in and not in, not '>='"),
    ("status-like", "status like 'f%'", 7, "status cannot be matched with like"),
    ("status-in-unknown", "status in ('running', 'done')", 22, "status is one of"),
    ("never-null", "name is null", 0, "name is never null"),
    ("like-number", "params.model like 5", 18, "expected a quoted pattern after 'like'"),
    ("like-lone-escape", "params.model like 'a\\\\'", 18, "like pattern ends with a lone '\\'"),
    ("bare-word-value", "params.model = rf", 15, "quote text: 'rf'"),
    ("null-value", "params.model = null", 15, "test for a missing key with 'is null'"),
    ("field-value", "metrics.auc > metrics.acc", 14, "comparing two fields is not supported"),
    (
        "double-equals",
        "params.model == 'rf'",
        13,
        "'==' is not an operator at position 13; use '='",
    ),
    ("bad-character", "params.model = 'a' && x", 19, "unexpected character '&'"),
    ("bad-number", "metrics.auc > 1.2.3", 14, "invalid number '1.2.3'"),
    ("number-then-letters", "metrics.auc > 1abc", 14, "invalid number '1abc'"),
    ("lone-minus", "metrics.auc > -", 14, "unexpected character '-'"),
    ("huge-number", "metrics.auc > 1e999", 14, "number '1e999' is out of range"),
]


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [case[1:] for case in FILTER_ERRORS],
    ids=[case[0] for case in FILTER_ERRORS],
)
def test_filter_errors_point_at_the_mistake(text: str, position: int, message: str) -> None:
    with pytest.raises(SearchSyntaxError) as caught:
        parse_filter(text)
    error = caught.value
    assert error.position == position
    assert message in error.message
    assert f"at position {position}" in error.message
    assert "\n" not in error.message
    assert error.details == [
        {"position": position, "expression": text, "pointer": caret_picture(text, position)}
    ]


ORDER_ERRORS = [
    ("trailing-comma", "metrics.auc,", 12, "expected a field after ','"),
    ("double-direction", "metrics.auc desc desc", 17, "expected ',' or the end, got 'desc'"),
    (
        "unknown-direction",
        "metrics.auc down",
        12,
        "expected 'asc', 'desc', ',' or the end, got 'down'",
    ),
    ("direction-only", "desc", 0, "expected a field, got 'desc'"),
    ("unknown-attribute", "metrics.auc, strat_time", 13, "did you mean 'start_time'?"),
    ("unknown-prefix", "tag.stage", 0, "did you mean 'tags'?"),
    ("operator", "metrics.auc > 1", 12, "got '>'"),
]


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [case[1:] for case in ORDER_ERRORS],
    ids=[case[0] for case in ORDER_ERRORS],
)
def test_order_by_errors_point_at_the_mistake(text: str, position: int, message: str) -> None:
    with pytest.raises(SearchSyntaxError) as caught:
        parse_order_by(text)
    assert caught.value.position == position
    assert message in caught.value.message


def test_the_error_is_a_validation_error_with_a_caret_picture() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_filter("metrics.auc >")
    body = caught.value.to_dict()["error"]
    assert body["code"] == "validation_error"
    assert body["message"] == "expected a value after '>' at position 13"
    assert body["details"][0]["pointer"] == "  metrics.auc >\n               ^"


def test_caret_picture_shows_the_line_of_the_mistake() -> None:
    assert caret_picture("ab", 1) == "  ab\n   ^"
    assert caret_picture("a = 1\nand\tb", 10) == "  and\tb\n     \t^"
    assert caret_picture("x", 1) == "  x\n   ^"


@pytest.mark.parametrize(
    ("opening", "closing"), [("not ", ""), ("(", ")")], ids=["not", "parentheses"]
)
def test_nesting_is_bounded(opening: str, closing: str) -> None:
    def nested(depth: int) -> str:
        return opening * depth + "metrics.auc > 1" + closing * depth

    assert parse_filter(nested(MAX_DEPTH)) is not None
    with pytest.raises(SearchSyntaxError, match=f"more than {MAX_DEPTH} nested") as caught:
        parse_filter(nested(10_000))
    assert caught.value.position == MAX_DEPTH * len(opening)
