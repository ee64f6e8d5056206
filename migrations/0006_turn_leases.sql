-- A worker's claim on a running turn: written with TurnStarted, renewed while it runs.
-- Operational state, not a read model: the sweeper retries turns whose lease ran out.
CREATE TABLE turn_leases (
    turn_id    text PRIMARY KEY,
    session_id text NOT NULL,
    attempt    int  NOT NULL,
    worker_id  text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX turn_leases_expiry_idx ON turn_leases (expires_at);
