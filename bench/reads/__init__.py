"""Session reads at scale: the listing and one session's messages, timed on the server.

    .venv/bin/python -m bench.reads [--quick] [--keep] [--reuse-database URL] [--samples N]

Seeds 100,000 sessions and 1,000,000 messages (--quick: 10,000 and 100,000) through the
event log with EventStore.append (`seeding`), lets `robots project` build the read models
(`projecting`), then times `GET /robots/sessions` (first page, a deep page, two metadata
filters) and `GET /robots/sessions/{id}` (newest 50 messages of a long session, and a
`before` page deep inside it): end to end against `robots serve` beside a `GET /health`
baseline, and in process through the handlers' own query functions (`timing`). Target:
p99 <= 15 ms each. Finally EXPLAIN (ANALYZE, BUFFERS) of every statement each case runs
(`explain`).

The scratch database is dropped at the end, even on error, unless --keep; --reuse-database
reuses a kept one (seeding is skipped when its event count matches the plan). --compact
times the read models after VACUUM FULL instead of a plain VACUUM (see seeding.settle).
Each timing phase first waits (up to --quiet-wait-s) for the machine to be quiet.
"""
