"""Distinct rows of numeric columns and their counts, found by integer coding instead of sorting rows.

Cox and logistic fits at 10^6 subjects run on the distinct rows (cells, covariate patterns) weighted by
their counts, which gives the numbers of the repeated rows at a fraction of the cost. Each column is
coded to integers that keep the order of its values, the codes are combined into one mixed-radix key
per row and the keys counted: O(n), where np.unique(axis=0) sorts the rows (about 3 s at 10^6 x 4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True) by hashing: only the distinct values are sorted."""
    code, uniq = pd.factorize(values, use_na_sentinel=False)
    order = np.argsort(uniq, kind="stable")
    rank = np.empty(len(uniq), np.intp)
    rank[order] = np.arange(len(uniq))
    return np.asarray(uniq)[order], rank[code]


def ordered_codes(col: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes 0..k−1 numbering the distinct values of `col` in increasing order, and k.

    Booleans and integer values in a short range (dummies, day times, age in years, stratum codes) are
    their own codes; other columns are hashed and only their k distinct values are sorted (NaN last).
    """
    if col.dtype.kind == "b":
        return col.view(np.uint8), 2
    if col.size and col.dtype.kind in "iuf":
        lo, hi = col.min(), col.max()  # NaN and ±inf fail the test below (and go to the hash table)
        if -2**52 < lo <= hi < 2**52 and hi - lo < max(col.size, 1024):
            code = col.astype(np.int64)
            if col.dtype.kind != "f" or np.array_equal(code, col):
                if lo != 0:
                    code -= int(lo)
                return code, int(hi - lo) + 1
    uniq, code = unique_inverse(col)
    return code.astype(np.int64), len(uniq)


def cells(columns: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell 0..k−1 of each of the n rows (cells in lexicographic order of the columns' values) and the
    rows per cell."""
    code, card = np.zeros(n, np.int64), 1
    for col in columns:
        c, k = ordered_codes(col)
        if k == 1:
            continue
        if card * k >= 2**62:  # the mixed-radix code would overflow: renumber the combinations so far
            code = np.unique(code, return_inverse=True)[1].astype(np.int64)
            card = int(code.max()) + 1
        code *= k
        code += c
        card *= k
    if card <= max(4 * n, 2**16):
        counts = np.bincount(code, minlength=card)
        present = counts > 0
        return (np.cumsum(present) - 1)[code], counts[present]
    _, cell, counts = np.unique(code, return_inverse=True, return_counts=True)
    return cell, counts
