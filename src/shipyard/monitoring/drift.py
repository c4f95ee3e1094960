"""Data drift: does a column of the current data still follow its reference distribution?

Each column shared by both tables gets one test, picked by its kind and the size of the
reference (the usual defaults of drift monitoring):

- numeric (more than :data:`CATEGORICAL_MAX_VALUES` distinct reference values):
  two-sample Kolmogorov-Smirnov test when the reference has at most
  :data:`SMALL_SAMPLE` rows (drifted when p < 0.05), else the Wasserstein distance
  divided by the reference's standard deviation (drifted when >= 0.1);
- categorical (text, booleans, categories, numbers with few distinct values):
  chi-squared test of homogeneity on the two count tables for a small reference
  (drifted when p < 0.05), else the Jensen-Shannon distance between the two frequency
  distributions (drifted when >= 0.1).

Missing values are left out of both samples. The dataset has drifted when the share of
drifted columns reaches ``drift_share`` (0.5 by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

SMALL_SAMPLE = 1000  # reference rows up to which statistical tests are used
CATEGORICAL_MAX_VALUES = 5  # a numeric column with this few distinct values is categorical
P_VALUE = 0.05
DISTANCE = 0.1
DRIFT_SHARE = 0.5


@dataclass(frozen=True)
class ColumnDrift:
    """The verdict on one column."""

    column: str
    kind: str  # "numeric" or "categorical"
    test: str  # "ks", "wasserstein", "chi2" or "jensenshannon"
    statistic: float  # the p-value of a test, or the distance
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftReport:
    """Per-column verdicts and the dataset's."""

    columns: list[ColumnDrift]
    drift_share: float  # share of compared columns that drifted
    dataset_drift: bool
    threshold_share: float
    reference_rows: int
    current_rows: int
    skipped: list[dict[str, str]] = field(default_factory=list)  # column, reason

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of ``monitor drift``."""
        return {
            "drift_share": self.drift_share,
            "dataset_drift": self.dataset_drift,
            "threshold_share": self.threshold_share,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "columns": [asdict(column) for column in self.columns],
            "skipped": self.skipped,
        }


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    drift_share: float = DRIFT_SHARE,
) -> DriftReport:
    """Compare every column of ``current`` with the same column of ``reference``
    (or only ``columns``)."""
    if not 0 < drift_share <= 1:
        raise ValidationError(f"the drift share must be in (0, 1], got {drift_share}")
    names = _columns(reference, current, columns)
    verdicts: list[ColumnDrift] = []
    skipped: list[dict[str, str]] = []
    for name in names:
        ref, cur = reference[name].dropna(), current[name].dropna()
        if ref.empty or cur.empty:
            which = "reference" if ref.empty else "current data"
            skipped.append({"column": name, "reason": f"no values in the {which}"})
            continue
        verdicts.append(column_drift(name, ref, cur, small=len(reference) <= SMALL_SAMPLE))
    if not verdicts:
        raise ValidationError("no column has values in both tables: nothing to compare")
    share = sum(v.drifted for v in verdicts) / len(verdicts)
    return DriftReport(
        verdicts,
        share,
        share >= drift_share,
        drift_share,
        len(reference),
        len(current),
        skipped,
    )


def _columns(
    reference: pd.DataFrame, current: pd.DataFrame, wanted: Sequence[str] | None
) -> list[str]:
    shared = [str(c) for c in reference.columns if c in set(current.columns)]
    if wanted:
        missing = [c for c in wanted if c not in shared]
        if missing:
            raise ValidationError(f"columns not in both tables: {', '.join(missing)}")
        return list(wanted)
    if not shared:
        raise ValidationError("the two tables share no column")
    return shared


def column_drift(name: str, ref: pd.Series, cur: pd.Series, *, small: bool) -> ColumnDrift:
    """The drift verdict of one column (missing values already dropped)."""
    if _is_numeric(ref, cur):
        a, b = ref.to_numpy(dtype=float), cur.to_numpy(dtype=float)
        if small:
            from scipy.stats import ks_2samp

            p_value = float(ks_2samp(a, b).pvalue)
            return ColumnDrift(name, "numeric", "ks", p_value, P_VALUE, p_value < P_VALUE)
        distance = _normalized_wasserstein(a, b)
        return ColumnDrift(name, "numeric", "wasserstein", distance, DISTANCE, distance >= DISTANCE)
    ref_counts, cur_counts = _count_tables(ref, cur)
    if small:
        p_value = _chi2_p_value(ref_counts, cur_counts)
        return ColumnDrift(name, "categorical", "chi2", p_value, P_VALUE, p_value < P_VALUE)
    from scipy.spatial.distance import jensenshannon

    distance = float(jensenshannon(ref_counts, cur_counts, base=2))
    return ColumnDrift(
        name, "categorical", "jensenshannon", distance, DISTANCE, distance >= DISTANCE
    )


def _is_numeric(ref: pd.Series, cur: pd.Series) -> bool:
    numeric = all(s.dtype.kind in "iuf" for s in (ref, cur))
    return numeric and ref.nunique() > CATEGORICAL_MAX_VALUES


def _normalized_wasserstein(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover's distance in units of the reference's spread."""
    from scipy.stats import wasserstein_distance

    spread = float(np.std(a))
    if spread == 0:
        spread = float(np.mean(np.abs(a))) or 1.0
    return float(wasserstein_distance(a, b)) / spread


def _count_tables(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Counts of every value seen in either sample, in one order (numbers compared as
    numbers: 1 in an int column is 1.0 in a float one)."""
    numeric = all(s.dtype.kind in "iufb" for s in (ref, cur))
    ref_counts = ref.astype(float if numeric else str).value_counts()
    cur_counts = cur.astype(float if numeric else str).value_counts()
    values = sorted(set(ref_counts.index) | set(cur_counts.index), key=str)
    return (
        ref_counts.reindex(values, fill_value=0).to_numpy(dtype=float),
        cur_counts.reindex(values, fill_value=0).to_numpy(dtype=float),
    )


def _chi2_p_value(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """p-value of the chi-squared test that both samples come from one distribution."""
    if len(ref_counts) < 2:
        return 1.0  # one value on both sides: nothing moved
    from scipy.stats import chi2_contingency

    table = np.vstack([ref_counts, cur_counts])
    return float(chi2_contingency(table, correction=False).pvalue)
