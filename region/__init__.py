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
from . import stays  # noqa: E402,F401  (InpatientStay)
from . import public_health  # noqa: E402,F401  (Immunization, ChildHealthCheckup)
from . import public_health_maternal  # noqa: E402,F401  (MaternalCheckup)
from . import public_health_diseases  # noqa: E402,F401  (InfectiousDiseaseReport)
from . import public_health_truth  # noqa: E402,F401  (their truth files)
from . import medication  # noqa: E402,F401  (prescriptions, dispenses)
from . import drugs  # noqa: E402,F401  (drug movements)
from . import labs  # noqa: E402,F401  (lab reports)
from . import referrals  # noqa: E402,F401  (referrals both ways)
from . import stats  # noqa: E402,F401  (InstitutionMonthlyStats: plans last, it counts the others' events)
from . import defects  # noqa: E402,F401  (last: corrections, cancellations, late and invalid messages)

__all__ = ["PLANNERS", "TRUTHS", "Event", "MonthContext", "plan", "plan_all", "senders", "RegionError", "GENERATOR_VERSION", "SIZES", "YEAR", "Generated", "generate", "Region", "build_region",
           "registry_document", "SYNTHETIC_MARK", "Person", "generate_people", "typed", "Visit", "documents",
           "member_months", "plan_month", "render"]
