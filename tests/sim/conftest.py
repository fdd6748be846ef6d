from tests.sim.unit_pe import unit_pe  # noqa: F401  (fixture)
