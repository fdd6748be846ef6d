"""``python -m reports.validation``: regenerate reports/validation.md."""

from .report import main

raise SystemExit(main())
