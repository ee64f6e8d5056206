-- Read models built only by projections/turns.py and projections/messages.py.
CREATE TABLE turns (
    turn_id                text PRIMARY KEY,
    session_id             text NOT NULL,
    message_id             text NOT NULL,
    robot_id               text,
    status                 text NOT NULL,   -- requested | running | completed | failed | cancelled
    attempts               int  NOT NULL DEFAULT 0,
    cancel_requested       boolean NOT NULL DEFAULT false,
    multitask              text,
    model                  text,
    requested_at           timestamptz NOT NULL,
    started_at             timestamptz,
    finished_at            timestamptz,
    finish_reason          text,
    error                  text,
    usage                  jsonb,
    time_to_first_token_ms double precision,
    duration_ms            double precision,
    requested_position     bigint NOT NULL,  -- orders a session's turns
    version                bigint NOT NULL
);
CREATE INDEX turns_session_idx ON turns (session_id, requested_position);
CREATE INDEX turns_open_idx ON turns (requested_position) WHERE status IN ('requested', 'running');

CREATE TABLE messages (
    session_id text NOT NULL,
    id         text NOT NULL,   -- the client's id for user messages, msg-<turn> for replies
    role       text NOT NULL,
    parts      jsonb NOT NULL,
    robot_id   text,
    robot_name text,
    model      text,
    author_id  uuid,
    turn_id    text,
    created_at timestamptz NOT NULL,
    position   bigint NOT NULL,  -- global position: orders a session's messages
    PRIMARY KEY (session_id, id)
);
CREATE INDEX messages_session_order_idx ON messages (session_id, position DESC);
