"""The mart's versioned star schema: declarations (``v1``…), DDL rendering and the migration runner."""
from .ddl import column_type, create_distributed_sql, create_table_sql, local_name
from .migrate import apply_schema, current_version
from .model import Column, Table, TableKind
from .versions import SCHEMA_TABLE, VERSIONS, table

__all__ = ["Column", "Table", "TableKind", "column_type", "create_table_sql", "create_distributed_sql",
           "local_name", "SCHEMA_TABLE", "VERSIONS", "apply_schema", "current_version", "table"]
