"""Workflows (issue 21): what the hub does with the documents it stores, after it stored them.

The foundation: the runner (``runner``: handlers per document type over ``record_document`` by
watermark), alerts (``alerts``, kinds in ``kinds``), notifications through the reply channel
(``notify``) and subscriptions (``subscriptions``); the first workflow is the class 甲 disease alert
(``class_a``); the two-way referral is ``referral``. ``docs/workflows.md`` describes them.
"""
from .alerts import TRANSITIONS, AlertScope, acknowledge, as_dict, close, list_alerts, raise_alert
from .errors import WorkflowError
from .kinds import ALERT_KINDS, AlertKind, Severity
from .models import Alert, AlertEvent, AlertState, Subscription, Watermark
from .notify import Notification, publish, send
from .runner import DocumentChange, PassResult, WorkflowTicker, handlers, on_documents, run_pass
from .subscriptions import TOPICS, subscribe, unsubscribe

__all__ = ["TRANSITIONS", "AlertScope", "acknowledge", "as_dict", "close", "list_alerts", "raise_alert",
           "WorkflowError", "ALERT_KINDS", "AlertKind", "Severity", "Alert", "AlertEvent", "AlertState",
           "Subscription", "Watermark", "Notification", "publish", "send", "DocumentChange", "PassResult",
           "WorkflowTicker", "handlers", "on_documents", "run_pass", "TOPICS", "subscribe", "unsubscribe"]
