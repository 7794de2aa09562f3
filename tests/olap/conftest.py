"""The OLAP fixtures are suite-wide: tests/support/olap_fixtures.py (chDB allows one directory per process)."""
