"""Analytics for the bureau: the cube query API over the OLAP mart, scoped by region."""
from .api import router
from .scope import districts_under, scope_for

__all__ = ["router", "districts_under", "scope_for"]
