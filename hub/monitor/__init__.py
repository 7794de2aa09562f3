"""The bureau operator's exchange monitor: traffic, rejections by code, silent members, the
processing backlog, ETL runs and a message's journey — counts, times, codes, ids and digests,
never a payload. Every function takes the caller's scope (member codes, or None for all)."""
from .backlog import Backlog, backlog, read_backlog
from .etl import etl_runs, last_finished_at, seconds_since, watermark_lags
from .journey import journey
from .periods import LOCAL, MAX_SPAN, Grain, check_period
from .reconcile import KEPT_PAIRS, reconcile_checks, record_reconcile
from .rejections import rejections
from .scope import MemberScope, members_in
from .traffic import silent_members, totals, traffic

__all__ = ["Backlog", "backlog", "read_backlog", "etl_runs", "last_finished_at", "seconds_since", "watermark_lags",
           "journey", "LOCAL", "MAX_SPAN", "Grain", "check_period", "KEPT_PAIRS", "reconcile_checks", "record_reconcile", "rejections", "MemberScope", "members_in",
           "silent_members", "totals", "traffic"]
