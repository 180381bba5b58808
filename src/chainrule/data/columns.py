"""Column: how one input column of a table becomes numeric features, as plain JSON data.

Kinds and their features (in this order; "NAME" is the column's name):
- numeric:     NAME, then NAME_missing (1 where the cell was missing) if the training rows had
               missing cells; a missing cell takes `fill`, the training rows' median.
- date:        (text cells parse in `format`, one of DATE_FORMATS; UTC, then naive)
               NAME_year, NAME_month_sin/_cos (2π(month−1)/12), NAME_weekday_sin/_cos
               (2π·weekday/7, Monday 0), NAME_yearday_sin/_cos (2π(day of year−1)/365.25),
               then NAME_missing as above; a missing date takes `fill` (ISO date, the median).
- categorical: NAME=C for each C in `categories` (the cell's text, spaces stripped), then
               NAME=<other> if `other` (rarer categories pooled; unseen ones go there too),
               then NAME=<missing> if the training rows had missing cells. A category never
               seen in training, without <other>, encodes as all zeros (with a warning).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import cast

import numpy as np

from .errors import DataError

__all__ = ["KINDS", "Column", "DataWarning"]

KINDS = ("numeric", "categorical", "date")
FLOAT32_MAX = float(np.finfo(np.float32).max)
# Text date formats tried in turn (pandas.to_datetime's `format`); a column keeps the first in
# which most of its training cells parse.
DATE_FORMATS = ("ISO8601", "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y")
DATE_PARTS = (
    "year",
    "month_sin",
    "month_cos",
    "weekday_sin",
    "weekday_cos",
    "yearday_sin",
    "yearday_cos",
)


class DataWarning(UserWarning):
    """Data that was used, but not as given (e.g. a category the model never saw)."""


@dataclass
class Where:
    """Where a column's cells come from, for error messages."""

    file: str | None
    rows: np.ndarray  # the spreadsheet row of each cell (a DataFrame's index labels)

    def error(self, message: str, index: int, column: str) -> DataError:
        row = None if self.rows is None else self.rows[index]
        row = int(row) if isinstance(row, (int, np.integer)) else row  # or an index label
        return DataError(message, file=self.file, row=row, column=column)


def category_texts(series) -> np.ndarray:
    """Cells as stripped text (object array; None where missing); whole floats as ints."""

    def text(value):
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    missing = series.isna().to_numpy()
    values = series.to_numpy(dtype=object)
    return np.array([None if m else text(v) for v, m in zip(values, missing)], dtype=object)


def numbers_of(series, name: str, where: Where) -> np.ndarray:
    """float64 values (NaN where missing); DataError at the first cell that is not a number,
    is infinite, or overflows float32."""
    import pandas as pd  # type: ignore[import-untyped]

    if series.dtype == np.float64:
        values = series.to_numpy()  # no copy; NaN marks the missing cells already
    elif series.dtype.kind in "iufb":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        present = series.notna().to_numpy()
        texts = series.astype(object).where(series.notna(), None)
        texts = texts.map(lambda v: v.strip() if isinstance(v, str) else v)
        try:
            values = pd.to_numeric(texts, errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        except OverflowError:  # an integer of hundreds of digits: float() makes it inf
            values = np.array([_float_or_nan(v) for v in texts], dtype=np.float64)
        bad = np.flatnonzero(present & np.isnan(values))
        if len(bad):
            raise where.error(
                f"non-numeric value {str(series.iloc[bad[0]]).strip()!r}; most of "
                "this column's cells are numbers, so all must be",
                bad[0],
                name,
            )
    if _in_float32_range(values):
        return values
    wild = (values > FLOAT32_MAX) | (values < -FLOAT32_MAX)  # infinities too; NaN: false
    if wild.any():
        first = int(np.argmax(wild))
        value = values[first]
        what = "infinite value" if np.isinf(value) else "value beyond float32's range"
        raise where.error(f"{what} '{value}'", first, name)
    return values


def numbers_in_range(values: np.ndarray) -> np.ndarray | None:
    """The float64 cells of a NumPy array of numbers when none lies beyond float32's range
    (numbers_of's check, which needs no row numbers: a chunk is checked on the thread that
    parsed it); else None (numbers_of then names the cell)."""
    numbers = values if values.dtype == np.float64 else values.astype(np.float64)
    return numbers if _in_float32_range(numbers) else None


def _in_float32_range(values: np.ndarray) -> bool:
    """Whether no value lies beyond float32's range (infinities neither): two passes
    without temporaries (fmax/fmin pass over NaN, a missing cell; all missing: False)."""
    return not len(values) or bool(
        np.fmax.reduce(values) <= FLOAT32_MAX and np.fmin.reduce(values) >= -FLOAT32_MAX
    )


def _float_or_nan(text) -> float:
    try:
        return float(text)
    except OverflowError:
        return float("inf")  # beyond float32's range: refused below, naming the cell
    except (TypeError, ValueError):
        return float("nan")


def to_dates(texts, date_format: str):
    """pandas datetimes (UTC) of texts in `date_format`; NaT where a text does not parse."""
    import pandas as pd

    return pd.to_datetime(texts, errors="coerce", format=date_format, utc=True)


def guess_date_format(texts) -> str | None:
    """The first of DATE_FORMATS in which most of the (non-missing, stripped) texts parse."""
    for date_format in DATE_FORMATS:
        if len(texts) and to_dates(texts, date_format).notna().to_numpy().mean() > 0.5:
            return date_format
    return None


def dates_of(series, name: str, where: Where, date_format: str = "ISO8601") -> np.ndarray:
    """datetime64[ns] values (NaT where missing); DataError at the first cell not a date."""
    if series.dtype.kind == "M":
        dates = series
    else:
        texts = series.astype(object).where(series.notna(), None)
        dates = to_dates(texts.map(lambda v: v.strip() if isinstance(v, str) else v), date_format)
        bad = np.flatnonzero(series.notna().to_numpy() & dates.isna().to_numpy())
        if len(bad):
            raise where.error(
                f"{str(series.iloc[bad[0]]).strip()!r} is not a date in the "
                f"format of this column's other cells ({date_format})",
                bad[0],
                name,
            )
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    return dates.to_numpy(dtype="datetime64[ns]")


def parse_cells(
    series, kind: str, name: str, where: Where, date_format: str | None = None
) -> np.ndarray:
    """A column's cells as float64 numbers, datetime64 dates or stripped texts (by kind)."""
    if kind == "numeric":
        return numbers_of(series, name, where)
    if kind == "date":
        return dates_of(series, name, where, date_format or "ISO8601")
    return category_texts(series)


def _missing(where: Where, gaps: np.ndarray, name: str) -> DataError:
    return where.error(
        "missing value; fill or drop it, or let chainrule impute it (--impute median, the default)",
        int(np.argmax(gaps)),
        name,
    )


def date_features(dates: np.ndarray) -> np.ndarray:
    """(n, 7) year and the sin/cos of month, weekday and day of year (see the docstring)."""
    import pandas as pd

    index = pd.DatetimeIndex(dates)
    turns = [(index.month - 1) / 12, index.day_of_week / 7, (index.day_of_year - 1) / 365.25]
    parts = [np.asarray(index.year, dtype=np.float64)]
    for turn in turns:
        angle = 2 * math.pi * np.asarray(turn, dtype=np.float64)
        parts += [np.sin(angle), np.cos(angle)]
    return np.stack(parts, axis=1)


@dataclass
class Column:
    """One input column's encoding (module docstring). missing: missing cells in the training
    rows; fill: the value a missing numeric or date cell takes (None: they are refused); a
    missing categorical cell is <missing>, or all zeros when training had no missing cell;
    as_text: the categories are the file's texts (a file is read with this column as text,
    so that "007" stays "007" where pandas would read 7), not numbers or booleans pandas
    read."""

    name: str
    kind: str
    missing: int = 0
    fill: float | str | None = None
    categories: list = field(default_factory=list)
    other: bool = False
    format: str | None = None
    as_text: bool = False

    def feature_names(self) -> list[str]:
        name = self.name
        if self.kind == "categorical":
            names = [f"{name}={c}" for c in self.categories] + [f"{name}=<other>"] * self.other
            return names + [f"{name}=<missing>"] * bool(self.missing)
        names = [name] if self.kind == "numeric" else [f"{name}_{p}" for p in DATE_PARTS]
        return names + [f"{name}_missing"] * bool(self.missing)

    def encode(self, series, where: Where, refuse_missing: bool = False) -> np.ndarray:
        """float64 (rows, len(feature_names())) features of the cells in `series`; with
        refuse_missing (or no fill), DataError at the first missing cell."""
        return self.features(self.parse(series, where), where, refuse_missing)

    def parse(self, series, where: Where) -> np.ndarray:
        """The cells as float64 numbers, datetime64 dates or stripped texts (by kind)."""
        return parse_cells(series, self.kind, self.name, where, self.format)

    def features(self, values: np.ndarray, where: Where, refuse_missing: bool = False):
        """encode() of cells already parsed (values, in the order of where.rows)."""
        if self.kind == "categorical":
            return self._one_hot(values, where, refuse_missing)
        gaps = np.isnan(values) if self.kind == "numeric" else np.isnat(values)
        if gaps.any():
            if refuse_missing or self.fill is None:
                raise _missing(where, gaps, self.name)
            # A date column's fill is an ISO date (str).
            fill = (
                self.fill if self.kind == "numeric" else np.datetime64(cast(str, self.fill), "ns")
            )
            values = np.where(gaps, fill, values)
        features = values[:, None] if self.kind == "numeric" else date_features(values)
        if self.missing:
            features = np.concatenate([features, gaps[:, None].astype(np.float64)], axis=1)
        return features

    def _one_hot(self, texts: np.ndarray, where: Where, refuse_missing: bool) -> np.ndarray:
        import pandas as pd

        gaps = np.equal(texts, None)  # type: ignore[call-overload]  # numpy's stubs take no None
        if gaps.any() and refuse_missing:
            raise _missing(where, gaps, self.name)
        codes = pd.Index(self.categories, dtype=object).get_indexer(texts).astype(np.int64)
        width = len(self.feature_names())
        unseen = (codes < 0) & ~gaps
        if unseen.any():
            codes[unseen] = len(self.categories) if self.other else -1
            if not self.other:
                self._warn_unseen(texts[unseen], where, int(np.argmax(unseen)))
        if self.missing:
            codes[gaps] = width - 1
        features = np.zeros((len(texts), width))
        hit = np.flatnonzero(codes >= 0)
        features[hit, codes[hit]] = 1.0
        return features

    def _warn_unseen(self, texts, where: Where, first: int) -> None:
        seen = sorted(set(texts))
        shown = ", ".join(map(repr, seen[:3])) + (", ..." if len(seen) > 3 else "")
        place = where.error("", first, self.name).args[0].rstrip(": ")
        warnings.warn(
            f"{place}: {len(texts)} cells hold categories never seen in training "
            f"({shown}); encoded as all zeros",
            DataWarning,
            stacklevel=3,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Column:
        if not isinstance(data, dict) or data.get("kind") not in KINDS or "name" not in data:
            raise DataError(f"not a column description: {str(data)[:80]!r}")
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)
