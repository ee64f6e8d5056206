-- Snapshots of folded session streams (app/eventstore/store.py, app/services/handler.py): a
-- cache of the fold, never the truth. One row per stream, the latest; a row of another
-- shape (the state's layout and fold version) is ignored by readers. Deleting every row
-- changes no behaviour: loads fold the log from the start instead.
CREATE TABLE stream_snapshots (
    stream_id text PRIMARY KEY,
    stream_version bigint NOT NULL,
    shape text NOT NULL,
    data bytea NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
);
