"""The protocol's one error root and the registry of machine codes (the fault table).

Every rejection the hub makes carries a dotted machine code from ``FAULTS`` and a short human
message written here, never built from the input. SOAP Faults and HTTP errors are rendered from
the code alone (the hub's ``hub.soap.faults``; the client reads them back); ``docs/faults.md`` documents the same table and a test
keeps the two in step.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaultSpec:
    """What a machine code means: who is at fault, the HTTP status, a fixed human message."""

    code: str
    party: str  # "Client" (the sender must change something) or "Server" (retry later)
    http_status: int
    message: str

    @property
    def retryable(self) -> bool:
        return self.party == "Server"


_SPECS = [
    # transport and parser
    FaultSpec("transport.too_large", "Client", 413, "message exceeds the size limit"),
    FaultSpec("transport.encoding", "Client", 415, "unsupported content type or content encoding"),
    FaultSpec("xml.malformed", "Client", 400, "message is not well-formed XML (UTF-8)"),
    FaultSpec("xml.forbidden", "Client", 400,
              "message contains a forbidden XML construct (DTD, entity, XInclude, comment or processing instruction)"),
    FaultSpec("xml.too_deep", "Client", 400, "message nesting exceeds the depth limit"),
    FaultSpec("xml.too_complex", "Client", 400,
              "message has more elements or namespace declarations than allowed"),
    FaultSpec("soap.invalid", "Client", 400, "not a SOAP 1.1 envelope with exactly one Header and one Body"),
    FaultSpec("soap.must_understand", "Client", 400, "a header block marked mustUnderstand is not supported"),
    FaultSpec("soap.operation.unknown", "Client", 400, "unknown operation"),
    FaultSpec("soap.operation.invalid", "Client", 400, "operation parameters are malformed or out of range"),
    # WS-Security: header and signature
    FaultSpec("security.header.invalid", "Client", 400,
              "WS-Security header missing or incomplete (Security, BinarySecurityToken, EncryptedKey, MessageID, To, Action, From)"),
    FaultSpec("security.signature.missing", "Client", 400, "message is not signed"),
    FaultSpec("security.signature.incomplete", "Client", 400,
              "signature does not cover the required parts (Body, Timestamp, EncryptedKey, MessageID, To, Action, From)"),
    FaultSpec("security.signature.wrapping", "Client", 400,
              "signed references are ambiguous or point outside their required positions"),
    FaultSpec("security.signature.invalid", "Client", 400, "signature verification failed"),
    FaultSpec("security.algorithm.forbidden", "Client", 400, "algorithm or transform not allowed by the profile"),
    # certificates
    FaultSpec("security.certificate.untrusted", "Client", 403, "certificate is not issued by the hub CA"),
    FaultSpec("security.certificate.expired", "Client", 403, "certificate is outside its validity period"),
    FaultSpec("security.certificate.revoked", "Client", 403, "certificate has been revoked"),
    FaultSpec("security.certificate.usage", "Client", 403, "certificate key usage does not allow signing"),
    FaultSpec("security.sender.mismatch", "Client", 403,
              "wsa:From does not name the member the certificate was issued to"),
    # freshness and replay
    FaultSpec("security.timestamp.invalid", "Client", 400,
              "timestamp missing, malformed or valid for longer than the profile allows"),
    FaultSpec("security.timestamp.expired", "Client", 400, "message timestamp has expired"),
    FaultSpec("security.timestamp.future", "Client", 400, "message timestamp is in the future beyond the allowed skew"),
    FaultSpec("security.replay", "Client", 409, "request MessageID was already used"),
    # decryption: one code for every failure after the signature check
    FaultSpec("security.decryption.failed", "Client", 400, "message could not be decrypted"),
    FaultSpec("security.recipient.unknown", "Client", 400,
              "EncryptedKey does not name the recipient's certificate (issuer and serial number)"),
    # exchange semantics
    FaultSpec("exchange.message_id.reused", "Client", 409, "MessageID was already used for a different document"),
    FaultSpec("exchange.document.invalid", "Client", 400,
              "Document must hold exactly one XML element (absolute namespace URIs only) and a MessageId"),
    FaultSpec("exchange.batch.too_large", "Client", 413, "batch holds more documents than allowed"),
    FaultSpec("exchange.batch.invalid", "Client", 400, "batch is empty or its items are malformed"),
    FaultSpec("exchange.message.not_found", "Client", 404, "no such message for this member"),
    # health-record store: documents after the gate
    FaultSpec("record.type.unknown", "Client", 400, "document type or schema version is not known to the hub"),
    FaultSpec("record.schema.invalid", "Client", 400, "document does not conform to its schema (see the field)"),
    FaultSpec("record.code.unknown", "Client", 400, "a coded field uses a code outside its code list (see the field)"),
    FaultSpec("record.author.mismatch", "Client", 403, "document author institution is not the sending member"),
    FaultSpec("record.patient.invalid", "Client", 400,
              "patient identification is unusable (resident ID check digit, or no identifier and no demographics)"),
    FaultSpec("record.cancel.unknown", "Client", 404, "the cancelled document is not known for this institution"),
    # master patient index
    FaultSpec("mpi.person.not_found", "Client", 404, "no such person in the master patient index"),
    FaultSpec("mpi.conflict", "Client", 409, "the persons cannot be merged or unmerged in their current state"),
    # registries and record access
    FaultSpec("registry.invalid", "Client", 400, "registry entry is incomplete or uses unknown codes (see the field)"),
    FaultSpec("registry.not_found", "Client", 404, "no such registry entry"),
    FaultSpec("region.map.invalid", "Client", 400,
              "not a GeoJSON FeatureCollection of the registry's districts (see the field)"),
    FaultSpec("access.denied", "Client", 403, "not allowed to read this record"),
    FaultSpec("access.purpose.required", "Client", 403,
              "reading records of another institution's patient needs a stated purpose of use"),
    # lineage: a mart fact back to the signed message
    FaultSpec("lineage.key.invalid", "Client", 400, "a fact key is <OLTP table>:<row id>, e.g. record_encounter:42"),
    FaultSpec("lineage.fact.not_found", "Client", 404, "no such OLTP row (retracted by a correction, or never stored)"),
    # analytics: cube queries over the OLAP mart
    FaultSpec("cube.not_found", "Client", 404, "no such cube"),
    FaultSpec("cube.query.invalid", "Client", 400, "cube query is malformed (see the field)"),
    FaultSpec("cube.level.unknown", "Client", 400,
              "the cube has no such level, or it cannot be filtered (see the field)"),
    FaultSpec("cube.measure.unknown", "Client", 400, "no such measure (see the field)"),
    FaultSpec("cube.indicator.unknown", "Client", 400, "the cube has no such indicator (see the field)"),
    FaultSpec("cube.drill_across", "Client", 400,
              "a measure of another cube cannot be broken down by a level of the query (see the field)"),
    FaultSpec("cube.query.too_large", "Client", 400,
              "the query has too many cells; group by coarser levels or filter"),
    FaultSpec("cube.pivot.invalid", "Client", 400,
              "rows and columns must hold exactly the query's group-by levels, each once (see the field)"),
    FaultSpec("cube.export.format", "Client", 400, "export format is csv or xlsx"),
    FaultSpec("olap.unavailable", "Server", 503, "the analytics mart is unavailable; retry later"),
    # JSON APIs: requests FastAPI could not parse
    FaultSpec("request.invalid", "Client", 422, "a request parameter or body field is malformed (see the field)"),
    FaultSpec("request.not_json", "Client", 400, "request body is not JSON"),
    # server side
    FaultSpec("server.unavailable", "Server", 503, "hub is temporarily unable to accept messages; retry later"),
    FaultSpec("server.error", "Server", 500, "the hub failed to answer this request"),
]

FAULTS: dict[str, FaultSpec] = {spec.code: spec for spec in _SPECS}


class HubError(Exception):
    """Root of every error the hub raises on purpose; carries a registered machine code."""

    def __init__(self, code: str, detail: str | None = None, **fields):
        if code not in FAULTS:
            raise ValueError(f"unregistered fault code {code!r}")
        self.code = code
        self.detail = detail  # for operators' logs only: never contains input data
        self.fields = fields
        super().__init__(code if detail is None else f"{code}: {detail}")

    @property
    def spec(self) -> FaultSpec:
        return FAULTS[self.code]

    @property
    def message(self) -> str:
        return self.spec.message


class SecurityError(HubError):
    """A message failed the security gate."""


class RecordError(HubError):
    """A verified document cannot become health records; ``field`` is the XPath at fault, if any."""

    def __init__(self, code: str, detail: str | None = None, *, field: str | None = None, **fields):
        super().__init__(code, detail, field=field, **fields)
        self.field = field


__all__ = ["FAULTS", "FaultSpec", "HubError", "SecurityError", "RecordError"]
