"""Helpers shared by the test suite (not collected as tests themselves)."""
