"""Deliver documents straight into the inbox as the gate would, and run the processor: for the
store, ETL and benchmark code that needs a filled health-record store without the SOAP layer."""
from __future__ import annotations

import hashlib
import itertools

from lxml import etree

from hub import pipeline
from hub.exchange.models import Envelope, Message
from hub.runtime import processing_stages
from hub.store.db import transaction
from protocol.status import MessageStatus
from protocol.timestamps import utcnow

_counter = itertools.count(1)


class Store:
    def __init__(self, sessions):
        self.sessions = sessions

    def deliver(self, *documents: etree._Element | bytes, member: str = "CLINIC01") -> list[int]:
        """Put documents in the inbox as accepted messages (what the gate + inbox do); their row ids."""
        now = utcnow()
        ids = []
        with transaction(self.sessions) as session:
            envelope = Envelope(sha256="0" * 64, member=member, cert_serial="01", wsa_message_id="urn:uuid:test",
                                action="urn:hie:exchange:v1:SubmitBatch", received_at=now, raw=b"<signed/>")
            session.add(envelope)
            session.flush()
            for index, doc in enumerate(documents):
                data = doc if isinstance(doc, bytes) else etree.tostring(doc, encoding="utf-8")
                message = Message(member=member, message_id=f"urn:uuid:test-{next(_counter)}", envelope_id=envelope.id,
                                  item_index=index, document_type="x", document_sha256=hashlib.sha256(data).hexdigest(),
                                  document=data, status=MessageStatus.ACCEPTED.value, received_at=now, updated_at=now,
                                  receipt=b"<receipt/>")
                session.add(message)
                session.flush()
                ids.append(message.id)
        return ids

    def process(self) -> int:
        total = 0
        while (count := pipeline.process_pending(self.sessions, processing_stages())):
            total += count
        return total

    def outcome(self, message_row_id: int) -> tuple[str, str | None, str | None]:
        with self.sessions() as session:
            message = session.get(Message, message_row_id)
            return message.status, message.error_code, message.error_field
