-- Read model built only by projections/sessions.py from the session streams.
CREATE TABLE sessions (
    id          text PRIMARY KEY,
    name        text,
    created_by  uuid,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz,
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
    version     bigint NOT NULL
);
CREATE INDEX sessions_listing_idx ON sessions (created_at DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX sessions_created_by_idx ON sessions (created_by, created_at DESC) WHERE deleted_at IS NULL;
