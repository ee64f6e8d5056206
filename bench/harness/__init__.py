"""What every benchmark stands on, written once.

- `servers`: which PostgreSQL and Redis a run uses (the local ones, else embedded ones).
- `scratch`: databases created, migrated and dropped; a run's Redis keys deleted.
- `processes`: child processes started, watched and stopped by pid; `robots` commands and
  their environment.
- `stack`: a scratch database with `robots serve` / `worker` / `project` and the fake
  model server as processes.
- `seeding`: sessions written through the event log, as the real chats would have.
- `machine`: CPU and memory of the machine and of our processes.
- `figures`: percentiles, tables, met/MISSED verdicts and progress notes.
"""
