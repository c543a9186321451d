"""Allow ``python -m reifier``."""

from reifier.cli import main

main()
