"""A synthetic credit-risk table: the quickstart's data, reproducible from a seed.

Each row is a loan applicant: numeric and categorical features, a sensitive attribute
(``sex``), a contact e-mail (personal data, for the scanner to find; never a feature) and
a binary target (``default``). The default risk follows a known logistic
model, so a trained model has something real to find; income differs slightly between
groups, so fairness reports have something real to show. ``snapshot=2`` draws a later
month whose population has drifted (lower incomes, more business loans, more defaults).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

EMPLOYMENT = ("salaried", "self-employed", "unemployed", "retired")
HOUSING = ("own", "mortgage", "rent")
PURPOSE = ("car", "home", "education", "business", "personal")
TARGET = "default"
SENSITIVE = ("sex",)
IDENTIFIERS = ("applicant_id", "email")  # never features


def make_credit_table(rows: int = 20_000, *, seed: int = 7, snapshot: int = 1) -> pd.DataFrame:
    """Draw ``rows`` applicants; the same arguments always give the same table."""
    import numpy as np
    import pandas as pd

    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows} instead")
    rng = np.random.default_rng([seed, snapshot])
    drift = snapshot - 1
    sex = rng.choice(["female", "male"], size=rows, p=[0.48, 0.52])
    age = rng.integers(18, 76, size=rows)
    employment = rng.choice(
        EMPLOYMENT, size=rows, p=[0.62, 0.18, 0.08 + 0.03 * drift, 0.12 - 0.03 * drift]
    )
    income_scale = np.where(sex == "female", 0.93, 1.0) * (1.0 - 0.08 * drift)
    income = rng.lognormal(mean=10.8, sigma=0.45, size=rows) * income_scale
    income[employment == "unemployed"] *= 0.35
    purpose_p = np.array([0.3, 0.2, 0.12, 0.13 + 0.07 * drift, 0.25 - 0.07 * drift])
    purpose = rng.choice(PURPOSE, size=rows, p=purpose_p / purpose_p.sum())
    housing = rng.choice(HOUSING, size=rows, p=[0.3, 0.35, 0.35])
    history = np.clip(rng.normal((age - 18) * 7, 24), 0, None).round().astype(int)
    open_accounts = rng.poisson(3.0, size=rows)
    late = rng.poisson(0.4 + 0.2 * drift, size=rows)
    loan = np.round(rng.gamma(2.0, 6_000, size=rows) * (1 + 0.5 * (purpose == "home")), -2)
    debt_ratio = np.clip(loan / income + rng.normal(0.15, 0.1, size=rows), 0, 3)
    logit = (
        -2.2
        + 1.6 * debt_ratio
        + 0.55 * late
        - 0.012 * history / 12
        + 1.1 * (employment == "unemployed")
        + 0.35 * (purpose == "business")
        - 0.25 * (housing == "own")
        + 0.4 * (age < 25)
        + 0.3 * drift
    )
    default = rng.random(rows) < 1 / (1 + np.exp(-logit))
    income = np.round(income, 2)
    income[rng.random(rows) < 0.02] = np.nan
    ids = np.arange(1, rows + 1) + 1_000_000 * drift
    return pd.DataFrame(
        {
            "applicant_id": ids,
            "email": [f"applicant{i}@example.com" for i in ids],
            "age": age,
            "sex": pd.Categorical(sex),
            "income": income,
            "employment": pd.Categorical(employment, categories=EMPLOYMENT),
            "housing": pd.Categorical(housing, categories=HOUSING),
            "purpose": pd.Categorical(purpose, categories=PURPOSE),
            "credit_history_months": history,
            "open_accounts": open_accounts,
            "late_payments_2y": late,
            "loan_amount": loan,
            "debt_ratio": np.round(debt_ratio, 4),
            TARGET: default.astype(int),
        }
    )
