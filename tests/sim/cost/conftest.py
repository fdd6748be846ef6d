from tests.sim.system.unit_pe import unit_pe  # noqa: F401  (fixture)
