"""Hundreds of generated bad inputs (tests/fuzz/cases.py) through the real command line, batched per category
in one capped subprocess each (tests/fuzz/harness.py: 10 s per case, 6 GiB of address space): every one must
exit with status 2 and one ``error:`` line naming its field; no traceback, no hang, nothing accepted."""

import pytest

from .cases import CATEGORIES, all_cases
from .run import run_cases

CASES = all_cases()


def test_there_are_enough_cases_in_every_category():
    assert len(CASES) >= 300 and len({c["id"] for c in CASES}) == len(CASES)
    for cat in CATEGORIES:
        assert sum(c["category"] == cat for c in CASES) >= 40, cat


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_bad_input_is_one_clear_error(category):
    results = run_cases([c for c in CASES if c["category"] == category])
    bad = [f"{r['outcome']}: {r['id']} -> {r['line']!r}" for r in results if r["outcome"] != "ok"]
    assert not bad, "\n".join(bad)
