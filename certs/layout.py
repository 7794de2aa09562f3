"""Where every file of a PKI directory lives."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PkiPaths:
    """Paths of the CA, the hub's certificates, the CRL and the registry in one PKI directory."""

    root: Path
    ca_cert: Path
    ca_key: Path
    hub_sign_cert: Path
    hub_sign_key: Path
    hub_enc_cert: Path
    hub_enc_key: Path
    tls_cert: Path
    tls_key: Path
    members: Path
    crl: Path
    registry: Path

    @classmethod
    def of(cls, directory: Path | str) -> PkiPaths:
        """Compute the paths for PKI directory ``directory`` (nothing is read or created)."""
        root = Path(directory)
        return cls(
            root=root,
            ca_cert=root / "ca" / "cert.pem",
            ca_key=root / "ca" / "key.pem",
            hub_sign_cert=root / "hub" / "sign-cert.pem",
            hub_sign_key=root / "hub" / "sign-key.pem",
            hub_enc_cert=root / "hub" / "enc-cert.pem",
            hub_enc_key=root / "hub" / "enc-key.pem",
            tls_cert=root / "hub" / "tls-cert.pem",
            tls_key=root / "hub" / "tls-key.pem",
            members=root / "members",
            crl=root / "crl.pem",
            registry=root / "registry.json",
        )


@dataclass(frozen=True)
class MemberPaths:
    """A member organization's current certificate and private key."""

    cert: Path
    key: Path

    @classmethod
    def of(cls, directory: Path | str, member: str) -> MemberPaths:
        """Compute the member paths for ``member`` under PKI directory ``directory``."""
        base = PkiPaths.of(directory).members / member
        return cls(cert=base / "cert.pem", key=base / "key.pem")

    @property
    def directory(self) -> Path:
        return self.cert.parent

    @property
    def superseded(self) -> Path:
        """Where certificates replaced by a renewal are kept (for the registry and audits)."""
        return self.cert.parent / "superseded"
