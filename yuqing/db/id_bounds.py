"""The largest id an integer column holds on every supported database: a BIGINT column up to 2^63-1 on
SQLite and PostgreSQL, an INTEGER column up to 2^31-1 on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy.orm import InstrumentedAttribute

INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1


def column_max(column: InstrumentedAttribute[int]) -> int:
    """The largest value the column holds on every supported database."""
    return BIGINT_MAX if isinstance(column.property.columns[0].type, BigInteger) else INT_MAX
