"""The synthetic region (docs/region.md): a city's members, residents and a year of care, with its truth.

Deterministic from a seed; everything is invented and marked synthetic. ``hie region generate``
writes it (hub/cli/region_generate.py); ``Generated`` rebuilds its documents lazily for senders.
"""
from .errors import RegionError
from .events import PLANNERS, TRUTHS, Event, MonthContext, plan, plan_all, senders
from .generate import GENERATOR_VERSION, SIZES, YEAR, Generated, generate
from .model import Region, build_region, registry_document
from .people import SYNTHETIC_MARK, Person, generate_people, typed
from .visits import Visit, documents, member_months, plan_month, render

# Each kind of event beyond the outpatient visits registers its planner (events.PLANNERS) on import:
# one line a kind, in the order they plan.
from . import defects  # noqa: E402,F401  (last: corrections, cancellations, late and invalid messages)

__all__ = ["PLANNERS", "TRUTHS", "Event", "MonthContext", "plan", "plan_all", "senders", "RegionError", "GENERATOR_VERSION", "SIZES", "YEAR", "Generated", "generate", "Region", "build_region",
           "registry_document", "SYNTHETIC_MARK", "Person", "generate_people", "typed", "Visit", "documents",
           "member_months", "plan_month", "render"]
