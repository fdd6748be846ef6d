"""Compatibility modes: analytical models that reproduce a peer tool's published numbers exactly.

They are reported beside, never instead of, lutsim's own timing model (design.md, "Fidelity").
"""
