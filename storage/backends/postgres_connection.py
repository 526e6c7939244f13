"""psycopg connections that speak the store's SQL: ``?`` and ``:name`` parameters, rows read
by column name or by position as ``sqlite3.Row`` rows are.

The store's queries are written once, in SQL both databases run. sqlite3 and psycopg share
no parameter style, so placeholders are the one thing translated, once per query text.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, Callable

import psycopg
from psycopg.pq import TransactionStatus

# A quoted literal or identifier (its ``?`` and ``:x`` are text), a placeholder, or a percent
# sign, which psycopg reads as the start of one even inside quotes. ``::`` casts are not
# ``:name`` parameters.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|(?<![:\w]):([A-Za-z_]\w*)|%")


@lru_cache(maxsize=512)
def pyformat(sql: str) -> str:
    """``sql`` with ``?`` as ``%s``, ``:name`` as ``%(name)s`` and ``%`` as ``%%``."""

    def swap(token: re.Match) -> str:
        found = token.group(0)
        if found == "?":
            return "%s"
        if found == "%":
            return "%%"
        return f"%({token.group(1)})s" if token.group(1) else found.replace("%", "%%")

    return _TOKENS.sub(swap, sql)


class Row:
    """A result row read by position (``row[0]``) or column name (``row["id"]``)."""

    __slots__ = ("_values", "_names")

    def __init__(self, values: Sequence[Any], names: Mapping[str, int]) -> None:
        self._values = values
        self._names = names

    def __getitem__(self, key: int | str) -> Any:
        return self._values[key if isinstance(key, int) else self._names[key]]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def keys(self) -> list[str]:
        return list(self._names)


def rows(cursor: psycopg.Cursor) -> Callable[[Sequence[Any]], Row]:
    """psycopg row factory: the first column of a repeated name wins, as in ``sqlite3.Row``."""
    names: dict[str, int] = {}
    for index, column in enumerate(cursor.description or ()):
        names.setdefault(column.name, index)
    return lambda values: Row(values, names)


class PostgresConnection:
    """A psycopg connection in autocommit mode behind the ``Connection`` interface."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.raw = conn

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    @property
    def broken(self) -> bool:
        return self.raw.broken or self.raw.closed

    def execute(self, sql: str, parameters: Sequence | Mapping | None = None) -> psycopg.Cursor:
        """Run one statement; without parameters the text goes to the server as it is."""
        return self.raw.execute(sql if parameters is None else pyformat(sql), parameters)

    def executemany(self, sql: str, parameters: Sequence[Sequence | Mapping]) -> psycopg.Cursor:
        cursor = self.raw.cursor()
        cursor.executemany(pyformat(sql), parameters)
        return cursor

    def rollback(self) -> None:
        if not self.broken:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        self.raw.close()
