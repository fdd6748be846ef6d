"""One module per ``lutsim`` sub-command (see :mod:`lutsim.cli`)."""
