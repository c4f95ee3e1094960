"""Model signatures: inferred from an example, enforced on every input, stored as JSON."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from shipyard.entities import ModelVersion
from shipyard.errors import SignatureMismatch, ValidationError
from shipyard.registry.loaded import LoadedModel
from shipyard.registry.signature import Signature, allow_missing, infer_signature


@pytest.fixture
def frame() -> pd.DataFrame:
    """One column of every type family a table model meets."""
    return pd.DataFrame(
        {
            "age": np.array([31, 45, 27, 60], dtype="int64"),
            "income": [52_000.0, 61_500.5, 38_000.0, 75_250.0],
            "city": ["Oslo", "Lima", "Pune", "Oslo"],
            "housing": pd.Categorical(["own", "rent", "rent", "mortgage"]),
            "member": [True, False, True, True],
        }
    )


@pytest.fixture
def signature(frame: pd.DataFrame) -> Signature:
    return infer_signature(frame, np.array([0, 1, 0, 1]), classes=np.array([0, 1]))


def _mismatch(signature: Signature, data: Any, message: str) -> SignatureMismatch:
    with pytest.raises(SignatureMismatch, match=message) as caught:
        signature.check(data)
    return caught.value


def test_infer_reads_every_column_family_and_the_output(signature: Signature) -> None:
    assert [(c.name, c.type, c.dtype, c.nullable) for c in signature.columns] == [
        ("age", "integer", "int64", False),
        ("income", "float", "float64", False),
        ("city", "string", str(pd.Series(["x"]).dtype), False),  # "str" on pandas 3
        ("housing", "category", "category", False),
        ("member", "boolean", "bool", False),
    ]
    assert signature.input_kind == "dataframe"
    assert signature.names == ["age", "income", "city", "housing", "member"]
    assert signature.output == {"type": "integer", "shape": [None]}
    assert signature.classes == [0, 1]


def test_infer_marks_columns_with_gaps_in_the_example_nullable(frame: pd.DataFrame) -> None:
    frame.loc[1, "income"] = np.nan
    signature = infer_signature(frame, np.zeros(4))
    assert {c.name for c in signature.columns if c.nullable} == {"income"}
    assert signature.output == {"type": "float", "shape": [None]}
    assert signature.classes is None


def test_infer_refuses_what_is_not_a_table() -> None:
    with pytest.raises(ValidationError, match="DataFrame or a 2-D numpy array"):
        infer_signature([1.0, 2.0], np.zeros(2))
    with pytest.raises(ValidationError, match="DataFrame or a 2-D numpy array"):
        infer_signature(np.zeros(3), np.zeros(3))
    with pytest.raises(ValidationError, match="at least one row"):
        infer_signature(pd.DataFrame({"x": pd.Series([], dtype=float)}), np.zeros(0))


def test_the_same_frame_passes_unchanged(signature: Signature, frame: pd.DataFrame) -> None:
    assert signature.check(frame) is frame


def test_a_numeric_frame_takes_the_fast_path_and_still_refuses_gaps() -> None:
    numbers = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    signature = infer_signature(numbers, np.zeros(2))
    assert signature.check(numbers) is numbers
    gap = numbers.assign(b=[3.0, np.nan])
    problem = _mismatch(signature, gap, "column 'b' holds missing values")
    assert problem.details == [{"column": "b", "problem": "missing values"}]


def test_reordered_columns_are_accepted_and_put_in_order(
    signature: Signature, frame: pd.DataFrame
) -> None:
    shuffled = frame[["member", "city", "age", "housing", "income"]]
    checked = signature.check(shuffled)
    assert list(checked.columns) == signature.names
    pd.testing.assert_frame_equal(checked, frame)


def test_a_missing_column_is_named(signature: Signature, frame: pd.DataFrame) -> None:
    problem = _mismatch(signature, frame.drop(columns=["income"]), "missing column.*'income'")
    assert problem.details == [{"column": "income", "problem": "missing"}]


def test_an_extra_column_is_named(signature: Signature, frame: pd.DataFrame) -> None:
    problem = _mismatch(signature, frame.assign(email="x@example.com"), "does not take: 'email'")
    assert problem.details == [{"column": "email", "problem": "unexpected"}]


def test_a_wrong_type_names_the_column(signature: Signature, frame: pd.DataFrame) -> None:
    text = frame.assign(income=["52000", "61500", "38000", "75250"])
    problem = _mismatch(signature, text, "column 'income' must be float")
    assert problem.details[0]["column"] == "income"
    assert problem.details[0]["problem"] == "type"
    # floats where integers are expected would lose information: refused too
    _mismatch(signature, frame.assign(age=[31.5, 45.0, 27.0, 60.0]), "column 'age' must be integer")


def test_integers_are_accepted_where_floats_are_expected(
    signature: Signature, frame: pd.DataFrame
) -> None:
    whole = frame.assign(income=[52_000, 61_500, 38_000, 75_250])
    assert signature.check(whole) is whole


def test_nan_in_a_non_nullable_float_column_is_refused(
    signature: Signature, frame: pd.DataFrame
) -> None:
    frame.loc[2, "income"] = np.nan
    problem = _mismatch(signature, frame, "column 'income' holds missing values")
    assert problem.details == [{"column": "income", "problem": "missing values"}]


def test_none_in_a_non_nullable_text_column_is_refused(
    signature: Signature, frame: pd.DataFrame
) -> None:
    frame.loc[0, "city"] = None
    _mismatch(signature, frame, "column 'city' holds missing values")


def test_infinity_is_refused_even_where_missing_values_are_allowed(
    signature: Signature, frame: pd.DataFrame
) -> None:
    widened = allow_missing(signature, {"income"})
    for value in (np.inf, -np.inf):
        bad = frame.assign(income=[1.0, value, 2.0, 3.0])
        problem = _mismatch(widened, bad, "column 'income' holds infinite values")
        assert problem.details == [{"column": "income", "problem": "infinite"}]
        _mismatch(signature, bad, "infinite")


def test_allow_missing_widens_the_named_columns_except_integers(
    signature: Signature, frame: pd.DataFrame
) -> None:
    widened = allow_missing(signature, {"income", "city", "age"})
    nullable = {c.name: c.nullable for c in widened.columns}
    assert nullable == {
        "age": False,  # an integer column cannot hold NaN: its gaps turn it into floats
        "income": True,
        "city": True,
        "housing": False,
        "member": False,
    }
    frame.loc[1, "income"] = np.nan
    frame.loc[2, "city"] = None
    assert widened.check(frame) is frame
    _mismatch(signature, frame, "missing values")  # the original is unchanged


def test_an_array_signature_checks_shape_and_dtype() -> None:
    example = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    signature = infer_signature(example, np.array([1.0, 2.0]))
    assert signature.input_kind == "array"
    assert signature.names == ["0", "1", "2"]
    assert signature.check(example) is example
    assert signature.check(np.zeros((7, 3), dtype="int32")).shape == (7, 3)  # ints fit floats
    _mismatch(signature, np.zeros((2, 4)), r"2-D array of 3 columns, got shape \(2, 4\)")
    _mismatch(signature, np.zeros(3), r"got shape \(3,\)")
    _mismatch(signature, np.array([["a", "b", "c"]]), "must be float")
    _mismatch(signature, np.array([[1.0, np.nan, 3.0]]), "column '1' holds missing values")
    _mismatch(signature, np.array([[1.0, 2.0, np.inf]]), "column '2' holds infinite values")
    frame = pd.DataFrame(example, columns=["x", "y", "z"])
    assert isinstance(signature.check(frame), np.ndarray)  # a frame is taken as its values


def test_records_are_checked_as_a_frame(signature: Signature) -> None:
    records = [
        {"member": True, "age": 31, "income": 52_000.0, "city": "Oslo", "housing": "own"},
        {"member": False, "age": 45, "income": 61_500.5, "city": "Lima", "housing": "rent"},
    ]
    checked = signature.check(records)
    assert isinstance(checked, pd.DataFrame)
    assert list(checked.columns) == signature.names
    assert checked["age"].tolist() == [31, 45]
    columns = {"age": [31], "income": [1.0], "city": ["Oslo"], "housing": ["own"], "member": [1]}
    _mismatch(signature, columns, "column 'member' must be boolean")
    _mismatch(signature, [{"age": 31}], "missing column")


def test_input_that_is_not_a_table_is_refused(signature: Signature) -> None:
    _mismatch(signature, "age=31", "got str instead")
    _mismatch(signature, {"age": [1, 2], "city": [1, 2, 3]}, "cannot form")


def test_to_dict_and_from_dict_round_trip_through_json(signature: Signature) -> None:
    document = json.loads(json.dumps(signature.to_dict()))
    assert document["inputs"][0] == {
        "name": "age",
        "type": "integer",
        "dtype": "int64",
        "nullable": False,
    }
    again = Signature.from_dict(document)
    assert again == signature
    assert again.to_dict() == signature.to_dict()
    assert again.names == signature.names


def test_predict_proba_on_a_regressor_is_refused() -> None:
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0]])
    regressor = LinearRegression().fit(X, [1.0, 2.0, 3.5])
    signature = infer_signature(X, regressor.predict(X))
    version = ModelVersion(
        name="prices",
        version=3,
        run_id=None,
        flavor="sklearn",
        safe=True,
        digest="0" * 64,
        files=1,
        bytes=1,
        signature=signature.to_dict(),
        packages={},
        details={},
        author="tester",
        created_at="2026-01-01T00:00:00+00:00",
    )
    loaded = LoadedModel(version, regressor, signature)
    assert loaded.predict(X) == pytest.approx(regressor.predict(X))
    with pytest.raises(ValidationError, match="prices@v3 does not give probabilities"):
        loaded.predict_proba(X)
    assert loaded.classes_ is None
    with pytest.raises(SignatureMismatch):
        loaded.predict(X[:, :1])  # checked before the model sees it
