"""One rule for choosing between lowerings of an op by simulated cycles.

The compiler chooses by simulation in four places: the GEMM mapper (tiles, dataflows and mappings:
:func:`compiler.search.search`), the fused-attention block search (:func:`compiler.attention.search`), fused or
unfused attention (``auto`` in :func:`compiler.fusion_plan`) and an FP16 lm_head on the matrix unit or the vector
lanes (:meth:`compiler.Compiler.lower`). Each hands :func:`choose` its candidates (:class:`Option`): how to
simulate one, a lower bound of its cycles when one is known without simulating it, its simulation cost and the
group its runner-up is reported against.

The rule: candidates are simulated in order of bound (stable: the caller's order among equal bounds, unbounded
first); one whose bound reaches the fewest cycles simulated so far is skipped (at best it would tie, and a tie
goes to what was simulated); simulation stops
before a candidate whose cost would take the instructions simulated past ``budget`` (the first one always runs).
The best has the fewest simulated cycles; ties go by the caller's ``tie`` key (computed for the tied candidates
only), then the caller's order. The runner-up is, by the same rule, the best simulated candidate of another
group (None when none was simulated). Units: cycles, instructions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Run:
    """What simulating a candidate gave: its ``cycles``, the caller's ``result`` and the instructions it cost."""

    cycles: int
    result: Any = None
    instructions: int = 0


@dataclass(frozen=True)
class Option:
    """One candidate lowering: ``simulate`` it (returns a :class:`Run`); ``bound``: cycles no simulation of it can
    beat (0: none known); ``cost``: instructions its simulation is expected to take (the budget check);
    ``group``: candidates of one group are not each other's runner-up; ``key``: the caller's name for it."""

    key: Any
    simulate: Callable[[], Run]
    bound: float = 0
    cost: int = 0
    group: Any = None


@dataclass(frozen=True)
class Tried:
    """A simulated candidate: its option, position among the options, and its run."""

    option: Option
    index: int
    run: Run

    @property
    def cycles(self) -> int:
        return self.run.cycles


@dataclass(frozen=True)
class Choice:
    """The outcome of :func:`choose`: the best and the runner-up simulated candidates, every simulated one (in
    simulation order) and the options skipped by their bound (never simulated)."""

    best: Tried
    runner_up: Tried | None
    tried: tuple[Tried, ...]
    skipped: tuple[Option, ...]


def _best(tried: Sequence[Tried], tie: Callable[[Tried], Any] | None) -> Tried:
    fewest = min(t.cycles for t in tried)
    tied = [t for t in tried if t.cycles == fewest]
    if len(tied) > 1 and tie is not None:
        return min(tied, key=lambda t: (tie(t), t.index))
    return min(tied, key=lambda t: t.index)


def choose(options: Sequence[Option], tie: Callable[[Tried], Any] | None = None,
           budget: int | None = None) -> Choice:
    """Simulate ``options`` and keep the best and the runner-up (the rule: module docstring)."""
    if not options:
        raise ValueError("choose() needs at least one option")
    order = sorted(range(len(options)), key=lambda i: options[i].bound)
    tried: list[Tried] = []
    skipped: list[Option] = []
    spent = 0
    for i in order:
        o = options[i]
        if tried and budget is not None and spent + o.cost > budget:
            break
        if tried and o.bound >= min(t.cycles for t in tried):
            skipped.append(o)
            continue
        run = o.simulate()
        spent += run.instructions
        tried.append(Tried(o, i, run))
    best = _best(tried, tie)
    others = [t for t in tried if t.option.group != best.option.group]
    return Choice(best, _best(others, tie) if others else None, tuple(tried), tuple(skipped))


def versus(choice: Choice, name: Callable[[Option], str]) -> str:
    """The runner-up in words, the same for every choice: "NAME N cycles", or, when the other candidates were all
    skipped, "NAME at least B" (the best skipped bound); "" when there was no other candidate."""
    if choice.runner_up is not None:
        return f"{name(choice.runner_up.option)} {choice.runner_up.cycles:,}"
    others = [o for o in choice.skipped if o.group != choice.best.option.group]
    if not others:
        return ""
    o = min(others, key=lambda o: o.bound)
    return f"{name(o)} at least {o.bound:,}"
