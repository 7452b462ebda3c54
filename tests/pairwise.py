"""All-pairs (pairwise) combinations: every pair of values of any two parameters in at least one row.

A small greedy generator (in the manner of AETG): each new row starts from a
pair not covered yet, then takes for every other parameter the value that
covers the most uncovered pairs with the values already chosen. Deterministic:
the same parameters give the same rows.
"""
from __future__ import annotations

from itertools import combinations
from typing import Any, Sequence

__all__ = ["pairwise", "uncovered_pairs"]


def _pairs(names: Sequence[str], params: dict[str, Sequence[Any]]) -> set[tuple]:
    return {(a, va, b, vb) for a, b in combinations(names, 2) for va in params[a] for vb in params[b]}


def uncovered_pairs(params: dict[str, Sequence[Any]], rows: Sequence[dict[str, Any]]) -> set[tuple]:
    """The value pairs no row covers (empty for a complete pairwise set)."""
    names = list(params)
    left = _pairs(names, params)
    for row in rows:
        left -= {(a, row[a], b, row[b]) for a, b in combinations(names, 2)}
    return left


def pairwise(params: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows (dicts name -> value) covering every pair of values of every two parameters."""
    names = list(params)
    order = {n: i for i, n in enumerate(names)}
    left = _pairs(names, params)
    rows: list[dict[str, Any]] = []
    while left:
        a, va, b, vb = min(left, key=lambda p: (order[p[0]], order[p[2]], str(p[1]), str(p[3])))
        row = {a: va, b: vb}
        for name in names:
            if name in row:
                continue

            def gain(value: Any) -> int:
                return sum(
                    ((x, row[x], name, value) if order[x] < order[name] else (name, value, x, row[x])) in left
                    for x in row
                )

            row[name] = max(params[name], key=gain)  # the first of equals: deterministic
        left -= {(x, row[x], y, row[y]) for x, y in combinations(names, 2)}
        rows.append(row)
    return rows
