"""Amaranth components (hardware); see rtl/__init__.py for the split from rtl.tools."""
