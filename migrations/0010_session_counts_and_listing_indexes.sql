-- The sessions listing at 100k sessions: totals read from counts instead of count(*), and
-- indexes that hand out a page's ids in the listing's own order.

-- Live-session counts, written by projections/sessions.py in the same transaction as the
-- rows. `filter` is the listing filter a row answers:
--   {}                         every live session
--   {"account": "<uuid>"}      the live sessions that account started
--   {"metadata": {"k": v}}     the live sessions whose metadata holds that pair (v a JSON scalar)
-- jsonb equality is containment's: {"k": 3} and {"k": 3.0} are one row, as `@>` matches both.
-- A missing row means zero; the projector deletes the counts that fall to zero.
CREATE TABLE session_counts (
    filter jsonb PRIMARY KEY,
    n      bigint NOT NULL
);

-- Count the sessions projected so far. The lock holds the projector back until this commits,
-- so no change falls between the count and the projector's own counting.
LOCK TABLE sessions IN SHARE MODE;
INSERT INTO session_counts (filter, n)
SELECT f.filter, count(*)
FROM sessions s
CROSS JOIN LATERAL (
    SELECT '{}'::jsonb
    UNION ALL SELECT jsonb_build_object('account', s.created_by) WHERE s.created_by IS NOT NULL
    UNION ALL SELECT jsonb_build_object('metadata', jsonb_build_object(m.key, m.value))
        FROM jsonb_each(s.metadata) m WHERE jsonb_typeof(m.value) NOT IN ('object', 'array')
) AS f(filter)
WHERE s.deleted_at IS NULL
GROUP BY f.filter;

-- The listing orders by (sort key, id), both one way. These serve either way (desc forward,
-- asc backward) and let the listing read a page's ids from the index alone. The indexes they
-- replace had id ascending, an order no listing asks for.
DROP INDEX sessions_listing_idx;
DROP INDEX sessions_updated_idx;
DROP INDEX sessions_created_by_idx;
CREATE INDEX sessions_by_created_idx ON sessions (created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX sessions_by_updated_idx ON sessions (updated_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX sessions_created_by_idx ON sessions (created_by, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
