"""Benchmarks of the exchange hub (``python -m bench.run --out bench/results [--quick]``).

``bench.exchange``  end to end over real HTTP against ``hie serve`` (load generator + phases)
``bench.stages``    per-stage costs measured in-process, the raw crypto floor, cProfile hotspots
``bench.run``       entry point: runs both, writes ``OUT/exchange.json``, prints a compact table
"""
