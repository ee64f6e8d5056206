-- MCP servers registered as tool sources, and the tools each listed at its last refresh.
-- Configuration, like robots and provider settings: plain tables, not the event log. A
-- bearer token lives only here, as a Fernet token under the server secret
-- (app/adapters/server_secret.py); the API only ever says whether one is set.
CREATE TABLE mcp_servers (
    id                     uuid PRIMARY KEY,
    name                   text NOT NULL,
    slug                   text NOT NULL UNIQUE,   -- in every tool id: mcp:<slug>:<tool>
    url                    text NOT NULL,
    description            text NOT NULL DEFAULT '',
    enabled                boolean NOT NULL DEFAULT true,
    bearer_token_encrypted bytea,                  -- NULL: no token is sent
    created_by             uuid,
    updated_by             uuid,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    tools_refreshed_at     timestamptz             -- the last successful refresh
);
CREATE INDEX mcp_servers_listing_idx ON mcp_servers (created_at, id);

-- A refresh replaces a server's rows whole; a failed one leaves them as they were.
CREATE TABLE mcp_tools (
    server_id    uuid NOT NULL REFERENCES mcp_servers (id) ON DELETE CASCADE,
    name         text NOT NULL,                     -- the tool's name on its server
    position     integer NOT NULL,                  -- as the server listed it
    title        text,
    description  text NOT NULL DEFAULT '',
    input_schema jsonb NOT NULL,
    annotations  jsonb NOT NULL DEFAULT '{}'::jsonb, -- readOnlyHint, destructiveHint, ...
    PRIMARY KEY (server_id, name)
);
