"""The registry of issued certificates (registry.json) and its read-only view."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509

from .errors import CertsError
from .files import atomic_write
from .keys import key_type_of
from .layout import PkiPaths

EXPIRING_WITHIN_DAYS = 30
STATUSES = ("valid", "expiring", "expired", "revoked")
_FIELDS = ("serial", "member", "role", "key_type", "not_before", "not_after",
           "revoked_at", "revocation_reason", "cert")


@dataclass(frozen=True)
class CertificateRecord:
    """One issued certificate as the registry knows it, with its status at a given time."""

    serial_hex: str
    member: str
    role: str
    key_type: str
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    cert_path: Path
    expires_in_days: int
    status: str


def serial_hex(serial: int) -> str:
    """The registry's spelling of a serial number: lower-case hex, no prefix."""
    return format(serial, "x")


def iso_utc(moment: datetime, *, precise: bool = False) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, whole seconds (``precise``: with the microseconds)."""
    moment = moment.astimezone(timezone.utc)
    return (moment if precise else moment.replace(microsecond=0)).isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Parse the registry's ISO 8601 timestamps back into aware UTC datetimes."""
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        raise ValueError("naive timestamp")
    return moment.astimezone(timezone.utc)


def entry_for(cert: x509.Certificate, *, role: str, member: str, cert_path: Path, root: Path) -> dict:
    """The registry entry for a freshly issued certificate."""
    return {
        "serial": serial_hex(cert.serial_number),
        "member": member,
        "role": role,
        "key_type": key_type_of(cert.public_key()),
        "not_before": iso_utc(cert.not_valid_before_utc),
        "not_after": iso_utc(cert.not_valid_after_utc),
        "revoked_at": None,
        "revocation_reason": None,
        # relative, so the PKI directory can be moved or mounted elsewhere
        "cert": cert_path.relative_to(root).as_posix(),
    }


def read_entries(directory: Path | str) -> list[dict]:
    """Read registry.json (an absent file is an empty registry)."""
    path = PkiPaths.of(directory).registry
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        raise CertsError("pki.registry.invalid", detail=str(path)) from None
    if isinstance(entries, list):  # a registry written before the member had one name says org_code
        for entry in entries:
            if isinstance(entry, dict) and "member" not in entry and "org_code" in entry:
                entry["member"] = entry.pop("org_code")
    if not isinstance(entries, list) or not all(
        isinstance(entry, dict) and all(field in entry for field in _FIELDS) for entry in entries
    ):
        raise CertsError("pki.registry.invalid", detail=str(path))
    return entries


def write_entries(directory: Path | str, entries: list[dict]) -> Path:
    """Replace registry.json atomically."""
    text = json.dumps(entries, ensure_ascii=False, indent=2) + "\n"
    return atomic_write(PkiPaths.of(directory).registry, text.encode("utf-8"))


def days_until(moment: datetime, *, now: datetime) -> int:
    """Whole days from ``now`` to ``moment``, rounded toward zero (negative once it has passed)."""
    return math.trunc((moment - now).total_seconds() / 86400)


def record_of(entry: dict, *, root: Path, now: datetime) -> CertificateRecord:
    """Turn a registry entry into a record with its status at ``now``."""
    try:
        not_before = parse_iso(entry["not_before"])
        not_after = parse_iso(entry["not_after"])
        revoked_at = parse_iso(entry["revoked_at"]) if entry["revoked_at"] else None
    except (TypeError, ValueError):
        raise CertsError("pki.registry.invalid", detail="bad timestamp") from None
    expires_in_days = days_until(not_after, now=now)
    if revoked_at is not None:
        status = "revoked"
    elif now > not_after:
        status = "expired"
    elif expires_in_days <= EXPIRING_WITHIN_DAYS:
        status = "expiring"
    else:
        status = "valid"
    return CertificateRecord(
        serial_hex=entry["serial"],
        member=entry["member"],
        role=entry["role"],
        key_type=entry["key_type"],
        not_before=not_before,
        not_after=not_after,
        revoked_at=revoked_at,
        revocation_reason=entry["revocation_reason"],
        cert_path=root / entry["cert"],
        expires_in_days=expires_in_days,
        status=status,
    )


def list_certificates(directory: Path | str, *, now: datetime | None = None) -> list[CertificateRecord]:
    """Every certificate the PKI has issued, in issue order, with status at ``now``."""
    now = now or datetime.now(timezone.utc)
    if now.utcoffset() is None:
        raise CertsError("pki.validity.invalid", detail="now must be timezone-aware")
    root = PkiPaths.of(directory).root
    return [record_of(entry, root=root, now=now) for entry in read_entries(directory)]


def current_records(records: list[CertificateRecord]) -> list[CertificateRecord]:
    """The latest certificate per (role, organization): what is actually in use."""
    latest: dict[tuple[str, str], CertificateRecord] = {}
    for record in records:  # issue order, so later entries replace earlier ones
        latest[(record.role, record.member)] = record
    return list(latest.values())
