"""The tables drift compares: a CSV or Parquet file, or a dataset version by its ref."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


def read_table(source: str, load_ref: Callable[[str], pd.DataFrame]) -> pd.DataFrame:
    """``source`` as a DataFrame: an existing file is read, anything else is a dataset
    ref given to ``load_ref``."""
    path = Path(source).expanduser()
    if path.is_dir():
        raise ValidationError(f"{source!r} is a folder: give a CSV or Parquet file, or a ref")
    if not path.is_file():
        return load_ref(source)
    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET_SUFFIXES:
            return pd.read_parquet(path)
        if suffix in CSV_SUFFIXES:
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except (ValueError, OSError) as exc:  # ParserError is a ValueError
        reason = " ".join(str(exc).split())
        raise ValidationError(f"cannot read {source!r} as a table: {reason}") from exc
    raise ValidationError(f"{source!r}: only CSV and Parquet files can be compared")
