"""Known token formats from detect-secrets, as a second net for long words.

detect-secrets (Yelp) keeps one plugin per credential format (Twilio, Discord,
Mailchimp, Square, Azure storage, Artifactory, IBM, SoftLayer, Telegram…), each a
list of compiled regexes (``RegexBasedDetector.denylist``). Its file scanner,
keyword detector and entropy plugins are made for source files, not command
lines, and importing it costs about 0.3 s: so it is imported only the first time
a long candidate word (20+ characters, letters and digits, not a path) reaches
:func:`known_token`, and only its regex plugins are used. The prefixed formats the
shell sees most (AWS, GitHub, GitLab, Slack, Stripe, npm, PyPI, JWT…) are also in
the table of :mod:`reifier.core.redact`, which runs without it.

If detect-secrets is not installed, :func:`known_token` answers ``False``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

# Plugins not used: they are not token formats (IP addresses, keywords, entropy),
# or need a line's context rather than a word.
_SKIPPED = frozenset((
    "IPPublicDetector", "KeywordDetector", "Base64HighEntropyString", "HexHighEntropyString",
    "BasicAuthDetector", "PrivateKeyDetector", "CloudantDetector", "IbmCloudIamDetector",
    "IbmCosHmacDetector", "SoftlayerDetector", "AWSKeyDetector",
))  # fmt: skip
_CANDIDATE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+/=-]{19,}")
_PLAIN = re.compile(r"[0-9a-f:./_-]+|[a-z_./-]+|/.*")


@cache
def _denylists() -> tuple[re.Pattern[str], ...]:
    try:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
        from detect_secrets.plugins.base import RegexBasedDetector
    except ImportError:  # pragma: no cover - detect-secrets is a dependency
        return ()
    patterns: list[re.Pattern[str]] = []
    plugins: list[type] = list(get_mapping_from_secret_type_to_class().values())
    for plugin in plugins:
        if issubclass(plugin, RegexBasedDetector) and plugin.__name__ not in _SKIPPED:
            denylist: Iterable[re.Pattern[str]] = getattr(plugin, "denylist", ())
            patterns.extend(denylist)
    return tuple(patterns)


def candidate(word: str) -> bool:
    """Whether a word is long and mixed enough to be worth asking detect-secrets."""
    return (
        bool(_CANDIDATE.fullmatch(word))
        and not _PLAIN.fullmatch(word)
        and any(c.isdigit() for c in word)
    )


def known_token(word: str) -> tuple[int, int] | None:
    """The span of a known token format inside ``word``, or ``None``."""
    if not candidate(word):
        return None
    for pattern in _denylists():
        m = pattern.search(word)
        if m is not None:
            start, end = m.span()
            while start < end and not word[start].isalnum():
                start += 1  # some denylists match the delimiter before the token
            while end > start and not word[end - 1].isalnum():
                end -= 1
            return (start, end) if end - start >= 16 else None
    return None
