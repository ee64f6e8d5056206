-- One row per projection: how far into the log its read model is. Written in the same
-- transaction as the rows it covers, so a crash can never apply an event twice.
CREATE TABLE projection_checkpoints (
    name            text PRIMARY KEY,
    transaction_id  xid8        NOT NULL DEFAULT '0'::xid8,
    global_position bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
