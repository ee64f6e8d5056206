"""Tool calls in multi-step turns: what the pipeline adds between two model steps, and
what each step costs PostgreSQL.

    .venv/bin/python -m bench.tools [--quick] [--only roundtrip|statements] [--trace]

Everything runs as real processes on loopback, as in bench.turns: a scratch database
(created, migrated by `robots migrate`, dropped at the end), a Redis prefix of its own, the
scripted model server (`bench.tools.scripted_model`: the local model, each turn answered as
its question says, every request stamped), `robots serve`, one `robots worker` and
`robots project`. Turns use the built-in robot, whose one tool is `current_time`
(idempotent, no I/O): the tool costs nothing, so what is measured is the loop around it.

1. Tool round trip: the time from the end of a model step that called current_time (its
   last frame sent) to the model holding the next step's request, p50/p90/p99, stamped by
   the model server on one clock (the next step's own time to first token is the model's
   and is left out by construction; it is shown beside). Baselines in the same run, on the
   same server: the same two-request exchange driven straight at it by the OpenAI SDK, and
   by the worker's own provider adapter. Target: p50 <= 5 ms.
2. PostgreSQL statements per turn (bench/harness/statements.py's count: the server's
   statement log for the scratch database) for 1-, 3- and 10-step turns (the first N-1
   steps call current_time), each with a 50- and a 2,000-token reply, and the statements
   each step adds. Target: the same growth per step, whatever the reply's length.

With --trace, the round trip again with bench.tools.traced_worker (the same worker, the
calls between two steps timed, on the model server's clock): where the time goes.

The machine is shared (2 cores here, and other people's runs): the report says how busy it
was and how much of that was ours. A measurement, not a test: it exits 0 either way.
"""
