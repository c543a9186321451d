"""Host inventories for ``host: {inventory: FILE}`` parameter constraints.

An inventory is a text file with one host per line; ``#`` starts a comment,
``[group]`` headers and anything after the first word (Ansible INI variables)
are ignored, so an existing Ansible ``hosts`` file works as it is. A relative
path is taken from the current directory; ``~`` is expanded. An unreadable
inventory admits no host (the run is refused, naming it).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=32)
def hosts_of(path: str) -> frozenset[str]:
    """Return the host names listed in the inventory at ``path`` (empty if unreadable)."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    hosts = set()
    for line in text.splitlines():
        word = line.split("#", 1)[0].strip().split(None, 1)
        if word and not word[0].startswith("["):
            hosts.add(word[0])
    return frozenset(hosts)
