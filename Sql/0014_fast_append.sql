-- 0014: appends in a handful of statements instead of a per-event loop of statements.
--
-- 0013's append_events_batch ran about a dozen statements per call plus, per event, a plpgsql
-- loop body of some ten expressions (a jsonb_set of the stream versions, the hash through
-- event_hash, six array assignments, the clock); append_events wrapped it in a SQL function,
-- which PostgreSQL parses and plans again on every call (a SQL function that is SECURITY
-- DEFINER or has SET is never inlined, and its plan lives only as long as the calling query).
--
-- Here (same arguments, results, checks, fencing, SQLSTATEs and hash chain, bit for bit):
--   1. one statement parses and validates the JSON and aggregates it into arrays, with the
--      null, range and duplicate checks as aggregates (errors raised in 0013's order);
--   2. the writer's lock (unchanged);
--   3. one statement reads the log's head, the streams' versions and the already-stored event
--      ids (each a probe of a unique index per key, LATERAL ... LIMIT 1, as in 0013, so no
--      plan scans events whatever the statistics), numbers every event's stream version
--      (the stream's version + its rank in the call), finds the first append whose expected
--      version does not hold, and encodes every event's hashed fields after prev_hash
--      (event_hash's encoding minus its first operand, so sha256(prev || fields) is exactly
--      event_hash(prev, ...), SHA-256 being over the concatenation);
--   4. the chain: per event one assignment, chain[i + 1] := sha256(chain[i] || fields[i]);
--   5. one INSERT ... RETURNING.
-- One fix: an event without "data" was refused with 42883 (array_position has no equality for
-- json) instead of the documented 22023; it is now 22023 like a missing event_id or event_type.
-- append_events is plpgsql (plans cached for the session) calling append_events_batch.
--
-- append_events_batch runs with plan_cache_mode = force_generic_plan: each statement is planned
-- once per session. With the default (auto) the planner compared the generic plan's estimate
-- (arrays of unknown length: 100 or 10 rows) with the first custom plans' (1 row) and kept
-- planning every statement on every call (measured: 0.63 ms of backend CPU per one-event append
-- against 0.25 ms generic). The generic plans are the per-key index probes 0013 describes (its
-- test, no sequential scan in 50,000 events, covers them); an ANALYZE invalidates them.
--
-- Measured (backend CPU per call, same server, one session, 1,500 one-event and 100 hundred-
-- event appends, interleaved, /proc/<pid>/stat): one event 0.36 ms (0013) -> 0.25 ms;
-- 100 events 3.0 ms -> 2.9 ms; a plain INSERT of the same row 0.08 ms, of 100 rows 0.8 ms.
--
-- Arguments, results, guarantees and error codes (22023, ES001, ES002, ES004) as in 0005.

CREATE OR REPLACE FUNCTION append_events_batch(p_appends json)
RETURNS TABLE (event_id uuid, global_position bigint, stream_version integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_bad       boolean;
    v_append    bigint[];
    v_stream    text[];
    v_expected  text[];
    v_id        uuid[];
    v_type      text[];
    v_data      json[];
    v_meta      json[];
    v_occurred  timestamptz[];
    v_in_range  boolean;
    v_distinct  bigint;
    v_missing   boolean;
    v_version   integer[];
    v_fields    bytea[];
    v_chain     bytea[];
    v_n         integer;
    v_existing  integer;
    v_first     integer;
    v_head      bigint;
    v_last      bytea;
    v_wrong     integer;
    v_actual    integer;
    v_now       timestamptz := pg_catalog.clock_timestamp();
BEGIN
    IF p_appends IS NULL OR json_typeof(p_appends) <> 'array' THEN
        RAISE EXCEPTION 'append_events: appends must be a non-empty JSON array' USING ERRCODE = '22023';
    END IF;

    -- Parse and check in one statement. No event is read when any append is malformed (the
    -- one-time filter on `bad`), so a malformed append is 22023 before any cast can fail.
    BEGIN
        WITH a AS MATERIALIZED (
            -- Each member is extracted once (OFFSET 0 keeps the subquery from being flattened,
            -- which would extract it again for each use): every extraction lexes the append's text.
            SELECT o, stream_id, expected, events,
                   (json_typeof(x) <> 'object' OR stream_id IS NULL
                    OR coalesce(json_typeof(events), '') <> 'array' OR json_array_length(events) = 0
                    OR coalesce(expected, '') NOT IN ('any', 'no_stream', 'stream_exists')
                       AND coalesce(expected, '') !~ '^[0-9]{1,9}$') AS bad
            FROM (SELECT t.o, t.x, t.x ->> 'stream_id' AS stream_id, t.x ->> 'expected_version' AS expected,
                         t.x -> 'events' AS events
                  FROM json_array_elements(p_appends) WITH ORDINALITY AS t(x, o) OFFSET 0) t
        ), e AS (
            SELECT a.o AS append_no, ev.o AS event_no, a.stream_id, a.expected, (ev.x ->> 'event_id')::uuid AS id,
                   ev.x ->> 'event_type' AS type, ev.x -> 'data' AS data,
                   coalesce(ev.x -> 'metadata', '{}'::json) AS meta,
                   coalesce((ev.x ->> 'occurred_at')::timestamptz, v_now) AS occurred
            FROM a CROSS JOIN LATERAL json_array_elements(a.events) WITH ORDINALITY AS ev(x, o)
            WHERE NOT (SELECT bool_or(b.bad) FROM a b)
        )
        SELECT (SELECT bool_or(b.bad) FROM a b),
               array_agg(append_no), array_agg(stream_id), array_agg(expected), array_agg(id), array_agg(type),
               array_agg(data), array_agg(meta), array_agg(occurred),
               coalesce(bool_and(occurred >= '1900-01-01 00:00:00+00' AND occurred < '2200-01-01 00:00:00+00'), true),
               count(DISTINCT id), coalesce(bool_or(id IS NULL OR type IS NULL OR data IS NULL), false)
        INTO v_bad, v_append, v_stream, v_expected, v_id, v_type, v_data, v_meta, v_occurred, v_in_range, v_distinct,
             v_missing
        FROM (SELECT * FROM e ORDER BY append_no, event_no) e;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_time_zone_displacement_value THEN
        RAISE EXCEPTION 'append_events: occurred_at is not a timestamp (%)', SQLERRM USING ERRCODE = 'ES004';
    END;
    IF v_bad IS NULL THEN  -- no appends: `[]` (counted here, not by lexing the whole argument once more)
        RAISE EXCEPTION 'append_events: appends must be a non-empty JSON array' USING ERRCODE = '22023';
    END IF;
    IF v_bad THEN
        RAISE EXCEPTION 'append_events: each append needs a stream_id, an expected version (any, no_stream, '
            'stream_exists or a number) and a non-empty array of events' USING ERRCODE = '22023';
    END IF;
    v_n := cardinality(v_id);
    IF v_missing THEN
        RAISE EXCEPTION 'append_events: every event needs event_id, event_type and data' USING ERRCODE = '22023';
    END IF;
    IF NOT v_in_range THEN
        RAISE EXCEPTION 'append_events: occurred_at must be from 1900-01-01 to before 2200-01-01 (UTC)'
            USING ERRCODE = 'ES004';
    END IF;
    IF v_distinct <> v_n THEN
        RAISE EXCEPTION 'append_events: duplicate event_id in one append' USING ERRCODE = '22023';
    END IF;

    -- The writer's lock: appends commit one at a time, in position order.
    PERFORM 1 FROM writer_lock FOR UPDATE;

    -- Under the lock, one statement: the head, the stored event ids, the streams' versions, each
    -- event's version, the first append whose expected version fails, each event's hashed fields.
    -- Every lookup is one probe of a unique index per key (LATERAL ... LIMIT 1, never flattened).
    WITH head AS (
        SELECT coalesce(h.global_position, 0) AS position,
               coalesce(h.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) AS hash
        FROM (VALUES (1)) AS one(n)
        LEFT JOIN LATERAL (SELECT x.global_position, x.hash FROM events x ORDER BY x.global_position DESC LIMIT 1) h
            ON true
    ), stored AS (
        SELECT count(*)::integer AS n, min(f.stream_version) AS first
        FROM unnest(v_id) AS i(id)
        CROSS JOIN LATERAL (SELECT x.stream_version FROM events x WHERE x.event_id = i.id LIMIT 1) f
    ), base AS (
        SELECT s.stream_id, coalesce(v.v, 0) AS version
        FROM (SELECT DISTINCT y AS stream_id FROM unnest(v_stream) AS y) s
        LEFT JOIN LATERAL (SELECT x.stream_version AS v FROM events x WHERE x.stream_id = s.stream_id
                           ORDER BY x.stream_version DESC LIMIT 1) v ON true
    ), ev AS (
        SELECT u.o, u.append_no, u.stream_id, u.expected, u.id, u.type, u.data, u.meta, u.occurred,
               b.version + (row_number() OVER (PARTITION BY u.stream_id ORDER BY u.o))::integer AS version,
               row_number() OVER (PARTITION BY u.append_no ORDER BY u.o) = 1 AS opens_append
        FROM unnest(v_append, v_stream, v_expected, v_id, v_type, v_data, v_meta, v_occurred)
             WITH ORDINALITY AS u(append_no, stream_id, expected, id, type, data, meta, occurred, o)
        JOIN base b ON b.stream_id = u.stream_id
    ), wrong AS (
        SELECT ev.o, ev.version - 1 AS actual FROM ev
        WHERE ev.opens_append
          AND CASE ev.expected WHEN 'any' THEN false
                               WHEN 'no_stream' THEN ev.version - 1 <> 0
                               WHEN 'stream_exists' THEN ev.version - 1 = 0
                               ELSE ev.version - 1 <> ev.expected::integer END
        ORDER BY ev.o LIMIT 1
    )
    SELECT head.position, head.hash, stored.n, stored.first, (SELECT w.o FROM wrong w), (SELECT w.actual FROM wrong w),
           (SELECT array_agg(ev.version ORDER BY ev.o) FROM ev),
           (SELECT array_agg(
                      event_hash_field((head.position + ev.o)::text) || event_hash_field(ev.stream_id)
                      || event_hash_field(ev.version::text) || event_hash_field(ev.id::text)
                      || event_hash_field(ev.type) || event_hash_field(ev.data::text)
                      || event_hash_field(ev.meta::text)
                      || event_hash_field(to_char(ev.occurred AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                      ORDER BY ev.o)
            FROM ev)
    INTO v_head, v_last, v_existing, v_first, v_wrong, v_actual, v_version, v_fields
    FROM head, stored;

    IF v_existing > 0 THEN
        IF v_append[1] = v_append[v_n] AND v_existing = v_n
           AND NOT EXISTS (
               SELECT 1 FROM unnest(v_id) WITH ORDINALITY AS i(id, o)
               LEFT JOIN LATERAL (SELECT e.stream_id, e.stream_version FROM events e
                                  WHERE e.event_id = i.id LIMIT 1) e ON true
               WHERE e.stream_id IS DISTINCT FROM v_stream[1] OR e.stream_version <> v_first + i.o - 1)
           AND (v_expected[1] IN ('any', 'stream_exists')
                OR (v_expected[1] = 'no_stream' AND v_first = 1)
                OR (v_expected[1] ~ '^[0-9]+$' AND v_first = v_expected[1]::integer + 1))
        THEN
            RETURN QUERY
                SELECT e.event_id, e.global_position, e.stream_version
                FROM unnest(v_id) WITH ORDINALITY AS i(id, o)
                CROSS JOIN LATERAL (SELECT x.event_id, x.global_position, x.stream_version FROM events x
                                    WHERE x.event_id = i.id LIMIT 1) e
                ORDER BY i.o;
            RETURN;
        END IF;
        RAISE EXCEPTION 'idempotency conflict on stream %: % of % event ids are already stored, not as exactly this append',
            v_stream[1], v_existing, v_n
            USING ERRCODE = 'ES002', DETAIL = format('stream=%s', v_stream[1]);
    END IF;

    IF v_wrong IS NOT NULL THEN
        RAISE EXCEPTION 'wrong expected version for stream %: expected %, actual %',
            v_stream[v_wrong], v_expected[v_wrong], v_actual
            USING ERRCODE = 'ES001',
                  DETAIL = format('stream=%s expected=%s actual=%s', v_stream[v_wrong], v_expected[v_wrong], v_actual);
    END IF;

    -- The chain, in position order: v_chain[1] is the head's hash, v_chain[i + 1] the i-th event's
    -- hash = SHA-256(prev_hash || the event's fields) = event_hash(prev_hash, the event's fields).
    v_chain[1] := v_last;
    FOR i IN 1 .. v_n LOOP
        v_chain[i + 1] := pg_catalog.sha256(v_chain[i] || v_fields[i]);
    END LOOP;

    RETURN QUERY
    WITH inserted AS (
        INSERT INTO events AS x (global_position, stream_id, stream_version, event_id, event_type, data, metadata,
                                 occurred_at, recorded_at, prev_hash, hash)
        SELECT v_head + u.o, u.stream_id, u.version, u.id, u.type, u.data, u.meta, u.occurred,
               pg_catalog.clock_timestamp(), v_chain[u.o], v_chain[u.o + 1]
        FROM unnest(v_stream, v_version, v_id, v_type, v_data, v_meta, v_occurred)
             WITH ORDINALITY AS u(stream_id, version, id, type, data, meta, occurred, o)
        RETURNING x.event_id, x.global_position, x.stream_version
    )
    SELECT i.event_id, i.global_position, i.stream_version FROM inserted i ORDER BY i.global_position;
END
$$;

-- append_events(stream, expected_version, events): append_events_batch for one stream, as in
-- 0001 and 0004 (same arguments, results, errors, SECURITY DEFINER), now plpgsql so that its
-- one statement is planned once per session instead of on every call.
CREATE OR REPLACE FUNCTION append_events(p_stream_id text, p_expected_version text, p_events json)
RETURNS TABLE (event_id uuid, global_position bigint, stream_version integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
        SELECT b.event_id, b.global_position, b.stream_version
        FROM append_events_batch(json_build_array(json_build_object(
            'stream_id', p_stream_id, 'expected_version', p_expected_version, 'events', p_events))) b;
END
$$;

-- An agency's history (`sbie history --agency`, Connection.history(agency:)) selects events by
-- metadata->>'agency_id': without an index, a scan of the whole log per query (measured on a
-- generated log, Benchmarks/log-size: p50 0.22 s at 100,000 events, 0.59 s at 1,000,000, the
-- process included). With it, a probe by agency in log order. Costs each append one more index
-- entry for events that name an agency. Creating it needs the owner of events (a superuser
-- migrates, docs/security.md); on a large log it holds off appends while it is built.
CREATE INDEX events_agency_idx ON events ((metadata ->> 'agency_id'), global_position)
    WHERE metadata ->> 'agency_id' IS NOT NULL;
