"""``python -m reports.validation``: regenerate reports/validation.md."""

from reports.validation import main

raise SystemExit(main())
