"""lutsim — the front door: the ``lutsim`` command, the Python API and the sweep runner.

Data flows workloads → compiler → sim → reports; this package only wires the stages.
"""

__version__ = "0.1.0"
