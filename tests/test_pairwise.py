"""The pairwise generator the combination matrix uses covers every pair, in few rows."""
from __future__ import annotations

from pairwise import pairwise, uncovered_pairs


def test_every_pair_is_covered_in_few_rows():
    params = {"a": [0, 1], "b": ["x", "y", "z"], "c": [True, False], "d": [1, 2, 3, 4], "e": ["p", "q"]}
    rows = pairwise(params)
    assert uncovered_pairs(params, rows) == set()
    assert 12 <= len(rows) <= 16  # at least |b| x |d|; far fewer than the 96 full combinations
    assert rows == pairwise(params)  # deterministic
    assert all(set(r) == set(params) for r in rows)


def test_the_checker_sees_a_missing_pair():
    params = {"a": [0, 1], "b": [0, 1]}
    assert uncovered_pairs(params, [{"a": 0, "b": 0}, {"a": 1, "b": 1}]) == {("a", 0, "b", 1), ("a", 1, "b", 0)}
