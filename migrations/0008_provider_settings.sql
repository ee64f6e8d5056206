-- What administrators set for model providers through the API. Secrets never enter the
-- event log: an API key lives only here, as a Fernet token under the server secret
-- (app/server_secret.py), and the API only ever says whether one is set.
CREATE TABLE provider_settings (
    provider              text PRIMARY KEY,
    enabled               boolean NOT NULL DEFAULT true,
    api_key_encrypted     bytea,        -- NULL: no stored key (the environment's may apply)
    base_url              text,         -- NULL: the environment's, or the SDK's default
    updated_by            uuid,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    -- When the key or base URL last changed: a model list fetched before is stale.
    connection_changed_at timestamptz
);

-- The last model list fetched from each provider, and how the latest refresh went.
CREATE TABLE provider_model_cache (
    provider          text PRIMARY KEY,
    models            jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{"id": ..., "name": ...}]
    last_refreshed_at timestamptz,      -- the last successful refresh
    last_attempt_at   timestamptz NOT NULL,
    last_error        text              -- NULL when the latest refresh succeeded
);
