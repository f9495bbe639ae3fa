"""DuckDB relations to pandas and pandas to DuckDB, as dbt-duckdb's defaults do it, but faster.

Reading: :func:`relation_frame`.

The grid research reports and the grid lifecycle (dbt Python models) read ~1M-row relations with several text
columns; ``relation.df()`` builds the text columns value by value (about 2 s for 1M rows and
7 text columns), while Arrow hands them to pandas' Arrow-backed string dtype in one piece
(about 0.2 s). The frame is the same as ``relation.df()`` (same columns, dtypes and values:
tested): DuckDB's df() gives an integer or boolean column with NULLs the nullable dtype
(Int64 / boolean), one without NULLs the numpy dtype; Arrow's default would give float /
object for the former, so those columns are converted.

Writing: :func:`arrow_table`. A dbt-duckdb Python model's returned DataFrame is scanned by
DuckDB's pandas scanner, which reads pandas' Arrow-backed text columns value by value (about
4.5 s for fct_volatility_regimes' 1.15M rows and 7 text columns); the same rows handed over as
an Arrow table take about 0.6 s, and DuckDB gives every column the same type (tested).

Assembling: :func:`concat_pieces` puts the rows of many pieces (an engine's series segments
or walks) together column by column. ``pd.concat`` of per-piece DataFrames costs ~3 s for
fct_volatility_regimes' 117 segments (1.15M rows): each piece's text columns are converted
to pandas' string dtype on their own (pandas infers it when a frame is built), then every
block is concatenated; numpy concatenation per column and one conversion of each text
column through its distinct values take ~0.3 s for the same rows.

Mapping: :func:`map_distinct` applies a lookup to each distinct value of a column once
(``Series.map`` on pandas' Arrow-backed text calls back per row: ~0.8 s for the landing's
1.26M kline rows, ~0.05 s through the distinct values).

Ordering: :func:`is_sorted_by` tells an engine that rows read with ``ORDER BY`` need no
pandas sort (a stable multi-key sort of 1M rows with text keys costs 1-4 s).

Pure Python (pyarrow, pandas): the relation comes from the caller (a dbt adapter).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["arrow_table", "concat_pieces", "is_sorted_by", "map_distinct", "relation_frame", "text_array"]

_NULLABLE = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def relation_frame(relation) -> pd.DataFrame:
    """``relation.df()`` through Arrow (see the module docstring).

    Args:
        relation: a DuckDB relation (what a dbt-duckdb Python model's ref returns), or a
            pyarrow Table (as its relation would give it).

    Returns:
        DataFrame: integer / boolean columns with NULLs as pandas' nullable dtypes, others
        as Arrow's pandas conversion gives them (numpy numbers, datetime64, text as
        pandas' default string dtype).
    """
    table = relation if isinstance(relation, pa.Table) else relation.to_arrow_table()
    if table.num_rows == 0 and not isinstance(relation, pa.Table):
        return relation.df()  # no rows: nothing to gain, and df()'s dtypes of an empty result (object text)
    frame = table.to_pandas()
    for name, column in zip(table.column_names, table.columns):
        if column.null_count and column.type in _NULLABLE:
            frame[name] = column.to_pandas(types_mapper=_NULLABLE.get)
    return frame


def arrow_table(frame: pd.DataFrame) -> pa.Table | pd.DataFrame:
    """The rows a dbt Python model returns, as an Arrow table DuckDB stores with the same
    column types as the DataFrame itself (see the module docstring).

    Args:
        frame: the model's rows (any index; it is dropped, as dbt-duckdb drops it).

    Returns:
        pyarrow Table with the frame's columns in order. The frame itself, unchanged, where
        the two paths would type a column differently: no rows (an empty text column has no
        Arrow type to infer) or a categorical column (DuckDB makes an ENUM of it, Arrow a
        VARCHAR).
    """
    if not len(frame) or any(isinstance(dtype, pd.CategoricalDtype) for dtype in frame.dtypes):
        return frame
    return pa.Table.from_pandas(frame, preserve_index=False)


def text_array(values: np.ndarray, vocabulary: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
    """Text values as pandas' string dtype (the dtype ``astype("string")`` gives), built from
    their distinct values: one Arrow ``take`` instead of one conversion per value.

    Args:
        values: shape (n,), an object array of str and None (None = missing); or, with
            ``vocabulary``, integer codes into it (-1 = missing).
        vocabulary: the distinct texts the codes point at, or None.

    Returns:
        pandas StringDtype array of length n, equal to ``pd.array(values, dtype="string")``
        (tests/unit/test_frames.py).
    """
    if vocabulary is None:
        codes, vocabulary = pd.factorize(np.asarray(values, dtype=object))  # -1 = missing
    else:
        codes = np.asarray(values)
    texts = pa.array([*(str(v) for v in vocabulary), None], type=pa.large_string())
    return pd.array(texts.take(np.where(codes < 0, len(vocabulary), codes)), dtype="string")


def concat_pieces(
    pieces: list[dict[str, np.ndarray]],
    constants: list[dict[str, object]] | None = None,
    text: tuple[str, ...] | frozenset[str] = (),
) -> dict[str, object]:
    """The rows of several pieces, column by column (what ``pd.concat`` of one DataFrame per
    piece gives, without its per-piece conversions; see the module docstring).

    Args:
        pieces: per piece, column name -> numpy array of its rows (every piece the same
            columns, each of the piece's length).
        constants: per piece (same order), column name -> one value for all its rows (a
            series' key columns); the same names for every piece. None: no such columns.
        text: the column names (of either kind) holding text (str / None): returned as
            pandas' string dtype (:func:`text_array`); the other columns stay numpy arrays.

    Returns:
        Column name -> array of the rows of every piece in order: the constant columns
        first, then the pieces' columns. Empty when there are no pieces.

    Raises:
        ValueError: the pieces (or constants) do not have the same columns.
    """
    if not pieces:
        return {}
    names = list(pieces[0])
    if any(list(p) != names for p in pieces):
        raise ValueError("concat_pieces: the pieces do not have the same columns")
    out: dict[str, object] = {}
    if constants is not None:
        if len(constants) != len(pieces) or any(list(c) != list(constants[0]) for c in constants):
            raise ValueError("concat_pieces: one mapping of the same constant columns per piece expected")
        lengths = [len(p[names[0]]) for p in pieces] if names else [0] * len(pieces)
        for name in constants[0]:
            values = np.empty(len(pieces), dtype=object)
            values[:] = [c[name] for c in constants]
            if name in text:  # the pieces' codes repeated: no per-row text before the take
                codes, vocabulary = pd.factorize(values)
                out[name] = text_array(np.repeat(codes, lengths), vocabulary)
            else:
                out[name] = np.repeat(np.array(values.tolist()), lengths)
    for name in names:
        column = np.concatenate([p[name] for p in pieces])
        out[name] = text_array(column) if name in text else column
    return out


def map_distinct(values: pd.Series, lookup) -> np.ndarray:
    """``values.map(lookup).to_numpy()`` computed once per distinct value (see the module
    docstring): ``lookup`` is a mapping or a function of one value.

    Args:
        values: a Series of any dtype; a missing value maps to None (a mapping is not asked).
    Returns:
        ndarray (len(values),) of the looked-up values, dtype inferred by numpy from them
        (object when a value is None or the results are mixed).
    Raises:
        KeyError: a mapping lacks a distinct value (``Series.map`` would give NaN there; the
            callers map closed vocabularies, where a gap is a defect).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    get = lookup.__getitem__ if hasattr(lookup, "__getitem__") and not callable(lookup) else lookup
    mapped = [get(u) for u in uniques]
    if (codes < 0).any():
        mapped.append(None)  # code -1 indexes the last entry
    table = np.array(mapped, dtype=object if any(m is None for m in mapped) else None)
    return table[codes] if len(mapped) else np.empty(0, dtype=object)


def is_sorted_by(frame: pd.DataFrame, columns: list[str]) -> bool:
    """True when ``frame``'s rows are in ascending lexicographic order of ``columns`` and no
    value of them is missing: a stable sort by those columns would leave every row where it
    is (rows equal on all of them keep their order), so it can be skipped.

    False when a value is missing or two values of a column do not compare (mixed types).
    Costs ~0.1 s per column on 1M rows (one vectorised comparison of neighbours)."""
    if len(frame) < 2:
        return not frame[list(columns)].isna().any().any()
    decided = np.zeros(len(frame) - 1, dtype=bool)  # neighbours already ordered by an earlier column
    for column in columns:
        values = frame[column]
        if values.isna().any():
            return False
        v = values.to_numpy()
        try:
            before, after = v[:-1], v[1:]
            if (~decided & (after < before)).any():
                return False
            decided |= after > before
        except TypeError:
            return False
    return True
