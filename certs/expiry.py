"""Human warnings about certificates (and the CRL) that are about to lapse."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509

from .errors import CertsError
from .keys import load_certificate
from .layout import PkiPaths
from .registry import current_records, days_until, list_certificates

CRL_WARN_WITHIN = timedelta(days=2)


def _phrase(days_left: int, moment: datetime) -> str:
    when = moment.strftime("%Y-%m-%d %H:%M UTC")
    if days_left < 0:
        return f"expired on {when}"
    return f"expires in {days_left} day{'s' if days_left != 1 else ''} ({when})"


def expiry_warnings(
    directory: Path | str, *, now: datetime | None = None, within_days: int = 30
) -> list[str]:
    """One line per CA, hub or member certificate in use that expires within ``within_days``."""
    now = now or datetime.now(timezone.utc)
    paths = PkiPaths.of(directory)
    lines = []
    try:
        ca_cert = load_certificate(paths.ca_cert)
    except CertsError:
        ca_cert = None
    if ca_cert is not None:
        left = days_until(ca_cert.not_valid_after_utc, now=now)
        if left <= within_days:
            lines.append(f"CA certificate {_phrase(left, ca_cert.not_valid_after_utc)}")
    # only the certificate currently in use per role and organization: a renewed one is not news
    for record in current_records(list_certificates(paths.root, now=now)):
        if record.status != "revoked" and record.expires_in_days <= within_days:
            who = f"member {record.member}" if record.role == "member" else f"hub {record.role}"
            lines.append(f"{who} certificate (serial {record.serial_hex[:16]}) "
                         f"{_phrase(record.expires_in_days, record.not_after)}")
    lines.extend(_crl_warning(paths, now))
    return lines


def _crl_warning(paths: PkiPaths, now: datetime) -> list[str]:
    try:
        crl = x509.load_pem_x509_crl(paths.crl.read_bytes())
    except (OSError, ValueError):
        return ["CRL is missing or unreadable: members cannot be verified (run `pki crl`)"]
    next_update = crl.next_update_utc
    if next_update is not None and next_update - now <= CRL_WARN_WITHIN:
        state = "is past" if next_update < now else "is near"
        return [f"CRL nextUpdate {state} ({next_update:%Y-%m-%d %H:%M} UTC): re-sign it with `pki crl`"]
    return []
