"""``canonical``: files that already hold one canonical document each (the seed's "standard XML")."""
from __future__ import annotations

import hashlib
from typing import Iterator

from protocol.errors import RecordError
from protocol.xmlparse import parse_untrusted
from schemas.validation import validate

from .base import Quarantine, SourceContext, SourceItem, source


@source("canonical")
def canonical(payload: bytes, context: SourceContext) -> Iterator[SourceItem]:
    try:
        document = parse_untrusted(payload)
    except Exception:  # noqa: BLE001 - the parser's own message may quote the input
        yield SourceItem(key="sha256:" + hashlib.sha256(payload).hexdigest(),
                         problem=Quarantine("source.xml.malformed", "not a well-formed XML document"))
        return
    key = _document_key(document) or "sha256:" + hashlib.sha256(payload).hexdigest()
    try:
        validate(document)
    except RecordError as error:
        yield SourceItem(key=key, problem=Quarantine(error.code, error.message, error.field or ""))
        return
    yield SourceItem(key=key, document=document)


def _document_key(document) -> str | None:
    """``<type>:<id root>:<id extension>:<version>`` from the header, when present."""
    ns = document.nsmap.get(None, "")
    ident = document.find(f"{{{ns}}}header/{{{ns}}}id")
    version = document.findtext(f"{{{ns}}}header/{{{ns}}}version")
    if ident is None or not ident.get("extension"):
        return None
    return f"{etree_local(document)}:{ident.get('root')}:{ident.get('extension')}:{(version or '1').strip()}"


def etree_local(element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
