"""How the ETL reads the mart exactly: the live version of each row, retractions removed.

``FINAL`` merges the versions of each row at read time; the retraction filter stays outside the
``FINAL`` subquery, so no engine can apply it before the versions are merged (a ``deleted = 0``
filter moved to PREWHERE would drop the newer retraction and resurrect the older row). Conditions
inside are only ever on columns every version of a row shares (its identity, its document).
"""
EXACT_FACTS = "SELECT {columns} FROM (SELECT * FROM {table} FINAL WHERE {condition}) WHERE deleted = 0"
