"""``python -m hub.cli``: the ``hie`` command."""
from .main import main

main()
