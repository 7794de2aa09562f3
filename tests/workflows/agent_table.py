"""The clinic agent's reply routing (docs/agent.md) writing workflow notices into a clinic database table:
the end-to-end tests' common last step."""
from __future__ import annotations

from pathlib import Path


def written_by_the_agent(client, folder: Path, *, member: str, kinds: tuple[str, ...], table: str,
                         columns: dict[str, str], select: str):
    """Route ``member``'s replies of ``kinds`` into ``table`` (one TEXT column per ``columns`` entry, keyed by
    ``reply_id``); returns (the rows ``select`` reads back, the router's result)."""
    import sqlalchemy as sa

    from adapters.agent.config import ReplyTarget
    from adapters.agent.outbox import Outbox
    from adapters.agent.replies import ReplyRouter

    url = f"sqlite:///{folder}/clinic.db"
    engine = sa.create_engine(url)
    definition = ", ".join(f"{name} TEXT" + (" PRIMARY KEY" if name == "reply_id" else "") for name in columns)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE TABLE {table} ({definition})")
    target = ReplyTarget(kinds=kinds, database=url, table=table, columns=columns, key="reply_id")
    router = ReplyRouter(Outbox(folder / "outbox.db", member=member), client, (target,))
    try:
        result = router.run()
    finally:
        router.close()
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.exec_driver_sql(select)]
    engine.dispose()
    return rows, result
