"""What the engine returns: :class:`Stats` (cycles, per-unit busy/stall, per-instruction timing,
event counts per component) and its Chrome / Perfetto trace export."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Stats:
    """Result of :func:`sim.engine.run`.

    cycles: total cycles (end of the last instruction).
    units: per unit instance (``dma``, ``table``, ``vector``, ``array`` or ``array0..``): busy cycles,
        stall cycles waiting for a dependency (``stall_dep``) or for buffer space (``stall_space``),
        ``idle`` = cycles - busy - stalls, ``utilization`` = busy / cycles, ``instructions``; with
        several arrays, ``array`` sums them (utilization over arrays × cycles).
    events: per component (``dram``, ``buf:NAME``, ``table``, ``vector``, ``array``) its action counts
        (bits read/written, tables built, active cycles, ``pe:<event>`` from the PE tile model…).
    peak_bytes: highest occupancy of each buffer (bytes).
    start, end, unit: per instruction (cycles; unit index into ``unit_names``), built on first read by ``timing``
        (a long repeated region is read off a shorter program's schedule: :mod:`sim.engine.periodic`).
    assumptions: the constants behind the numbers (clock, DRAM, buffers, PE model).
    """

    cycles: int
    units: dict[str, dict]
    events: dict[str, dict[str, int]]
    peak_bytes: dict[str, int]
    timing: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]]  # () -> (start, end, unit)
    unit_names: list[str]
    ops: Sequence[str]  # opcode per instruction (a lazy sequence: sim.isa.columns.OpNames)
    clock_mhz: float
    assumptions: dict = field(default_factory=dict)
    _timed: list = field(default_factory=list, repr=False, compare=False)  # (start, end, unit) once built

    def _per_instruction(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self._timed:
            self._timed.append(self.timing())
        return self._timed[0]

    @property
    def start(self) -> np.ndarray:
        return self._per_instruction()[0]

    @property
    def end(self) -> np.ndarray:
        return self._per_instruction()[1]

    @property
    def unit(self) -> np.ndarray:
        return self._per_instruction()[2]

    @property
    def seconds(self) -> float:
        return self.cycles / (self.clock_mhz * 1e6)

    def to_dict(self, per_instruction: bool = False) -> dict:
        d = {"cycles": self.cycles, "seconds": self.seconds, "units": self.units, "events": self.events,
             "peak_bytes": self.peak_bytes, "assumptions": self.assumptions}
        if per_instruction:
            d["instructions"] = [{"op": op, "unit": self.unit_names[u], "start": int(s), "end": int(e)}
                                 for op, u, s, e in zip(self.ops, self.unit, self.start, self.end)]
        return d

    def chrome_trace(self) -> dict:
        """Chrome / Perfetto trace-event JSON (``ph: "X"`` slices; timestamps in µs at the arch clock).
        Open in ui.perfetto.dev or chrome://tracing."""
        us = 1.0 / self.clock_mhz
        events = [{"name": "thread_name", "ph": "M", "pid": 0, "tid": t, "args": {"name": name}}
                  for t, name in enumerate(self.unit_names)]
        for i, (op, u, s, e) in enumerate(zip(self.ops, self.unit, self.start, self.end)):
            events.append({"name": op, "ph": "X", "pid": 0, "tid": int(u), "ts": float(s) * us,
                           "dur": float(e - s) * us, "args": {"index": i, "start_cycle": int(s), "end_cycle": int(e)}})
        return {"traceEvents": events, "displayTimeUnit": "ns"}
