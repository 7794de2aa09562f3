"""The registry of alert kinds: a dotted code, a severity, a fixed title in English and Chinese.

Modelled on ``protocol.findings``: an alert's kind must be registered here, and its text is fixed,
never built from input. ``topic`` is the subscription topic an alert of the kind is published to
(``hub.workflows.subscriptions.TOPICS``), if any. ``docs/workflows.md`` lists the same table (a
test keeps the two in step). Workflows add their kinds to ``_SPECS``.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta


class Severity(str, enum.Enum):
    CRITICAL = "critical"  # act now (a class 甲 case)
    WARNING = "warning"    # look today (an outbreak signal, an overdue referral step)
    NOTICE = "notice"


@dataclass(frozen=True)
class AlertKind:
    """What an alert kind means: its severity, fixed titles and the topic it is published to."""

    code: str
    severity: Severity
    title: str
    title_zh: str
    topic: str | None = None
    # a new occurrence this soon after the incident was closed reopens it; later, it is a new incident
    reopen_within: timedelta = timedelta(days=7)


_SPECS = [
    AlertKind("disease.class_a", Severity.CRITICAL,
              "a case of a class A disease, or of a disease managed as class A, was reported",
              "报告了甲类传染病或按甲类管理的传染病病例", topic="alert.disease"),
    AlertKind("referral.overdue", Severity.WARNING,
              "a referral step is overdue (the hospital's answer, or the clinic's follow-up)",
              "转诊环节已超时（医院未答复，或社区未确认随访）"),
    AlertKind("drug.batch.unknown", Severity.CRITICAL,
              "a drug batch was dispensed that no movement in the region ever received (counterfeit?)",
              "发放了本区域从未入库的药品批次（疑似假药）"),
    AlertKind("drug.dispense.excess", Severity.WARNING,
              "an institution gave out more of a drug batch than it received",
              "机构发放的药品批次数量超过其入库数量"),
    AlertKind("drug.dispense.expired", Severity.WARNING,
              "a drug batch was dispensed after its expiry date",
              "药品批次过期后仍在发放"),
    AlertKind("drug.recall.overdue", Severity.WARNING,
              "an institution has not confirmed a drug recall in time",
              "机构未按时确认药品召回通知"),
    AlertKind("disease.outbreak", Severity.WARNING,
              "the cases of a disease in a district rose above what its recent days predict (a possible outbreak)",
              "某区县某传染病病例数超出近期基线（疑似暴发）", topic="alert.disease"),
    AlertKind("drug.movement.expiry", Severity.NOTICE,
              "an institution's drug movement states another expiry date than the batch's",
              "机构上报的药品出入库记录中的有效期与该批次不一致"),
    AlertKind("drug.shipment.unconfirmed", Severity.NOTICE,
              "an institution reports receiving a drug batch from a member that reports no such shipment",
              "机构上报从另一成员处收到药品批次，但对方未上报该批出库"),
]

ALERT_KINDS: dict[str, AlertKind] = {spec.code: spec for spec in _SPECS}


def kind_of(code: str) -> AlertKind:
    """The registered kind ``code``; ``ValueError`` for an unregistered one (a programming error)."""
    try:
        return ALERT_KINDS[code]
    except KeyError:
        raise ValueError(f"unregistered alert kind {code!r}") from None


__all__ = ["ALERT_KINDS", "AlertKind", "Severity", "kind_of"]
