"""The model registry: log, look up, load verified, refuse what is unsafe, trace back.

Every test runs on a fresh workspace over SQLite and over PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn
import skops
from sklearn.linear_model import LogisticRegression

from shipyard.data.manifest import Manifest
from shipyard.entities import DatasetVersion, ModelVersion
from shipyard.errors import IntegrityError, NotFound, ValidationError
from shipyard.storage.content import digest_key

LogModel = Callable[..., ModelVersion]


class Cutoff:
    """A model of the user's own class: no safe format can hold it."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (np.asarray(X["debt_ratio"]) > self.limit).astype(int)


def _blob_path(ws: Any, digest: str) -> Path:
    """Where the local blob store keeps the bytes of ``digest``."""
    path = ws.blobs.backend.local_path(digest_key(digest))
    assert path is not None, "the test workspace keeps its blobs on the local disk"
    return Path(path)


def _model_logs(ws: Any) -> list[Any]:
    return [event for event in ws.audit.entries() if event.action == "model.log"]


def test_log_model_records_v1_with_its_signature_and_packages(
    ws: Any, log_model: LogModel, features: list[str]
) -> None:
    mv = log_model(description="baseline")
    assert (mv.ref, mv.name, mv.version) == ("credit@v1", "credit", 1)
    assert (mv.flavor, mv.safe, mv.author) == ("sklearn", True, "tester")
    assert mv.description == "baseline"
    assert re.fullmatch(r"[0-9a-f]{64}", mv.digest)
    manifest = Manifest.from_bytes(ws.blobs.get_bytes(mv.digest))
    assert [entry.path for entry in manifest.entries] == ["example.json", "model.skops"]
    assert (mv.files, mv.bytes) == (2, manifest.size)

    signature = mv.signature
    assert signature["input_kind"] == "dataframe"
    assert [c["name"] for c in signature["inputs"]] == features
    types = {c["name"]: (c["type"], c["dtype"]) for c in signature["inputs"]}
    assert types["age"] == ("integer", "int64")
    assert types["debt_ratio"] == ("float", "float64")
    assert types["employment"] == ("category", "category")
    # the 20 example rows have no gaps, but the training data's income column does
    assert [c["name"] for c in signature["inputs"] if c["nullable"]] == ["income"]
    assert signature["classes"] == [0, 1]
    assert signature["output"] == {"type": "integer", "shape": [None]}

    assert mv.packages["scikit-learn"] == sklearn.__version__
    assert mv.packages["skops"] == skops.__version__
    assert {"numpy", "scipy"} <= set(mv.packages)
    assert ws.models.get(mv.ref) == mv


def test_versions_count_up_and_every_ref_form_resolves(ws: Any, log_model: LogModel) -> None:
    first, second, third = log_model(), log_model(), log_model()
    assert [v.version for v in (first, second, third)] == [1, 2, 3]
    assert [v.ref for v in ws.models.versions("credit")] == ["credit@v3", "credit@v2", "credit@v1"]
    other = log_model(name="fraud")
    assert other.ref == "fraud@v1"  # numbering is per model
    assert sorted(v.ref for v in ws.models.list()) == ["credit@v3", "fraud@v1"]

    assert ws.models.get("credit@v2") == second
    assert ws.models.get("credit@latest").version == 3
    assert ws.models.get("credit").version == 3
    ws.models.promote("credit", 2, alias="champion")
    assert ws.models.get("credit@champion").version == 2
    assert ws.models.get("credit@v2").aliases == ("champion",)
    assert ws.models.get("credit@v3").aliases == ()


def test_unknown_models_versions_and_aliases_are_not_found(ws: Any, log_model: LogModel) -> None:
    log_model()
    for ref in ("nope", "nope@latest", "nope@v1", "nope@champion"):
        with pytest.raises(NotFound, match="no model named 'nope'"):
            ws.models.get(ref)
    with pytest.raises(NotFound, match="no model named 'nope'"):
        ws.models.versions("nope")
    with pytest.raises(NotFound, match="no model named 'nope'"):
        ws.models.load("nope")
    with pytest.raises(NotFound, match="model 'credit' has no version v9"):
        ws.models.get("credit@v9")
    with pytest.raises(NotFound, match="model 'credit' has no alias 'champion'"):
        ws.models.get("credit@champion")


def test_malformed_refs_are_validation_errors(ws: Any, log_model: LogModel) -> None:
    log_model()
    bad = ["", "@v1", "credit@", "credit@v0", "credit@Champion", "bad name", "credit@v1@v2", 7]
    for ref in bad:
        with pytest.raises(ValidationError):
            ws.models.get(ref)
    with pytest.raises(ValidationError, match="versions start at v1"):
        ws.models.get("credit@v0")
    with pytest.raises(ValidationError, match="must be a string"):
        ws.models.get(7)
    with pytest.raises(ValidationError, match="model name must start with"):
        log_model(name="no spaces allowed")


def test_a_loaded_model_predicts_what_the_live_one_did(
    ws: Any, log_model: LogModel, trained: Any, X: pd.DataFrame
) -> None:
    mv = log_model()
    loaded = ws.models.load("credit@latest")
    assert loaded.ref == mv.ref
    assert loaded.version == mv
    assert loaded.raw is not trained
    assert X["income"].isna().any()  # the whole training table, gaps included
    np.testing.assert_array_equal(loaded.predict(X), trained.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), trained.predict_proba(X))
    assert list(loaded.classes_) == [0, 1]
    shuffled = X[list(reversed(X.columns))]
    np.testing.assert_array_equal(loaded.predict(shuffled), trained.predict(X))


def test_a_model_that_fails_on_its_example_is_refused_and_nothing_is_recorded(
    ws: Any, log_model: LogModel, X: pd.DataFrame
) -> None:
    unfitted = LogisticRegression()
    with pytest.raises(ValidationError, match="predict fails on the example.*nothing was logged"):
        log_model(unfitted)
    with pytest.raises(NotFound):
        ws.models.versions("credit")
    with pytest.raises(ValidationError, match="has no predict method|must have a predict"):
        log_model(object())
    with pytest.raises(ValidationError, match="needs example="):
        ws.models.log(None, Cutoff(0.5), name="credit", example=None, trust=True)

    log_model()  # a good one: v1
    with pytest.raises(ValidationError, match="predict fails"):
        log_model(example=X.head(5).drop(columns=["age"]))  # the live model fails too
    assert [v.ref for v in ws.models.versions("credit")] == ["credit@v1"]
    assert [event.entity_id for event in _model_logs(ws)] == ["credit@v1"]


def test_an_unsafe_object_needs_trust_to_be_stored_and_to_be_loaded(
    ws: Any, log_model: LogModel, X: pd.DataFrame
) -> None:
    model = Cutoff(0.6)
    with pytest.raises(ValidationError, match="no safe format.*trust=True"):
        log_model(model, name="cutoff")
    with pytest.raises(NotFound):
        ws.models.versions("cutoff")

    mv = log_model(model, name="cutoff", trust=True)
    assert (mv.ref, mv.flavor, mv.safe) == ("cutoff@v1", "cloudpickle", False)
    assert mv.details["class"].endswith("Cutoff")
    with pytest.raises(ValidationError, match="runs code when it is loaded.*trust=True"):
        ws.models.load(mv.ref)
    loaded = ws.models.load(mv.ref, trust=True)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    with pytest.raises(ValidationError, match="not a classifier"):
        loaded.predict_proba(X)


def test_a_tampered_model_file_is_refused_before_it_is_deserialized(
    ws: Any, log_model: LogModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import skops.io

    mv = log_model()
    loads_calls: list[int] = []
    real_loads = skops.io.loads

    def spy(data: bytes, *args: Any, **kwargs: Any) -> Any:
        loads_calls.append(len(data))
        return real_loads(data, *args, **kwargs)

    monkeypatch.setattr(skops.io, "loads", spy)
    ws.models.load(mv.ref)
    assert len(loads_calls) == 1  # the spy sees a normal load

    entry = Manifest.from_bytes(ws.blobs.get_bytes(mv.digest)).by_path()["model.skops"]
    path = _blob_path(ws, entry.digest)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    path.write_bytes(bytes(data))

    loads_calls.clear()
    with pytest.raises(IntegrityError, match=entry.digest[:12]):
        ws.models.load(mv.ref)
    assert loads_calls == []  # refused on its digest: skops never saw the bytes
    with pytest.raises(IntegrityError):
        ws.models.load(mv.ref, trust=True)  # trust does not skip the check
    assert loads_calls == []


def test_a_tampered_manifest_is_refused(ws: Any, log_model: LogModel) -> None:
    mv = log_model()
    path = _blob_path(ws, mv.digest)
    path.write_bytes(path.read_bytes().replace(b"model.skops", b"model.pkl!!"))
    with pytest.raises(IntegrityError):
        ws.models.load(mv.ref)


def test_lineage_names_the_run_the_experiment_and_the_data(
    ws: Any, log_model: LogModel, credit_data: DatasetVersion
) -> None:
    mv = log_model()
    described = ws.models.describe(mv.ref)
    assert described["ref"] == "credit@v1"
    assert (described["evaluations"], described["verdicts"], described["approvals"]) == ([], [], [])
    assert described["policy"] is None
    lineage = described["lineage"]
    assert lineage["model"] == mv.ref
    assert lineage["digest"] == mv.digest
    assert lineage["run"]["id"] == mv.run_id
    assert lineage["run"]["experiment"] == "credit-risk"
    assert lineage["run"]["status"] == "finished"
    assert lineage["run"]["user"] == "tester"
    (dataset,) = lineage["datasets"]
    assert (dataset["ref"], dataset["digest"]) == (credit_data.ref, credit_data.digest)
    assert dataset["kind"] == "table"
    assert dataset["rows"] == 2000
    assert dataset["pii"] == ["email"]


def test_a_model_logged_outside_a_run_has_no_lineage(ws: Any, trained: Any, X: Any) -> None:
    mv = ws.models.log(None, trained, name="credit", example=X.head(5))
    assert mv.run_id is None
    assert ws.models.lineage(mv.ref) == {
        "model": mv.ref,
        "digest": mv.digest,
        "run": None,
        "datasets": [],
        "code": None,
    }
    # without the training data's schema, the example decides: no gaps, no NaN allowed
    assert not any(c["nullable"] for c in mv.signature["inputs"])


def test_logging_is_audited(ws: Any, log_model: LogModel) -> None:
    mv = log_model()
    (event,) = _model_logs(ws)
    assert (event.actor, event.entity_kind, event.entity_id) == (
        "tester",
        "model_version",
        "credit@v1",
    )
    assert event.payload == {"digest": mv.digest, "flavor": "sklearn", "run": mv.run_id}
    assert ws.audit.verify().ok
