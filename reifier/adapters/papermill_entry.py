"""The papermill entry point: a light stand-in for :class:`~reifier.adapters.engine.ReifierEngine`.

papermill loads every ``papermill.engine`` entry point while it is itself being
imported. Pointing it at the real engine module would import papermill from
inside papermill's import whenever our engine module is imported first, a
cycle. This stand-in imports nothing and hands the call to the real engine.
"""

from __future__ import annotations

from typing import Any


class _Forward(type):
    """Resolve every class attribute on the real engine, importing it on first use.

    papermill asks the engine for ``nb_kernel_name`` and ``nb_language`` before
    it injects parameters; the first such call imports the real engine module,
    which also registers Reifier's quoting translator for bash.
    """

    def __getattr__(cls, name: str) -> Any:
        from reifier.adapters import engine

        return getattr(engine.ReifierEngine, name)


class ReifierEngine(metaclass=_Forward):
    """Forward ``papermill --engine reifier`` to the real engine on first use."""
