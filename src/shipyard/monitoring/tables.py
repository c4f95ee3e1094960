"""The tables drift compares: a CSV or Parquet file, or a dataset version by its ref.

Files are read as dataset versions are (:func:`shipyard.data.tabular.read_table`, with
pyarrow), so the same bytes give the same column types on either side.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd


def read_table(source: str, load_ref: Callable[[str], pd.DataFrame]) -> pd.DataFrame:
    """``source`` as a DataFrame: an existing file is read, anything else is a dataset
    ref given to ``load_ref``."""
    path = Path(source).expanduser()
    if path.is_dir():
        raise ValidationError(f"{source!r} is a folder: give a CSV or Parquet file, or a ref")
    if not path.is_file():
        return load_ref(source)
    from shipyard.data.tabular import read_table as read_file

    return read_file(path).to_pandas()
