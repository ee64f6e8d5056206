-- Files users send with their messages (images, PDFs), stored once by the SHA-256 of their
-- bytes (app/adapters/files.py). Outside the event log, which stays small and fast to read:
-- a MessagePosted part names its file by digest (`robots-file:sha256:<hex>`). A row is
-- written before the event that names it commits, and never changes: the same bytes have
-- the same key, so a retried post writes nothing new.
CREATE TABLE files (
    digest text PRIMARY KEY CHECK (digest ~ '^[0-9a-f]{64}$'),
    media_type text NOT NULL,
    size bigint NOT NULL,
    data bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
