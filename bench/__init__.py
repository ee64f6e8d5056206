"""Benchmarks: measurements against a real PostgreSQL, run with `python -m bench.<group>`.

One package per thing measured (`eventlog`, `reads`, `turns`, `tools`), each on the shared
`bench.harness` (servers, scratch databases and Redis keys, process stacks, seeding,
figures and verdicts).
"""
