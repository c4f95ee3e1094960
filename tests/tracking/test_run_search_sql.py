"""Run search against real stores: SQLite and PostgreSQL must return the same run ids.

~50 runs are generated from a fixed seed (some without some keys, ties in start time
and in metric values, mixed case and non-ASCII text) and inserted with Core. Each case
pairs a filter with a Python predicate written independently of the compiler, and the
expected ids (and their order) are computed in Python from the same generated data.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite

from shipyard.errors import ValidationError
from shipyard.storage.sql.engine import Database
from shipyard.storage.sql.migrate import ensure_schema
from shipyard.storage.sql.run_search import like_to_glob, search_runs_query
from shipyard.storage.sql.runs import (
    experiments,
    run_latest_metrics,
    run_params,
    run_tags,
    runs,
)
from shipyard.tracking.search import Field, parse_filter, parse_order_by

EXPERIMENTS = {1: "alpha", 2: "beta"}
STATUSES = ("running", "finished", "failed", "killed")
MODELS = ("rf", "RF", "logreg", "log-linear", "svm", "xgb")
NOTES = ("100%", "100 pct", "a_b", "axb", "back\\slash", 'say "hi"', "it's", "Ünïcode", "glob[*?]")
T0 = 1_700_000_000.0
NAN = math.nan


@dataclass
class FakeRun:
    """One generated run, as the test knows it."""

    id: str
    experiment_id: int
    name: str
    status: str
    user: str
    start_time: float
    end_time: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def experiment(self) -> str:
        return EXPERIMENTS[self.experiment_id]

    def metric(self, key: str) -> float:
        """The value, or NaN (which fails every comparison but !=; see the cases)."""
        return self.metrics.get(key, NAN)


def make_runs(count: int = 50, seed: int = 11) -> list[FakeRun]:
    rng = random.Random(seed)
    made = []
    for i in range(count):
        status = STATUSES[i % 4]
        start = T0 + (i // 3) * 3600  # runs come in threes with one start time
        run = FakeRun(
            id=f"{rng.getrandbits(128):032x}",
            experiment_id=1 if rng.random() < 0.6 else 2,
            name=rng.choice(("baseline", "Baseline-v2", "my_baseline", "tuned", "tuned-lr")),
            status=status,
            user=rng.choice(("ann", "bob", "Zed", "émile")),
            start_time=start,
            end_time=None if status == "running" else start + rng.randint(10, 5000),
        )
        if i % 5 != 0:
            run.metrics["auc"] = round(rng.uniform(0.5, 1.0), 3)
        if i % 7 != 3:
            run.metrics["acc"] = round(rng.uniform(0.6, 1.0), 1)  # coarse: many ties
        if i % 3 == 0:
            run.metrics["val loss"] = round(rng.uniform(0.0, 1.0), 2)
        if i % 4 == 1:
            run.metrics["a.b/c-d"] = round(rng.uniform(-5.0, 5.0), 2)
        if i % 6 != 5:
            run.params["model"] = rng.choice(MODELS)
        if i % 3 != 1:
            run.params["lr"] = rng.choice(("0.01", "0.1", "1e-3", "10"))
        if i % 4 != 2:
            run.tags["stage"] = rng.choice(("prod", "dev", "staging", "Prod"))
        if i % 3 == 1 or i == 2:
            run.tags["note"] = NOTES[(i // 3) % len(NOTES)]
        made.append(run)
    return made


RUNS = make_runs()


def insert_runs(db: Database, made: list[FakeRun]) -> None:
    with db.write() as conn:
        conn.execute(
            insert(experiments),
            [
                {"id": i, "name": name, "created_at": "2026-01-01T00:00:00Z", "created_by": "t"}
                for i, name in EXPERIMENTS.items()
            ],
        )
        columns = ("id", "experiment_id", "name", "status", "user", "start_time", "end_time")
        conn.execute(insert(runs), [{c: getattr(r, c) for c in columns} for r in made])
        metrics = [
            {"run_id": r.id, "key": k, "step": 3, "value": v, "timestamp": r.start_time}
            for r in made
            for k, v in r.metrics.items()
        ]
        conn.execute(insert(run_latest_metrics), metrics)
        for table, attr in ((run_params, "params"), (run_tags, "tags")):
            rows = [
                {"run_id": r.id, "key": k, "value": v}
                for r in made
                for k, v in getattr(r, attr).items()
            ]
            conn.execute(insert(table), rows)


@pytest.fixture
def store(store_url: str) -> Iterator[Database]:
    db = Database(store_url)
    ensure_schema(db)
    insert_runs(db, RUNS)
    yield db
    db.dispose()


def run_search(
    db: Database,
    filter_text: str,
    order_text: str = "",
    *,
    experiment_ids: list[int] | None = None,
    limit: int | None = None,
) -> list[str]:
    query = search_runs_query(
        parse_filter(filter_text),
        parse_order_by(order_text),
        experiment_ids=experiment_ids,
        limit=limit,
    )
    with db.read() as conn:
        return list(conn.execute(query).scalars())


# -- the expected answers, in plain Python ------------------------------------------------


def like(pattern: str) -> Callable[[str | None], bool]:
    """A case-sensitive LIKE with backslash escapes, as a regular expression."""
    parts = re.findall(r"\\.|%|_|[^\\%_]", pattern, re.DOTALL)
    body = "".join(".*" if p == "%" else "." if p == "_" else re.escape(p[-1]) for p in parts)
    regex = re.compile(body, re.DOTALL)
    return lambda value: value is not None and regex.fullmatch(value) is not None


def value_of(run: FakeRun, f: Field) -> Any:
    if f.kind == "metric":
        return run.metrics.get(f.key)
    if f.kind in ("param", "tag"):
        return getattr(run, f.kind + "s").get(f.key)
    return getattr(run, f.key)


def expected_ids(
    predicate: Callable[[FakeRun], bool],
    order_text: str = "",
    *,
    experiment_ids: list[int] | None = None,
    limit: int | None = None,
) -> list[str]:
    """Filter, then stable-sort from the least significant key; missing values last."""
    chosen = [
        r
        for r in RUNS
        if (experiment_ids is None or r.experiment_id in experiment_ids) and predicate(r)
    ]
    keys = [(k.field, k.descending) for k in parse_order_by(order_text)]
    named = {f for f, _ in keys}
    if Field("attribute", "start_time") not in named:
        keys.append((Field("attribute", "start_time"), True))
    if Field("attribute", "id") not in named:
        keys.append((Field("attribute", "id"), False))
    for f, descending in reversed(keys):
        present = [r for r in chosen if value_of(r, f) is not None]
        missing = [r for r in chosen if value_of(r, f) is None]
        present.sort(key=lambda r, f=f: value_of(r, f), reverse=descending)
        chosen = present + missing
    return [r.id for r in chosen][:limit]


def has(mapping: dict[str, Any], key: str, test: Callable[[Any], bool]) -> bool:
    return key in mapping and test(mapping[key])


FILTERS: list[tuple[str, str, Callable[[FakeRun], bool]]] = [
    ("metric-gt", "metrics.auc > 0.9", lambda r: r.metric("auc") > 0.9),
    ("metric-le", "metrics.acc <= 0.7", lambda r: r.metric("acc") <= 0.7),
    ("metric-eq", "metrics.acc = 0.8", lambda r: r.metric("acc") == 0.8),
    (
        "metric-ne-needs-key",
        "metrics.acc != 0.8",
        lambda r: has(r.metrics, "acc", lambda v: v != 0.8),
    ),
    (
        "not-metric-eq",
        "not metrics.acc = 0.8",
        lambda r: not has(r.metrics, "acc", lambda v: v == 0.8),
    ),
    ("metric-in", "metrics.acc in (0.7, 0.9)", lambda r: r.metric("acc") in (0.7, 0.9)),
    (
        "metric-not-in",
        "metrics.acc not in (0.7, 0.9)",
        lambda r: has(r.metrics, "acc", lambda v: v not in (0.7, 0.9)),
    ),
    ("backquoted-key", "metrics.`val loss` < 0.3", lambda r: r.metric("val loss") < 0.3),
    ("odd-key-negative", "metrics.a.b/c-d >= -1e0", lambda r: r.metric("a.b/c-d") >= -1),
    ("metric-is-null", "metrics.auc is null", lambda r: "auc" not in r.metrics),
    ("metric-is-not-null", "metrics.`val loss` is not null", lambda r: "val loss" in r.metrics),
    ("not-metric-le", "not (metrics.auc <= 0.9)", lambda r: not r.metric("auc") <= 0.9),
    ("param-eq-case", "params.model = 'rf'", lambda r: r.params.get("model") == "rf"),
    ("param-like", "params.model like 'log%'", lambda r: like("log%")(r.params.get("model"))),
    (
        "param-not-like",
        "params.model NOT LIKE 'log%'",
        lambda r: has(r.params, "model", lambda v: not like("log%")(v)),
    ),
    (
        "param-number-as-text",
        "params.lr = 10 or params.lr = 1e-3",
        lambda r: r.params.get("lr") in ("10", "1e-3"),
    ),
    ("param-text-order", "params.lr > '0.1'", lambda r: has(r.params, "lr", lambda v: v > "0.1")),
    (
        "param-missing",
        "params.model is null and params.lr is not null",
        lambda r: "model" not in r.params and "lr" in r.params,
    ),
    ("like-underscore", "tags.note like 'a_b'", lambda r: r.tags.get("note") in ("a_b", "axb")),
    ("like-escaped-underscore", r"tags.note like 'a\_b'", lambda r: r.tags.get("note") == "a_b"),
    ("like-escaped-percent", r"tags.note like '100\%'", lambda r: r.tags.get("note") == "100%"),
    ("like-backslash", r"tags.note like '%\\\\%'", lambda r: "\\" in r.tags.get("note", "")),
    ("like-glob-chars", "tags.note like '%[*?]'", lambda r: r.tags.get("note") == "glob[*?]"),
    ("like-case-sensitive", "tags.stage like 'prod'", lambda r: r.tags.get("stage") == "prod"),
    (
        "like-unicode-one-char",
        "tags.note like '_nïcode'",
        lambda r: r.tags.get("note") == "Ünïcode",
    ),
    (
        "quotes-in-strings",
        'tags.note = \'it\\\'s\' or tags.note = "say \\"hi\\""',
        lambda r: r.tags.get("note") in ("it's", 'say "hi"'),
    ),
    (
        "tag-in",
        "tags.stage in ('prod', 'staging')",
        lambda r: r.tags.get("stage") in ("prod", "staging"),
    ),
    ("tag-is-null", "tags.stage is null", lambda r: "stage" not in r.tags),
    (
        "precedence",
        "metrics.acc >= 0.8 or tags.stage = 'prod' and status = 'finished'",
        lambda r: (
            r.metric("acc") >= 0.8 or (r.tags.get("stage") == "prod" and r.status == "finished")
        ),
    ),
    (
        "parentheses",
        "(metrics.acc >= 0.8 or tags.stage = \"prod\") and status in ('finished', 'running')",
        lambda r: (
            (r.metric("acc") >= 0.8 or r.tags.get("stage") == "prod")
            and r.status in ("finished", "running")
        ),
    ),
    (
        "not-over-or",
        "not (params.model = 'rf' or metrics.auc > 0.8)",
        lambda r: not (r.params.get("model") == "rf" or r.metric("auc") > 0.8),
    ),
    ("not-not", "not not metrics.auc > 0.9", lambda r: r.metric("auc") > 0.9),
    ("status-ne", "status != 'failed'", lambda r: r.status != "failed"),
    (
        "status-not-in",
        "status not in ('failed', 'killed')",
        lambda r: r.status in ("running", "finished"),
    ),
    ("start-time", "start_time > 1700036000", lambda r: r.start_time > 1_700_036_000),
    (
        "end-time",
        "end_time < 1700030000",
        lambda r: r.end_time is not None and r.end_time < 1_700_030_000,
    ),
    (
        "not-end-time",
        "not end_time < 1700030000",
        lambda r: not (r.end_time is not None and r.end_time < 1_700_030_000),
    ),
    ("end-time-is-null", "end_time is null", lambda r: r.end_time is None),
    ("name-like", "name like '%baseline%'", lambda r: "baseline" in r.name),
    ("name-not-like", "not name like '%baseline%'", lambda r: "baseline" not in r.name),
    ("name-byte-order", "name < 'b'", lambda r: r.name < "b"),
    (
        "user-non-ascii",
        "user >= 'ann' and user != 'bob'",
        lambda r: r.user >= "ann" and r.user != "bob",
    ),
    ("experiment", "experiment = 'beta'", lambda r: r.experiment == "beta"),
    (
        "experiment-like",
        "experiment like 'al%' and metrics.auc > 0.7",
        lambda r: r.experiment == "alpha" and r.metric("auc") > 0.7,
    ),
    ("not-experiment", "not experiment in ('alpha')", lambda r: r.experiment != "alpha"),
    ("id-like", "id like '0%' or id like 'f%'", lambda r: r.id[0] in "0f"),
    ("empty-filter", "   ", lambda r: True),
]


@pytest.mark.parametrize(
    ("filter_text", "predicate"),
    [case[1:] for case in FILTERS],
    ids=[case[0] for case in FILTERS],
)
def test_filter_matches_python(
    store: Database, filter_text: str, predicate: Callable[[FakeRun], bool]
) -> None:
    expected = expected_ids(predicate)
    assert run_search(store, filter_text) == expected


def test_the_cases_select_something_and_not_everything() -> None:
    """Guard the data: a case that matches nothing (or everything) would prove little."""
    for case_id, _, predicate in FILTERS[:-1]:
        matched = sum(predicate(r) for r in RUNS)
        assert 0 < matched < len(RUNS), (case_id, matched)


def everything(run: FakeRun) -> bool:
    return True


ORDERS: list[tuple[str, str, Callable[[FakeRun], bool], str, dict[str, Any]]] = [
    ("default", "", everything, "", {}),
    ("metric-desc-missing-last", "", everything, "metrics.auc desc", {}),
    ("metric-asc-missing-last", "", everything, "metrics.auc", {}),
    ("metric-ties-then-param", "", everything, "metrics.acc DESC, params.model", {}),
    ("param-desc-byte-order", "", everything, "params.model desc", {}),
    ("tag-then-backquoted-metric", "", everything, "tags.stage asc, metrics.`val loss` desc", {}),
    ("end-time-desc-missing-last", "", everything, "end_time desc", {}),
    ("name", "", everything, "name", {}),
    ("user-desc-non-ascii", "", everything, "user desc", {}),
    ("experiment-then-start", "", everything, "experiment desc, start_time", {}),
    ("status-then-id-desc", "", everything, "status, id desc", {}),
    ("same-key-twice", "", everything, "metrics.acc, metrics.acc desc", {}),
    (
        "filter-order-limit",
        "metrics.auc > 0.6",
        lambda r: r.metric("auc") > 0.6,
        "metrics.auc desc",
        {"limit": 5},
    ),
    (
        "filter-and-same-key-order",
        "status = 'finished' and metrics.auc <= 0.9",
        lambda r: r.status == "finished" and r.metric("auc") <= 0.9,
        "metrics.auc, name",
        {"limit": 7},
    ),
    (
        "param-in-same-key-order",
        "params.model in ('rf', 'lr')",
        lambda r: has(r.params, "model", lambda v: v in ("rf", "lr")),
        "params.model desc",
        {},
    ),
    (
        "negated-same-key-keeps-missing",
        "not metrics.auc > 0.6",
        lambda r: not r.metric("auc") > 0.6,
        "metrics.auc desc",
        {},
    ),
    ("experiment-ids-limit", "", everything, "", {"experiment_ids": [2], "limit": 7}),
    (
        "experiment-ids-filter",
        "status = 'finished'",
        lambda r: r.status == "finished",
        "",
        {"experiment_ids": [1, 2]},
    ),
    ("no-experiments", "", everything, "", {"experiment_ids": []}),
    ("limit-zero", "", everything, "", {"limit": 0}),
    ("limit-beyond", "", everything, "params.lr", {"limit": 500}),
]


@pytest.mark.parametrize(
    ("filter_text", "predicate", "order_text", "options"),
    [case[1:] for case in ORDERS],
    ids=[case[0] for case in ORDERS],
)
def test_order_and_limit_match_python(
    store: Database,
    filter_text: str,
    predicate: Callable[[FakeRun], bool],
    order_text: str,
    options: dict[str, Any],
) -> None:
    expected = expected_ids(predicate, order_text, **options)
    assert run_search(store, filter_text, order_text, **options) == expected


def test_cached_statements_keep_their_values(store: Database) -> None:
    """The same query shape twice on one engine: the second values must be used."""
    for pattern in ("log%", "rf", "s_m", "log%"):
        got = run_search(store, f"params.model like '{pattern}' and name != 'x'")
        assert got == expected_ids(lambda r, p=pattern: like(p)(r.params.get("model")))


def test_a_metric_filter_reads_latest_values_only() -> None:
    query = search_runs_query(
        parse_filter("metrics.auc > 0.9 and not metrics.acc is null"),
        parse_order_by("metrics.auc desc"),
        experiment_ids=None,
        limit=10,
    )
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        sql = str(query.compile(dialect=dialect))
        assert re.search(r"\brun_metrics\b", sql) is None, sql
        assert "run_latest_metrics" in sql
        assert "auc" not in sql  # keys and values are bound parameters
        assert "0.9" not in sql
        assert re.search(r'run_latest_metrics\."?key"? = ', sql)


def test_text_rules_render_per_backend() -> None:
    query = search_runs_query(
        parse_filter("params.model like 'a%' and name > 'b'"),
        parse_order_by("tags.stage"),
        experiment_ids=None,
        limit=None,
    )
    lite = str(query.compile(dialect=sqlite.dialect()))
    pg = str(query.compile(dialect=postgresql.dialect()))
    assert " GLOB " in lite
    assert " LIKE " not in lite
    assert "COLLATE" not in lite
    assert " GLOB " not in pg
    assert "LIKE %(param_1)s::VARCHAR ESCAPE '\\'" in pg
    assert 'runs.name COLLATE "C" >' in pg
    assert "order_0.value IS NULL, order_0.value ASC" in lite
    assert 'order_0.value IS NULL, order_0.value COLLATE "C" ASC' in pg


@pytest.mark.parametrize(
    ("pattern", "glob"),
    [
        ("log%", "log*"),
        ("a_b", "a?b"),
        (r"a\_b", "a_b"),
        (r"100\%", "100%"),
        ("x*y?[z]", "x[*]y[?][[]z]"),
        (r"back\\slash", "back\\slash"),
        (r"\q", "q"),
    ],
    ids=["percent", "underscore", "escaped-underscore", "escaped-percent", "glob-chars",
         "backslash", "escaped-plain"],
)  # fmt: skip
def test_like_to_glob(pattern: str, glob: str) -> None:
    assert like_to_glob(pattern) == glob


def test_a_negative_limit_is_rejected() -> None:
    with pytest.raises(ValidationError, match="limit must be zero or a positive integer, got -1"):
        search_runs_query(None, [], experiment_ids=None, limit=-1)
