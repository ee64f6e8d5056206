-- A robot's turn is a loop of model steps; this many at most (a runaway tool loop ends).
ALTER TABLE robots ADD COLUMN max_steps int NOT NULL DEFAULT 20
    CHECK (max_steps BETWEEN 1 AND 100);

-- A reply is listed right after the question it answers, even when other questions were
-- queued in between: positions are doubled, a question keeps 2p and its reply takes 2p+1
-- (projections/messages.py writes new rows the same way).
UPDATE messages SET position = position * 2;
UPDATE messages r SET position = q.position + 1
FROM messages q
WHERE r.role = 'assistant' AND r.turn_id IS NOT NULL AND q.session_id = r.session_id
  AND q.role = 'user' AND q.turn_id = r.turn_id;

-- The built-in robot can tell the time, so a first chat shows a tool call (offline too).
UPDATE robots SET tools = '{current_time}'
WHERE id = '00000000-0000-0000-0000-000000000001' AND tools = '{}';
