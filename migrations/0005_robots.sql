-- Robots are configuration: a plain table, with every change recorded beside it.
CREATE TABLE robots (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    playbook    text NOT NULL DEFAULT '',
    model       text,                       -- provider/model; NULL: the configured default
    tools       text[] NOT NULL DEFAULT '{}',
    meta        jsonb NOT NULL DEFAULT '{}'::jsonb,
    author_id   uuid REFERENCES accounts (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
-- Names are unique among live robots; a deleted robot's name can be reused.
CREATE UNIQUE INDEX robots_live_name_idx ON robots (lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX robots_listing_idx ON robots (created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE robot_changes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    robot_id   uuid NOT NULL REFERENCES robots (id),
    changed_by uuid,
    changed_at timestamptz NOT NULL DEFAULT now(),
    kind       text NOT NULL,               -- created | updated | deleted
    changes    jsonb NOT NULL               -- the fields set, as sent
);
CREATE INDEX robot_changes_robot_idx ON robot_changes (robot_id, id);

-- The built-in robot, so a chat works on first start with no setup.
INSERT INTO robots (id, name, description, playbook)
VALUES ('00000000-0000-0000-0000-000000000001', 'Assistant',
        'The built-in general assistant.',
        'You are a helpful assistant for a community team. Answer clearly and briefly.');
