-- 0017: the append request as typed arrays (issue 16 item 3), one implementation of the append.
--
-- append_events_batch(p_streams text[], ...), a new overload of append_events_batch taking the
-- append request as arrays, is the append's core: the checks, the writer's lock, the chain and the
-- insert. Its arguments are parallel PostgreSQL arrays, which the client binds directly
-- (Workflow's PostgresArray: a text-format array literal), so no JSON document is built by hand
-- on the client and none is parsed on the server:
--
--   per append (A elements each, in call order):
--     p_streams   text[]         the stream id (`<category>-<id>`)
--     p_expected  text[]         the expected version: any, no_stream, stream_exists or 0 .. 999999999
--     p_counts    integer[]      how many events the append has (>= 1)
--   per event (N = sum(p_counts) elements each; the first p_counts[1] events are append 1's, ...):
--     p_ids       uuid[]         event id, unique in the call
--     p_types     text[]         event type
--     p_data      json[]         the event's data, stored and hashed byte for byte as given
--     p_metadata  json[]         the event's metadata, likewise
--     p_occurred  timestamptz[]  legal time, 1900-01-01 <= t < 2200-01-01 (UTC)
--
-- Counts rather than an append number per event: that every append is non-empty and its
-- events are contiguous then holds by construction, and the per-append values are sent once.
-- json[] rather than text[]: each element is validated as JSON when the argument is read,
-- before the writer's lock (a text[] would be cast, i.e. parsed, inside the INSERT, under it).
--
-- Results, guarantees and refusals as append_events_batch(json)'s (0005, 0014): returns each event's
-- (event_id, global_position, stream_version) in call order; the whole call is atomic; an
-- expected version is checked against the stream's version after the appends before it in the
-- call; a call whose every event id is already stored as exactly this one append returns the
-- stored positions (idempotent retry); SQLSTATEs: 22023 a malformed call (a NULL argument or
-- element, array lengths that differ, counts that do not add up; the message names the
-- argument), ES001 wrong expected version, ES002 idempotency conflict, ES004 occurred_at out
-- of range. The hash chain is 0001's event_hash, bit for bit (the fields of each event that do
-- not depend on the log's head are encoded before the lock is taken).
--
-- append_events_batch(json) and append_events(text, text, json) stay the documented JSON API for
-- raw-SQL callers (same arguments, results, messages and codes): they parse the JSON into these
-- arrays (the JSON-shape checks are theirs, with 0014's messages) and call the core.
--
-- plan_cache_mode = force_generic_plan on each (0014's header says why): every statement is
-- planned once per session; the lookups are per-key index probes whatever the statistics.

-- event_hash_tail(...): event_hash's encoding of an event's fields from event_id on (0001), the
-- part that does not depend on the log's head; NULL when any argument is NULL.
CREATE FUNCTION event_hash_tail(p_id uuid, p_type text, p_data json, p_metadata json, p_occurred timestamptz)
RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN event_hash_field(p_id::text) || event_hash_field(p_type) || event_hash_field(p_data::text)
    || event_hash_field(p_metadata::text)
    || event_hash_field(pg_catalog.to_char(p_occurred AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));

CREATE FUNCTION append_events_batch(
    p_streams text[], p_expected text[], p_counts integer[],
    p_ids uuid[], p_types text[], p_data json[], p_metadata json[], p_occurred timestamptz[])
RETURNS TABLE (event_id uuid, global_position bigint, stream_version integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_a         integer := pg_catalog.cardinality(p_streams);
    v_n         integer := pg_catalog.cardinality(p_ids);
    v_arg       text;
    v_bad       boolean;
    v_total     bigint;
    v_in_range  boolean;
    v_tail      bytea[];    -- per event: its hashed fields from event_id on (not depending on the head)
    v_names     text[];     -- the call's streams, each once, in order of first appearance
    v_sidx      integer[];  -- per event: its stream's index in v_names
    v_rank      integer[];  -- per event: its rank among the call's events of its stream (NULL: the i-th is i)
    v_opens     integer[];  -- per append: the index of its first event
    v_base      integer[];  -- per stream in v_names: its version before the call
    v_version   integer[];
    v_chain     bytea[];
    v_existing  integer;
    v_first     integer;
    v_head      bigint;
    v_last      bytea;
    v_actual    integer;
BEGIN
    -- The shape (plpgsql expressions, no statement): no NULL argument, one dimension, the
    -- per-append arrays of one length, the per-event arrays of another. One expression on the
    -- good path; the details only when it fails.
    IF NOT coalesce(v_a > 0 AND v_n > 0 AND pg_catalog.array_ndims(p_streams) = 1
                    AND pg_catalog.array_ndims(p_expected) = 1 AND pg_catalog.array_ndims(p_counts) = 1
                    AND pg_catalog.array_ndims(p_ids) = 1 AND pg_catalog.array_ndims(p_types) = 1
                    AND pg_catalog.array_ndims(p_data) = 1 AND pg_catalog.array_ndims(p_metadata) = 1
                    AND pg_catalog.array_ndims(p_occurred) = 1
                    AND pg_catalog.cardinality(p_expected) = v_a AND pg_catalog.cardinality(p_counts) = v_a
                    AND pg_catalog.cardinality(p_types) = v_n AND pg_catalog.cardinality(p_data) = v_n
                    AND pg_catalog.cardinality(p_metadata) = v_n AND pg_catalog.cardinality(p_occurred) = v_n, false) THEN
        v_arg := CASE WHEN p_streams IS NULL THEN 'p_streams' WHEN p_expected IS NULL THEN 'p_expected'
                      WHEN p_counts IS NULL THEN 'p_counts' WHEN p_ids IS NULL THEN 'p_ids'
                      WHEN p_types IS NULL THEN 'p_types' WHEN p_data IS NULL THEN 'p_data'
                      WHEN p_metadata IS NULL THEN 'p_metadata' WHEN p_occurred IS NULL THEN 'p_occurred' END;
        IF v_arg IS NOT NULL THEN
            RAISE EXCEPTION 'append_events: % is NULL', v_arg USING ERRCODE = '22023';
        END IF;
        IF v_a = 0 THEN
            RAISE EXCEPTION 'append_events: appends must be a non-empty JSON array (p_streams is empty)'
                USING ERRCODE = '22023';
        END IF;
        v_arg := CASE WHEN pg_catalog.array_ndims(p_streams) <> 1 THEN 'p_streams'
                      WHEN pg_catalog.array_ndims(p_expected) IS DISTINCT FROM 1 THEN 'p_expected'
                      WHEN pg_catalog.array_ndims(p_counts) IS DISTINCT FROM 1 THEN 'p_counts'
                      WHEN pg_catalog.array_ndims(p_ids) IS DISTINCT FROM 1 THEN 'p_ids'
                      WHEN pg_catalog.array_ndims(p_types) IS DISTINCT FROM 1 THEN 'p_types'
                      WHEN pg_catalog.array_ndims(p_data) IS DISTINCT FROM 1 THEN 'p_data'
                      WHEN pg_catalog.array_ndims(p_metadata) IS DISTINCT FROM 1 THEN 'p_metadata'
                      WHEN pg_catalog.array_ndims(p_occurred) IS DISTINCT FROM 1 THEN 'p_occurred' END;
        IF v_arg IS NOT NULL THEN
            RAISE EXCEPTION 'append_events: % must be a non-empty one-dimensional array', v_arg USING ERRCODE = '22023';
        END IF;
        v_arg := CASE WHEN pg_catalog.cardinality(p_expected) <> v_a THEN 'p_expected'
                      WHEN pg_catalog.cardinality(p_counts) <> v_a THEN 'p_counts' END;
        IF v_arg IS NOT NULL THEN
            RAISE EXCEPTION 'append_events: % must have as many elements as p_streams (%)', v_arg, v_a
                USING ERRCODE = '22023';
        END IF;
        v_arg := CASE WHEN pg_catalog.cardinality(p_types) <> v_n THEN 'p_types'
                      WHEN pg_catalog.cardinality(p_data) <> v_n THEN 'p_data'
                      WHEN pg_catalog.cardinality(p_metadata) <> v_n THEN 'p_metadata'
                      WHEN pg_catalog.cardinality(p_occurred) <> v_n THEN 'p_occurred' END;
        IF v_arg IS NOT NULL THEN
            RAISE EXCEPTION 'append_events: % must have as many elements as p_ids (%)', v_arg, v_n
                USING ERRCODE = '22023';
        END IF;
        RAISE EXCEPTION 'append_events: p_ids must be a non-empty one-dimensional array' USING ERRCODE = '22023';
    END IF;

    -- The appends: no NULL, a valid expected version, counts >= 1 adding up to N. One append
    -- (every command's append, and append_events) needs no statement.
    IF v_a = 1 THEN
        v_bad := p_streams[1] IS NULL OR p_counts[1] IS NULL OR p_counts[1] < 1 OR p_expected[1] IS NULL
                 OR p_expected[1] NOT IN ('any', 'no_stream', 'stream_exists') AND p_expected[1] !~ '^[0-9]{1,9}$';
        v_total := p_counts[1];
    ELSE
        SELECT pg_catalog.bool_or(s IS NULL OR x IS NULL OR c IS NULL OR c < 1
                                  OR x NOT IN ('any', 'no_stream', 'stream_exists') AND x !~ '^[0-9]{1,9}$'),
               pg_catalog.sum(c)
        INTO v_bad, v_total
        FROM unnest(p_streams, p_expected, p_counts) AS a(s, x, c);
    END IF;
    IF v_bad THEN
        RAISE EXCEPTION 'append_events: each append needs a stream_id, an expected version (any, no_stream, '
            'stream_exists or a number) and a non-empty array of events' USING ERRCODE = '22023';
    END IF;
    IF v_total <> v_n THEN
        RAISE EXCEPTION 'append_events: p_counts adds up to %, but p_ids has % elements', v_total, v_n
            USING ERRCODE = '22023';
    END IF;

    -- The events: the hashed fields that do not depend on the head (event_hash_tail: NULL when an
    -- element is NULL) and the range of occurred_at. One event needs no statement; for more,
    -- unnest yields the elements in order and the aggregate keeps it.
    IF v_n = 1 THEN
        v_tail := ARRAY[event_hash_tail(p_ids[1], p_types[1], p_data[1], p_metadata[1], p_occurred[1])];
        v_in_range := p_occurred[1] >= '1900-01-01 00:00:00+00' AND p_occurred[1] < '2200-01-01 00:00:00+00';
    ELSE
        SELECT pg_catalog.array_agg(event_hash_tail(e.id, e.type, e.data, e.meta, e.occurred)),
               pg_catalog.bool_and(e.occurred >= '1900-01-01 00:00:00+00' AND e.occurred < '2200-01-01 00:00:00+00')
        INTO v_tail, v_in_range
        FROM unnest(p_ids, p_types, p_data, p_metadata, p_occurred) AS e(id, type, data, meta, occurred);
    END IF;
    IF pg_catalog.array_position(v_tail, NULL) IS NOT NULL THEN
        -- A NULL element; or an infinite occurred_at (to_char gives NULL), refused just below.
        v_arg := CASE WHEN pg_catalog.array_position(p_ids, NULL) IS NOT NULL THEN 'p_ids'
                      WHEN pg_catalog.array_position(p_types, NULL) IS NOT NULL THEN 'p_types'
                      WHEN pg_catalog.array_position(p_occurred, NULL) IS NOT NULL THEN 'p_occurred'
                      WHEN (SELECT pg_catalog.bool_or(d IS NULL) FROM unnest(p_data) AS d) THEN 'p_data'
                      WHEN (SELECT pg_catalog.bool_or(m IS NULL) FROM unnest(p_metadata) AS m) THEN 'p_metadata' END;
        IF v_arg IS NOT NULL THEN
            RAISE EXCEPTION 'append_events: every event needs event_id, event_type and data (% has a NULL element)',
                v_arg USING ERRCODE = '22023';
        END IF;
    END IF;
    IF NOT v_in_range THEN
        RAISE EXCEPTION 'append_events: occurred_at must be from 1900-01-01 to before 2200-01-01 (UTC)'
            USING ERRCODE = 'ES004';
    END IF;
    IF pg_catalog.array_position(v_tail, NULL) IS NOT NULL THEN  -- not reached: every cause is refused above
        RAISE EXCEPTION 'append_events: an event''s fields cannot be encoded' USING ERRCODE = '22023';
    END IF;
    IF v_n > 1 AND (SELECT pg_catalog.count(DISTINCT i) FROM unnest(p_ids) AS i) <> v_n THEN
        RAISE EXCEPTION 'append_events: duplicate event_id in one append' USING ERRCODE = '22023';
    END IF;

    -- Each event's stream and its rank among the call's events of that stream, each append's
    -- first event: its stream version will be the stream's version + the rank.
    IF v_a = 1 THEN
        v_names := p_streams;
        v_sidx := pg_catalog.array_fill(1, ARRAY[v_n]);
        v_opens := '{1}';
    ELSE
        WITH a AS (
            SELECT u.o, u.s, u.c, (pg_catalog.sum(u.c) OVER (ORDER BY u.o) - u.c)::integer AS before
            FROM unnest(p_streams, p_counts) WITH ORDINALITY AS u(s, c, o)
        ), ev AS (
            SELECT a.s, a.before + g.i AS o FROM a CROSS JOIN LATERAL pg_catalog.generate_series(1, a.c) AS g(i)
        ), names AS (
            SELECT ev.s, (pg_catalog.row_number() OVER (ORDER BY pg_catalog.min(ev.o)))::integer AS idx
            FROM ev GROUP BY ev.s
        ), r AS (
            SELECT ev.o, n.idx, (pg_catalog.row_number() OVER (PARTITION BY ev.s ORDER BY ev.o))::integer AS rank
            FROM ev JOIN names n ON n.s = ev.s
        )
        SELECT ARRAY(SELECT n.s FROM names n ORDER BY n.idx), ARRAY(SELECT a.before + 1 FROM a ORDER BY a.o),
               ARRAY(SELECT r.idx FROM r ORDER BY r.o), ARRAY(SELECT r.rank FROM r ORDER BY r.o)
        INTO v_names, v_opens, v_sidx, v_rank;
    END IF;

    -- The writer's lock: appends commit one at a time, in position order.
    PERFORM 1 FROM writer_lock FOR UPDATE;

    -- Under the lock, one statement: the head, each stream's version, the stored event ids.
    -- Every lookup is one probe of a unique index per key, whatever the plan's statistics.
    SELECT coalesce(h.global_position, 0),
           coalesce(h.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea),
           ARRAY(SELECT coalesce((SELECT x.stream_version FROM events x WHERE x.stream_id = s.name
                                  ORDER BY x.stream_version DESC LIMIT 1), 0)
                 FROM unnest(v_names) WITH ORDINALITY AS s(name, o) ORDER BY s.o),
           st.n, st.first
    INTO v_head, v_last, v_base, v_existing, v_first
    FROM (SELECT pg_catalog.count(*)::integer AS n, pg_catalog.min(f.stream_version) AS first
          FROM unnest(p_ids) AS i(id)
          CROSS JOIN LATERAL (SELECT x.stream_version FROM events x WHERE x.event_id = i.id LIMIT 1) f) st
    LEFT JOIN LATERAL (SELECT x.global_position, x.hash FROM events x ORDER BY x.global_position DESC LIMIT 1) h
        ON true;

    IF v_existing > 0 THEN
        IF v_a = 1 AND v_existing = v_n
           AND NOT EXISTS (
               SELECT 1 FROM unnest(p_ids) WITH ORDINALITY AS i(id, o)
               LEFT JOIN LATERAL (SELECT e.stream_id, e.stream_version FROM events e
                                  WHERE e.event_id = i.id LIMIT 1) e ON true
               WHERE e.stream_id IS DISTINCT FROM p_streams[1] OR e.stream_version <> v_first + i.o - 1)
           AND (p_expected[1] IN ('any', 'stream_exists')
                OR (p_expected[1] = 'no_stream' AND v_first = 1)
                OR (p_expected[1] ~ '^[0-9]+$' AND v_first = p_expected[1]::integer + 1))
        THEN
            RETURN QUERY
                SELECT e.event_id, e.global_position, e.stream_version
                FROM unnest(p_ids) WITH ORDINALITY AS i(id, o)
                CROSS JOIN LATERAL (SELECT x.event_id, x.global_position, x.stream_version FROM events x
                                    WHERE x.event_id = i.id LIMIT 1) e
                ORDER BY i.o;
            RETURN;
        END IF;
        RAISE EXCEPTION 'idempotency conflict on stream %: % of % event ids are already stored, not as exactly this append',
            p_streams[1], v_existing, v_n
            USING ERRCODE = 'ES002', DETAIL = pg_catalog.format('stream=%s', p_streams[1]);
    END IF;

    -- Expected versions, in call order: the stream's version before an append's first event.
    FOR j IN 1 .. v_a LOOP
        v_actual := v_base[v_sidx[v_opens[j]]] + coalesce(v_rank[v_opens[j]], v_opens[j]) - 1;
        IF (CASE p_expected[j] WHEN 'any' THEN false
                               WHEN 'no_stream' THEN v_actual <> 0
                               WHEN 'stream_exists' THEN v_actual = 0
                               ELSE v_actual <> p_expected[j]::integer END) THEN
            RAISE EXCEPTION 'wrong expected version for stream %: expected %, actual %',
                p_streams[j], p_expected[j], v_actual
                USING ERRCODE = 'ES001',
                      DETAIL = pg_catalog.format('stream=%s expected=%s actual=%s', p_streams[j], p_expected[j], v_actual);
        END IF;
    END LOOP;

    -- The versions and the chain, in position order: v_chain[1] is the head's hash, v_chain[i + 1]
    -- the i-th event's hash = SHA-256(prev_hash || the event's fields) = event_hash(prev_hash, ...).
    v_chain[1] := v_last;
    FOR i IN 1 .. v_n LOOP
        v_version[i] := v_base[v_sidx[i]] + coalesce(v_rank[i], i);
        v_chain[i + 1] := pg_catalog.sha256(
            v_chain[i] || event_hash_field((v_head + i)::text) || event_hash_field(v_names[v_sidx[i]])
            || event_hash_field(v_version[i]::text) || v_tail[i]);
    END LOOP;

    -- The rows come back in the order they are inserted: call order.
    RETURN QUERY
        INSERT INTO events AS x (global_position, stream_id, stream_version, event_id, event_type, data, metadata,
                                 occurred_at, recorded_at, prev_hash, hash)
        SELECT v_head + u.o, v_names[u.sidx], u.version, u.id, u.type, u.data, u.meta, u.occurred,
               pg_catalog.clock_timestamp(), v_chain[u.o], v_chain[u.o + 1]
        FROM unnest(v_sidx, v_version, p_ids, p_types, p_data, p_metadata, p_occurred)
             WITH ORDINALITY AS u(sidx, version, id, type, data, meta, occurred, o)
        RETURNING x.event_id, x.global_position, x.stream_version;
END
$$;

-- append_events_batch(appends json): the JSON form (0005's contract), parsed into the core's
-- arrays in one statement (0014's, with its shape checks and messages), then the core.
CREATE OR REPLACE FUNCTION append_events_batch(p_appends json)
RETURNS TABLE (event_id uuid, global_position bigint, stream_version integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_bad       boolean;
    v_streams   text[];
    v_expected  text[];
    v_counts    integer[];
    v_id        uuid[];
    v_type      text[];
    v_data      json[];
    v_meta      json[];
    v_occurred  timestamptz[];
    v_missing   boolean;
    v_now       timestamptz := pg_catalog.clock_timestamp();
BEGIN
    IF p_appends IS NULL OR pg_catalog.json_typeof(p_appends) <> 'array' THEN
        RAISE EXCEPTION 'append_events: appends must be a non-empty JSON array' USING ERRCODE = '22023';
    END IF;

    -- No event is read when any append is malformed (the one-time filter on `bad`), so a
    -- malformed append is 22023 before any cast can fail.
    BEGIN
        WITH a AS MATERIALIZED (
            -- Each member is extracted once (OFFSET 0 keeps the subquery from being flattened).
            SELECT o, stream_id, expected, events,
                   (pg_catalog.json_typeof(x) <> 'object' OR stream_id IS NULL
                    OR coalesce(pg_catalog.json_typeof(events), '') <> 'array' OR pg_catalog.json_array_length(events) = 0
                    OR coalesce(expected, '') NOT IN ('any', 'no_stream', 'stream_exists')
                       AND coalesce(expected, '') !~ '^[0-9]{1,9}$') AS bad
            FROM (SELECT t.o, t.x, t.x ->> 'stream_id' AS stream_id, t.x ->> 'expected_version' AS expected,
                         t.x -> 'events' AS events
                  FROM pg_catalog.json_array_elements(p_appends) WITH ORDINALITY AS t(x, o) OFFSET 0) t
        ), e AS (
            SELECT a.o AS append_no, ev.o AS event_no, (ev.x ->> 'event_id')::uuid AS id,
                   ev.x ->> 'event_type' AS type, ev.x -> 'data' AS data,
                   coalesce(ev.x -> 'metadata', '{}'::json) AS meta,
                   coalesce((ev.x ->> 'occurred_at')::timestamptz, v_now) AS occurred
            FROM a CROSS JOIN LATERAL pg_catalog.json_array_elements(a.events) WITH ORDINALITY AS ev(x, o)
            WHERE NOT (SELECT pg_catalog.bool_or(b.bad) FROM a b)
        )
        SELECT (SELECT pg_catalog.bool_or(b.bad) FROM a b),
               (SELECT pg_catalog.array_agg(b.stream_id ORDER BY b.o) FROM a b),
               (SELECT pg_catalog.array_agg(b.expected ORDER BY b.o) FROM a b),
               (SELECT pg_catalog.array_agg(pg_catalog.json_array_length(b.events) ORDER BY b.o) FROM a b
                WHERE NOT (SELECT pg_catalog.bool_or(c.bad) FROM a c)),
               pg_catalog.array_agg(id), pg_catalog.array_agg(type), pg_catalog.array_agg(data),
               pg_catalog.array_agg(meta), pg_catalog.array_agg(occurred),
               coalesce(pg_catalog.bool_or(id IS NULL OR type IS NULL OR data IS NULL), false)
        INTO v_bad, v_streams, v_expected, v_counts, v_id, v_type, v_data, v_meta, v_occurred, v_missing
        FROM (SELECT * FROM e ORDER BY append_no, event_no) e;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_time_zone_displacement_value THEN
        RAISE EXCEPTION 'append_events: occurred_at is not a timestamp (%)', SQLERRM USING ERRCODE = 'ES004';
    END;
    IF v_bad IS NULL THEN  -- no appends: `[]`
        RAISE EXCEPTION 'append_events: appends must be a non-empty JSON array' USING ERRCODE = '22023';
    END IF;
    IF v_bad THEN
        RAISE EXCEPTION 'append_events: each append needs a stream_id, an expected version (any, no_stream, '
            'stream_exists or a number) and a non-empty array of events' USING ERRCODE = '22023';
    END IF;
    IF v_missing THEN
        RAISE EXCEPTION 'append_events: every event needs event_id, event_type and data' USING ERRCODE = '22023';
    END IF;

    RETURN QUERY
        SELECT r.event_id, r.global_position, r.stream_version
        FROM append_events_batch(v_streams, v_expected, v_counts, v_id, v_type, v_data, v_meta, v_occurred) r;
END
$$;

-- append_events(stream, expected_version, events): append_events_batch for one stream, as in 0001,
-- 0004 and 0014 (same arguments, results, errors), now also with a generic plan.
CREATE OR REPLACE FUNCTION append_events(p_stream_id text, p_expected_version text, p_events json)
RETURNS TABLE (event_id uuid, global_position bigint, stream_version integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
        SELECT b.event_id, b.global_position, b.stream_version
        FROM append_events_batch(pg_catalog.json_build_array(pg_catalog.json_build_object(
            'stream_id', p_stream_id, 'expected_version', p_expected_version, 'events', p_events))) b;
END
$$;

ALTER FUNCTION event_hash_tail(uuid, text, json, json, timestamptz) OWNER TO workflow_owner;
REVOKE ALL ON FUNCTION event_hash_tail(uuid, text, json, json, timestamptz) FROM PUBLIC;
ALTER FUNCTION append_events_batch(text[], text[], integer[], uuid[], text[], json[], json[], timestamptz[])
    OWNER TO workflow_owner;
REVOKE ALL ON FUNCTION append_events_batch(text[], text[], integer[], uuid[], text[], json[], json[], timestamptz[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION append_events_batch(text[], text[], integer[], uuid[], text[], json[], json[], timestamptz[])
    TO workflow_daemon;
