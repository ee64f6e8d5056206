-- Turns that wait on answers (approvals, client tools): projections/turns.py.
ALTER TABLE robots ADD COLUMN client_tools jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE robots ADD COLUMN tools_requiring_approval text[] NOT NULL DEFAULT '{}';
-- Julep's tool options on a session (app/domain/waits.py).
ALTER TABLE sessions ADD COLUMN auto_run_tools boolean NOT NULL DEFAULT true;
ALTER TABLE sessions ADD COLUMN forward_tool_calls boolean NOT NULL DEFAULT false;
ALTER TABLE turns ADD COLUMN waiting_since timestamptz;
ALTER TABLE turns ADD COLUMN awaiting jsonb;  -- the calls waited on, while it waits
CREATE INDEX turns_waiting_idx ON turns (waiting_since) WHERE status = 'waiting';
