"""The history formats Reifier reads, as a table behind one registry.

``formats`` holds the built-ins and, on first use, any ``HistoryFormat`` that
an installed package offers under the ``reifier.history_formats`` entry-point
group (papermill finds its engines the same way). Plugins are loaded lazily so
importing the core reads no package metadata.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from reifier.core.history import bash, spool, zsh
from reifier.core.models import ParseResult
from reifier.errors import BadInput, ReifierWarning

ENTRY_POINT_GROUP = "reifier.history_formats"


class Parser(Protocol):
    """The signature every history parser has."""

    def __call__(
        self,
        data: bytes,
        /,
        *,
        source: str,
        shell_session: str,
        host: str = ...,
        user: str = ...,
        start_seq: int = ...,
        final: bool = ...,
    ) -> ParseResult:
        """Parse ``data`` into events, skipped lines and the bytes consumed."""


@dataclass(frozen=True)
class HistoryFormat:
    """One history format: how to recognise it, how to parse it, and an example."""

    name: str
    description: str
    sniff: Callable[[bytes], float]  # confidence in [0, 1] that data is in this format
    parse: Parser
    example: bytes
    example_commands: tuple[str, ...] = ()  # what ``example`` parses to, in order


class FormatRegistry:
    """Formats by name, filled with the built-ins and from entry points."""

    def __init__(self, builtins: tuple[HistoryFormat, ...] = (), group: str | None = None):
        self._formats: dict[str, HistoryFormat] = {}
        self._group = group
        self._loaded = group is None
        for fmt in builtins:
            self.register(fmt)

    def register(self, fmt: HistoryFormat, *, replace: bool = False) -> None:
        """Add ``fmt``; a taken name is refused unless ``replace`` is set."""
        if fmt.name in self._formats and not replace:
            raise BadInput(f"history format {fmt.name!r} is already registered")
        self._formats[fmt.name] = fmt

    def names(self) -> list[str]:
        """Return the registered format names, built-ins first."""
        self._load_plugins()
        return list(self._formats)

    def get(self, name: str) -> HistoryFormat:
        """Return the format called ``name``; unknown names list the valid ones."""
        self._load_plugins()
        try:
            return self._formats[name]
        except KeyError:
            valid = ", ".join(self._formats)
            raise BadInput(f"unknown history format {name!r} (valid: {valid})") from None

    def detect(self, data: bytes) -> HistoryFormat:
        """Return the format most confident it can read ``data`` (ties: first registered)."""
        best: HistoryFormat | None = None
        best_score = 0.0
        for fmt in self:
            score = self._sniff(fmt, data)
            if score > best_score:
                best, best_score = fmt, score
        if best is None:
            valid = ", ".join(self._formats)
            raise BadInput(f"cannot tell the history format; name one of: {valid}")
        return best

    def __iter__(self) -> Iterator[HistoryFormat]:
        self._load_plugins()
        return iter(list(self._formats.values()))

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._formats

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._formats)

    @staticmethod
    def _sniff(fmt: HistoryFormat, data: bytes) -> float:
        """Ask one format for its confidence; a broken plugin scores zero, with a warning."""
        try:
            return float(fmt.sniff(data))
        except Exception as exc:  # a plugin's bug must not stop detection of the others
            _warn(f"history format {fmt.name!r}: sniff failed: {exc}")
            return 0.0

    def _load_plugins(self) -> None:
        """Register entry-point formats once; built-in names cannot be taken over."""
        if self._loaded or self._group is None:
            return
        self._loaded = True
        for ep in importlib.metadata.entry_points(group=self._group):
            try:
                fmt = ep.load()
            except Exception as exc:  # a broken plugin must not break the built-ins
                _warn(f"history format plugin {ep.name!r} failed to load: {exc}")
                continue
            if not isinstance(fmt, HistoryFormat):
                _warn(f"history format plugin {ep.name!r} is not a HistoryFormat")
            elif fmt.name in self._formats:
                _warn(f"history format plugin {ep.name!r} reuses the name {fmt.name!r}")
            else:
                self._formats[fmt.name] = fmt


def _warn(message: str) -> None:
    """Warn that a plugin format misbehaved (the built-ins keep working)."""
    warnings.warn(message, ReifierWarning, stacklevel=4)


def _parse_spool(
    data: bytes,
    *,
    source: str,
    shell_session: str,
    host: str = "",
    user: str = "",
    start_seq: int = 0,
    final: bool = True,
) -> ParseResult:
    """Parse hook spool records; they carry their own shell session, host and user.

    ``final`` changes nothing: a spool record cut short is never usable, so it
    is always left unconsumed.
    """
    return spool.parse_spool(data, source=source, start_seq=start_seq)


def _sniff_spool(data: bytes) -> float:
    """Return certainty when ``data`` starts with the spool record marker."""
    return 1.0 if data.startswith(spool.MAGIC) else 0.0


_SPOOL_EXAMPLE = spool.encode_record(
    {
        "shell": b"bash",
        "session": b"1763978400000000-4242-ab12",
        "histnum": b"17",
        "started": b"1763978601000000",
        "ended": b"1763978602500000",
        "exit": b"0",
        "host": b"db1",
        "user": b"alice",
        "cwd": b"/var/cache",
        "command": b"systemctl stop app",
    }
)

BUILTINS: tuple[HistoryFormat, ...] = (
    HistoryFormat(
        name=bash.PLAIN,
        description="plain bash history: one command a line, no times",
        sniff=bash.sniff_plain,
        parse=bash.parse_plain,
        example=bash.EXAMPLE_PLAIN,
        example_commands=bash.EXAMPLE_PLAIN_COMMANDS,
    ),
    HistoryFormat(
        name=bash.STAMPED,
        description="bash history with HISTTIMEFORMAT: '#<epoch>' before each (multi-line) entry",
        sniff=bash.sniff_timestamps,
        parse=bash.parse_timestamps,
        example=bash.EXAMPLE_STAMPED,
        example_commands=bash.EXAMPLE_STAMPED_COMMANDS,
    ),
    HistoryFormat(
        name=zsh.NAME,
        description="zsh EXTENDED_HISTORY: ': <start>:<elapsed>;<command>', backslash-continued",
        sniff=zsh.sniff,
        parse=zsh.parse,
        example=zsh.EXAMPLE,
        example_commands=zsh.EXAMPLE_COMMANDS,
    ),
    HistoryFormat(
        name=spool.FORMAT,
        description="Reifier shell-hook spool: NUL-separated records with exit code, cwd, times",
        sniff=_sniff_spool,
        parse=_parse_spool,
        example=_SPOOL_EXAMPLE,
        example_commands=("systemctl stop app",),
    ),
)

#: The one registry every caller uses.
formats = FormatRegistry(BUILTINS, group=ENTRY_POINT_GROUP)
