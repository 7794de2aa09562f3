"""The codes imported into the hub's code lists, kept in its database (docs/code-lists.md)."""
from .models import CodeAddition
from .service import StoredAdditions, add, additions, counts, watch

__all__ = ["CodeAddition", "StoredAdditions", "add", "additions", "counts", "watch"]
