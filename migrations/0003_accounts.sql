-- Accounts are configuration, not conversation: plain tables.
CREATE TABLE accounts (
    id         uuid PRIMARY KEY,
    handle     text NOT NULL UNIQUE,
    name       text NOT NULL,
    roles      text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Only a SHA-256 of each token is kept: tokens are 256-bit random, so a fast hash is enough
-- and a leaked table does not leak usable tokens.
CREATE TABLE api_tokens (
    token_hash  bytea PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_account_idx ON api_tokens (account_id);
