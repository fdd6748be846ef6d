"""A tiny test-only PE with a known cycle formula, registered by the ``unit_pe`` fixture.

cycles = ⌈m/TM⌉·⌈n/TN⌉·⌈k/TK⌉·b + 1 (b = weight code bits; (TM, TN, TK) = config.tile or
(rows, cols, 1) of config.array); events: int8_add = m·n·k, int32_add = m·n·⌈k/TK⌉.
"""

from __future__ import annotations

import math

import pytest

import sim.pe as pe_registry
from sim import formats
from sim.pe import GemmResult, PEConfig, PEModel
from sim.pe.base import ACTIVATION_FORMATS, DATAFLOWS

NAME = "unit-test-pe"


def formula(m, n, k, bits, tile=(2, 64, 4)) -> int:
    tm, tn, tk = tile
    return math.ceil(m / tm) * math.ceil(n / tn) * math.ceil(k / tk) * bits + 1


class UnitPE(PEModel):
    name = NAME
    description = "test-only PE: ceil-tiles x weight bits + 1 cycles"
    modes = ("tile",)
    opcode = "LMMA"
    dataflows = DATAFLOWS
    dataflow_source = "test-only: no dataflow is modelled"
    act_formats = ACTIVATION_FORMATS

    @property
    def weight_formats(self) -> tuple[str, ...]:
        return tuple(formats.names())

    def default_config(self) -> PEConfig:
        return PEConfig(tile=(2, 64, 4))

    def check(self, problem, config) -> None:
        formats.get(problem.weights)

    def _tile(self, config):
        if config.tile:
            return config.tile
        return (config.array[0], config.array[1], 1)

    def run(self, problem, config, mode, a=None, qw=None) -> GemmResult:
        tile = self._tile(config)
        bits = formats.get(problem.weights).code_bits
        cycles = formula(problem.m, problem.n, problem.k, bits, tile)
        events = {"int8_add": problem.m * problem.n * problem.k,
                  "int32_add": problem.m * problem.n * math.ceil(problem.k / tile[2])}
        return GemmResult(cycles=cycles, utilization=0.0, events=events, mode=mode)

    def expected(self, problem, config, a, qw):
        raise NotImplementedError("timing-only test PE")


@pytest.fixture
def unit_pe():
    """Register :class:`UnitPE` in the PE registry for one test (:func:`sim.pe.register`), then remove it."""
    yield pe_registry.register(UnitPE)
    pe_registry.unregister(NAME)
