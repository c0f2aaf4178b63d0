"""Exit 0 when the PostgreSQL server named by the URL answers, 1 otherwise."""

from __future__ import annotations

import asyncio
import sys

import asyncpg


async def _probe(url: str) -> None:
    connection = await asyncpg.connect(
        url.replace("postgresql+asyncpg://", "postgresql://"), timeout=3
    )
    await connection.close()


def main() -> None:
    try:
        asyncio.run(_probe(sys.argv[1]))
    except Exception:
        sys.exit(1)


if __name__ == "__main__":
    main()
