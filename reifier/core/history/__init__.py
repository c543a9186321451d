"""History parsers, one per format, behind a small registry (see :mod:`.registry`)."""
