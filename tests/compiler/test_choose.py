"""compiler.choose: the one rule that picks a lowering by simulated cycles (GEMM mapper, attention blocks, fused or
unfused attention, FP16 lm_head on the matrix unit or the lanes)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import choose


def _options(spec, calls):
    def sim(i, cycles, cost):
        def run():
            calls.append(i)
            return choose.Run(cycles, i, cost)
        return run
    return [choose.Option(i, sim(i, c, n), bound=b, cost=n, group=g) for i, (c, b, n, g) in enumerate(spec)]


@settings(max_examples=200, deadline=None)
@given(spec=st.lists(st.tuples(st.integers(1, 50), st.integers(0, 50), st.integers(0, 10), st.integers(0, 2)),
                     min_size=1, max_size=8).map(lambda xs: [(max(c, b), b, n, g) for c, b, n, g in xs]),
       budget=st.none() | st.integers(0, 40))
def test_the_best_is_the_fewest_cycles_of_what_may_win_and_skipping_by_bound_loses_nothing(spec, budget):
    """Without a budget the best has the fewest cycles of all (a skipped option's bound already reaches it: at best
    a tie, which goes to the simulated one); ties among the simulated: the caller's order; the runner-up is the
    best of another group among those simulated."""
    calls: list = []
    found = choose.choose(_options(spec, calls), budget=budget)
    assert len(calls) == len(set(calls)) == len(found.tried)
    assert found.tried[0].index == min(range(len(spec)), key=lambda i: spec[i][1])  # the lowest bound runs first
    best = min((spec[t.index][0], t.index) for t in found.tried)
    assert (found.best.cycles, found.best.index) == best
    for o in found.skipped:
        assert o.bound >= found.best.cycles
    if budget is None:
        assert found.best.cycles == min(c for c, *_ in spec)
    others = [(t.cycles, t.index) for t in found.tried if spec[t.index][3] != spec[found.best.index][3]]
    assert (found.runner_up is None) == (not others)
    if others:
        assert (found.runner_up.cycles, found.runner_up.index) == min(others)


def test_ties_go_by_the_tie_key_computed_only_for_the_tied_then_by_order():
    keyed: list = []

    def tie(t):
        keyed.append(t.index)
        return -t.index
    found = choose.choose(_options([(5, 0, 0, 0), (3, 0, 0, 0), (3, 0, 0, 1), (4, 0, 0, 1)], []), tie)
    assert found.best.index == 2 and sorted(keyed) == [1, 2]
    assert found.runner_up.index == 1
    assert choose.versus(found, lambda o: f"option {o.key}") == "option 1 3"


def test_a_skipped_runner_up_reads_at_least_its_bound_and_budget_stops_simulating():
    found = choose.choose(_options([(10, 0, 0, "lanes"), (30, 20, 0, "matrix")], []))
    assert found.best.index == 0 and found.runner_up is None
    assert choose.versus(found, lambda o: "the matrix unit") == "the matrix unit at least 20"
    calls: list = []
    found = choose.choose(_options([(9, 0, 5, 0), (1, 0, 5, 0), (1, 0, 5, 0)], calls), budget=9)
    assert calls == [0] and found.best.index == 0  # the first always runs; the second would exceed the budget
    with pytest.raises(ValueError):
        choose.choose([])
