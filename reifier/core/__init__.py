"""The pure core: parsing, sessions, classification, redaction, guard, matching.

Nothing under ``reifier.core`` may import Jupyter, watchdog or tornado, or touch
files or the network; a test checks this in a fresh interpreter.
"""
