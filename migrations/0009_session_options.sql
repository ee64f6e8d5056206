-- Julep's session options and Storyden's active robot on the sessions read model, and the
-- indexes the listing's sorts and filters use.
ALTER TABLE sessions
    ADD COLUMN situation        text,
    ADD COLUMN system_template  text,
    ADD COLUMN render_templates boolean NOT NULL DEFAULT true,
    ADD COLUMN token_budget     integer,
    ADD COLUMN context_overflow text,
    ADD COLUMN recall_options   jsonb,
    ADD COLUMN summary          text,
    ADD COLUMN active_robot_id  text,
    ADD COLUMN forked_from      text;

CREATE INDEX sessions_updated_idx ON sessions (updated_at DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX sessions_metadata_idx ON sessions USING gin (metadata jsonb_path_ops)
    WHERE deleted_at IS NULL;
