"""The command line: every ``hie`` command (``main`` is the group; one module per command group)."""
