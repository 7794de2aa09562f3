"""Authentication of web/API callers (bearer tokens bound to a member organization)."""
from .models import ApiToken
from .service import PREFIX, authenticate, issue, revoke, standing_refusal

__all__ = ["ApiToken", "issue", "revoke", "authenticate", "PREFIX", "standing_refusal"]
