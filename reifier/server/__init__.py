"""Reifier's HTTP side: ``reifier serve`` (:mod:`.app`) and the JupyterLab extension (:mod:`.lab`).

Handlers authenticate (a bearer token for ``reifier serve``, the Jupyter login
for the lab) and turn :class:`reifier.errors.ReifierError` into HTTP 4xx through
one table, :data:`reifier.server.app.HTTP_CODES`; they call the same adapter
functions as the CLI.
"""
