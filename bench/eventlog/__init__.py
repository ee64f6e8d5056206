"""Event log throughput: appends against a plain-table baseline, and a projection rebuild.

    .venv/bin/python -m bench.eventlog [--quick] [--database-url ADMIN_URL]

Appends (`appends`): every writer walks its own session streams, a few appends per stream,
each with the expected version, as the API does. The baseline inserts the same rows (same
event encoding, same batching and concurrency, one transaction per batch, autocommit off)
into a table with none of the log's guarantees (no unique keys, no xid8, no NOTIFY, no
trigger), done the cheap way: one INSERT from unnest() with the arrays sent in binary. The
ratio is the whole price of the log: its guarantees and how its statements are sent.

Eight writers run as 2 processes x 4 connections, like many API processes in production
(the figure the targets use); with --compare-in-process (default) also as 8 asyncio tasks
sharing one process, where that process's CPU is the limit instead.

Rebuild (`rebuild`): session events written into the log, then `projections.rebuild.rebuild`
of the sessions projection; the baselines are a walk of the log with `read_all` (reading and
decoding without applying) and a plain SELECT of the same rows with msgspec decoding.
"""
