-- An answer's AI SDK `metadata` (the model that wrote it and the tokens it took), as the
-- stream's `finish` part sends it (app/domain/answer_metadata.py).
ALTER TABLE messages ADD COLUMN metadata jsonb;

-- Answers written before this migration: from the last AssistantMessageCompleted of each
-- (a turn that waited stores its answer at each wait).
UPDATE messages m
SET metadata = jsonb_build_object(
    'model', e.data ->> 'model',
    'usage', jsonb_build_object(
        'inputTokens', coalesce((e.data -> 'usage' ->> 'input_tokens')::bigint, 0),
        'outputTokens', coalesce((e.data -> 'usage' ->> 'output_tokens')::bigint, 0),
        'totalTokens', coalesce((e.data -> 'usage' ->> 'input_tokens')::bigint, 0)
                       + coalesce((e.data -> 'usage' ->> 'output_tokens')::bigint, 0)))
FROM (
    SELECT DISTINCT ON (stream_id, data ->> 'message_id') stream_id, data
    FROM events WHERE type = 'AssistantMessageCompleted'
    ORDER BY stream_id, data ->> 'message_id', global_position DESC
) e
WHERE m.role = 'assistant' AND e.stream_id = 'session-' || m.session_id
  AND e.data ->> 'message_id' = m.id;
