"""The OLAP mart: ClickHouse backends (chDB embedded, server, cluster), the versioned star schema,
dimension loads and rollups. The only package of the project that imports chdb or clickhouse_driver."""
from .backend import Backend
from .capabilities import Capabilities, parse_version
from .chdb_backend import ChdbBackend
from .errors import BackendUnavailable, OlapError, ParameterError, QueryError, SchemaError
from .rollups import ROLLUPS, Rollup, refresh
from .schema import apply_schema, current_version
from .server_backend import ServerBackend
from .sqlparams import bind, identifier, quote_string, render_literal

__all__ = ["Backend", "Capabilities", "parse_version", "ChdbBackend", "ServerBackend", "OlapError",
           "ParameterError", "QueryError", "BackendUnavailable", "SchemaError", "ROLLUPS", "Rollup", "refresh",
           "apply_schema", "current_version", "bind", "identifier", "quote_string", "render_literal"]
