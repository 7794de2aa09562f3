"""``adapters.client.read_notification``: what a member reads from a reply of kind ``referral`` or ``alert``,
built here by the hub's own ``hub.workflows.notify.Notification`` (the element the hub seals into replies).
The operations themselves run over real SOAP in tests/workflows/test_referral_end_to_end.py."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from adapters.client import WorkflowNotice, read_notification
from adapters.errors import ResponseError
from hub.workflows.notify import Notification
from protocol.errors import HubError

AT = datetime(2026, 12, 5, 6, 30, 15, 250000, tzinfo=timezone.utc)


def test_a_referral_notice_is_read_into_its_fields():
    content = Notification(kind="referral.redirected", subjects=(("referral", "17"),), state="redirected", time=AT,
                           facts=(("redirected_to", "HOSP02"), ("reason", "out_of_scope"))).to_xml()
    notice = read_notification(content)
    assert isinstance(notice, WorkflowNotice)
    assert (notice.kind, notice.state, notice.referral, notice.time) == ("referral.redirected", "redirected", 17, AT)
    assert notice.facts == {"redirected_to": "HOSP02", "reason": "out_of_scope"}
    assert read_notification(notice.element) == notice  # an element already parsed reads the same


def test_an_alert_notice_names_no_referral():
    content = Notification(kind="disease.class_a", subjects=(("alert", "3"),), state="open", time=AT,
                           district="330102", count=1).to_xml()
    notice = read_notification(content)
    assert (notice.subjects, notice.referral) == ({"alert": "3"}, None)


def test_content_that_is_no_notification_is_refused():
    with pytest.raises(ResponseError):
        read_notification(b"<Receipt xmlns='urn:hie:exchange:v1'/>")
    with pytest.raises(HubError) as refused:  # the one hardened parser: no DTD, no entities
        read_notification(b"<!DOCTYPE x [<!ENTITY e 'x'>]><x>&e;</x>")
    assert refused.value.code.startswith("xml.")
