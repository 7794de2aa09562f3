"""The attack corpus (kit.py: the kit and every case)."""
from .kit import *  # noqa: F401,F403
from .kit import CASES, CLASSES, ENCRYPTION, PARSER, REPLAY, SIGNATURE  # noqa: F401
