"""Judge SQL by parsing it (sqlglot), not by searching its text.

``destructive_sql`` returns what makes a statement lose data — ``DROP``
of a database, schema or table, ``TRUNCATE``, ``DELETE``/``UPDATE`` without
``WHERE``, ``ALTER TABLE … DROP`` — or ``None``. Comments are comments
(``-- DROP TABLE x`` drops nothing) and a statement after a comment is still
a statement (``/* hi */ DROP TABLE x``). psql meta-commands (``\\dt``) are
skipped. Text sqlglot cannot parse falls back to the statement's first
words with comments removed, so a dialect it does not know is not a way around.

sqlglot is imported on first use: most commands are not SQL.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

#: client -> sqlglot dialect
DIALECTS = {"psql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite3": "sqlite",
            "clickhouse-client": "clickhouse", "cqlsh": "", "duckdb": "duckdb",
            "sqlcmd": "tsql", "snowsql": "snowflake", "bq": "bigquery", "trino": "trino"}
_DROPPED = frozenset({"DATABASE", "SCHEMA", "TABLE", "KEYSPACE", "COLUMNFAMILY"})
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/|#[^\n]*", re.S)
_FIRST_WORDS = re.compile(
    r"^\s*(drop\s+(database|schema|table|keyspace|user|role)\b|truncate\b|"
    r"delete\s+from\s+[\w.\"`\[\]]+\s*$|update\s+[\w.\"`\[\]]+\s+set\b(?!.*\bwhere\b)|"
    r"alter\s+table\b.*\bdrop\b)", re.I | re.S)


def _sqlglot() -> Any:
    import sqlglot

    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" chatter
    return sqlglot


@lru_cache(maxsize=2048)
def destructive_sql(text: str, client: str = "") -> str | None:
    """Return a description of the first data-losing statement in ``text``, or None."""
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("\\")]
    text = "\n".join(lines)
    if not text.strip() or not re.search(r"[a-zA-Z]", _COMMENTS.sub(" ", text)):
        return None
    sqlglot = _sqlglot()
    try:
        statements = sqlglot.parse(text, read=DIALECTS.get(client) or None)
    except Exception:
        return _fallback(text)
    for statement in statements:
        if statement is None:
            continue
        hit = _judge(statement, sqlglot.exp)
        if hit:
            return hit
    return None


def _judge(node: Any, exp: Any) -> str | None:
    if isinstance(node, exp.Drop):
        kind = str(node.args.get("kind") or "").upper()
        if kind in _DROPPED:
            return f"DROP {kind} {node.this.sql() if node.this else ''}".strip()
    if isinstance(node, exp.TruncateTable):
        return "TRUNCATE"
    if isinstance(node, exp.Delete) and node.args.get("where") is None:
        return "DELETE without WHERE"
    if isinstance(node, exp.Update) and node.args.get("where") is None:
        return "UPDATE without WHERE"
    if isinstance(node, exp.Alter) and any(isinstance(a, exp.Drop | exp.DropPartition)
                                           for a in node.args.get("actions") or ()):
        return "ALTER TABLE … DROP"
    if isinstance(node, exp.Command):
        return _fallback(node.sql())
    return None


def _fallback(text: str) -> str | None:
    for statement in _COMMENTS.sub(" ", text).split(";"):
        match = _FIRST_WORDS.match(statement)
        if match:
            return " ".join(match.group(0).split())[:60]
    return None
