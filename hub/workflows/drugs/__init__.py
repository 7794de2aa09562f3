"""Drug traceability and recall (药品监督, issue 21): the chain of custody of each batch, recalls, anomalies.

``ledger`` (pure: a batch's legs, holders and anomalies), ``sql`` (its queries), ``trace`` (where a batch
went, who holds it, which patients received it, under the record rules), ``recall`` (the bureau's
recall, fanned out to each affected institution with its own patients only, confirmed by
acknowledging the reply), ``anomalies`` (the runner's handler: each anomaly an alert).
``docs/workflows.md`` ("Drug traceability and recall") describes them.
"""
from .ledger import Anomaly, BatchLedger, DispenseLine, Holding, Leg, MovementLine, judge, ledger
from .models import NoticeState, Recall, RecallNotice

__all__ = ["Anomaly", "BatchLedger", "DispenseLine", "Holding", "Leg", "MovementLine", "judge", "ledger",
           "NoticeState", "Recall", "RecallNotice"]
