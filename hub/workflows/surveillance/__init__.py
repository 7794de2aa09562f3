"""Infectious-disease surveillance (issue 21; docs/workflows.md, "Infectious-disease surveillance" and
"Outbreak detection"): report cards linked through the MPI into cases (``cases``, tables in ``models``),
outbreak detection over the cases' daily series (``outbreaks``: pure ``detectors``, the weekday-aware
baseline ``detectors_weekday``, ``incidents`` and the per-disease ``settings`` table), one runner handler tying them together (``workflow``). The modules are
imported by name: the detectors stay importable without the store (``bench.outbreak``)."""
