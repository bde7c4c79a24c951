-- 0020: less server work per call on the hot path (issue 17 items 3 and 4).
--
-- Same arguments, results, SQLSTATEs, messages, volatility, SECURITY DEFINER, owners and grants
-- (CREATE OR REPLACE keeps them); no new SQLSTATE, command type or guarantee change. What
-- changes is how much work a call does; figures and the commands that measure them are in
-- docs/architecture.md ("Server work per call"). Measured first (perf on the backend, callgrind
-- on a single-user backend, pg_stat_statements with track = all): a one-event append spent
-- its time starting statements (executor start of the lookups' subplans, the INSERT's
-- projection), preparing plpgsql expressions (prepared once per transaction, i.e. per call:
-- each function in them is looked up and permission-checked) and re-reading the events
-- table's CHECK constraints (PostgreSQL parses them again for every INSERT statement: about
-- 15% of a one-event append, a table matter left as is); a submission spent a fifth of its
-- time in json_has_repeated_key's two regular expressions and an eighth in the names trigger.
--
-- append_events_batch(text[], ...) (0017), the append's core:
--   * One event (every command's append, append_events with one event): one expression
--     recognises a well-formed call; then the writer's lock, one lean statement for the head,
--     the stream's version and whether the id is stored, and INSERT ... VALUES with the chain
--     link computed in it. Anything else, refusals included, takes the general path, which
--     checks and answers as 0017 did.
--   * One append of several events: the lookups are one lean statement (no sorted array
--     builders over one stream).
--   * More than 8 events: no probe of the event_id index before the INSERT (one descent per
--     event, done again by the INSERT's own uniqueness check). The INSERT runs in a
--     subtransaction; if the events table refuses it (unique, check or not-null violation) it
--     is rolled back, nothing of it stays, and only then are the ids probed: stored ids give
--     the idempotent retry or ES002 exactly as before, otherwise the table's error is raised
--     as it was. A wrong expected version probes them too before ES001, so a retry of an append
--     that went in still gets its stored positions. The positions returned are the values the
--     INSERT wrote (global_position = head + i, stream_version, event_id).
-- submit_command (0011): a new command's row comes from the INSERT's RETURNING, not from a
--   second read.
-- json_has_repeated_key (0019): a flat object (one '{', no '[' in its text) is answered by
--   comparing json_object_keys (every key as written) with jsonb_object_keys (each key once);
--   anything else by 0019's regular expressions. Same answer, same 22P05 for \u0000.
-- acting_login (0019): the authenticator test is one probe of pg_auth_members by role oids
--   (to_regrole) instead of joining the pg_roles view twice.
-- commands_names_are_clean (0016's trigger on commands): a payload whose text is printable
--   ASCII with no backslash and no DEL holds no control or format character, so its name fields
--   are not read; anything else goes through command_name_fault as before (CQ006).
-- Unchanged on purpose: the writer's lock (a row lock, a WAL record per transaction),
-- claim_commands, record_outcomes and writer_lock_acquire (their time is in the UPDATE of
-- commands and its CHECK constraints and trigger, and in the lock), the events table's and the
-- commands table's constraints and indexes.

-- append_events_replay(...): the idempotent retry of an append whose event ids are already
-- stored (some or all), as in 0017: when the call is one append and every id is stored, in
-- that stream, at consecutive versions in the given order (and after the expected version when
-- it is exact), the stored (event_id, global_position, stream_version) in call order;
-- otherwise ES002. Called by append_events_batch only, under the writer's lock, with
-- p_existing >= 1 (how many of the ids are stored).
CREATE FUNCTION append_events_replay(p_streams text[], p_expected text[], p_ids uuid[], p_existing integer)
RETURNS TABLE (event_id uuid, global_position bigint, stream_version integer)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_n     integer := pg_catalog.cardinality(p_ids);
    v_first integer;
BEGIN
    SELECT pg_catalog.min(f.stream_version) INTO v_first
    FROM unnest(p_ids) AS i(id)
    CROSS JOIN LATERAL (SELECT x.stream_version FROM events x WHERE x.event_id = i.id LIMIT 1) f;
    IF pg_catalog.cardinality(p_streams) = 1 AND p_existing = v_n
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
        p_streams[1], p_existing, v_n
        USING ERRCODE = 'ES002', DETAIL = pg_catalog.format('stream=%s', p_streams[1]);
END
$$;

-- append_events_stored(ids): how many of the ids are stored; one probe of events_event_id_key
-- per id, whatever the statistics.
CREATE FUNCTION append_events_stored(p_ids uuid[]) RETURNS integer
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN (SELECT pg_catalog.count(*)::integer
            FROM unnest(p_ids) AS i(id)
            CROSS JOIN LATERAL (SELECT 1 FROM events x WHERE x.event_id = i.id LIMIT 1) f);
END
$$;

CREATE OR REPLACE FUNCTION append_events_batch(
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
    v_existing  integer;    -- how many of the ids are stored; NULL: not probed (many events, see below)
    v_head      bigint;
    v_last      bytea;
    v_actual    integer;
    v_refused   boolean;    -- the INSERT's subtransaction was rolled back for stored ids
BEGIN
    -- One event (every command's append, append_events with one event): a well-formed call is
    -- recognised by one expression (cardinality 1 and a non-NULL first element is a
    -- one-dimensional array of one element from 1); then the writer's lock, one statement for
    -- the head, the stream's version and whether the id is stored, and the row with its chain
    -- link (SHA-256(head's hash || the event's fields), 0001's event_hash). Anything else, a
    -- refusal included, takes the general path below, which checks and answers as before.
    IF v_n = 1 THEN  -- (nested: an expression is prepared when first evaluated, so calls of more events skip it)
        IF coalesce(v_a = 1 AND v_n = 1
                    AND pg_catalog.cardinality(p_expected) = 1 AND pg_catalog.cardinality(p_counts) = 1
                    AND pg_catalog.cardinality(p_types) = 1 AND pg_catalog.cardinality(p_data) = 1
                    AND pg_catalog.cardinality(p_metadata) = 1 AND pg_catalog.cardinality(p_occurred) = 1
                    AND p_streams[1] IS NOT NULL AND p_counts[1] = 1 AND p_ids[1] IS NOT NULL AND p_types[1] IS NOT NULL
                    AND p_data[1] IS NOT NULL AND p_metadata[1] IS NOT NULL
                    AND p_occurred[1] >= '1900-01-01 00:00:00+00' AND p_occurred[1] < '2200-01-01 00:00:00+00'
                    AND (p_expected[1] IN ('any', 'no_stream', 'stream_exists') OR p_expected[1] ~ '^[0-9]{1,9}$'), false)
        THEN
            PERFORM 1 FROM writer_lock FOR UPDATE;
            SELECT coalesce(h.global_position, 0),
                   coalesce(h.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea),
                   coalesce((SELECT x.stream_version FROM events x WHERE x.stream_id = p_streams[1]
                             ORDER BY x.stream_version DESC LIMIT 1), 0),
                   (SELECT pg_catalog.count(*)::integer FROM events x WHERE x.event_id = p_ids[1])
            INTO v_head, v_last, v_actual, v_existing
            FROM (SELECT 1) AS one
            LEFT JOIN LATERAL (SELECT x.global_position, x.hash FROM events x ORDER BY x.global_position DESC LIMIT 1) h
                ON true;
            IF v_existing > 0 THEN
                RETURN QUERY SELECT r.event_id, r.global_position, r.stream_version
                             FROM append_events_replay(p_streams, p_expected, p_ids, v_existing) r;
                RETURN;
            END IF;
            IF (CASE p_expected[1] WHEN 'any' THEN false
                                   WHEN 'no_stream' THEN v_actual <> 0
                                   WHEN 'stream_exists' THEN v_actual = 0
                                   ELSE v_actual <> p_expected[1]::integer END) THEN
                RAISE EXCEPTION 'wrong expected version for stream %: expected %, actual %',
                    p_streams[1], p_expected[1], v_actual
                    USING ERRCODE = 'ES001',
                          DETAIL = pg_catalog.format('stream=%s expected=%s actual=%s', p_streams[1], p_expected[1], v_actual);
            END IF;
            RETURN QUERY
                INSERT INTO events AS x (global_position, stream_id, stream_version, event_id, event_type, data, metadata,
                                         occurred_at, recorded_at, prev_hash, hash)
                VALUES (v_head + 1, p_streams[1], v_actual + 1, p_ids[1], p_types[1], p_data[1], p_metadata[1],
                        p_occurred[1], pg_catalog.clock_timestamp(), v_last,
                        pg_catalog.sha256(v_last || event_hash_field((v_head + 1)::text) || event_hash_field(p_streams[1])
                                          || event_hash_field((v_actual + 1)::text)
                                          || event_hash_tail(p_ids[1], p_types[1], p_data[1], p_metadata[1], p_occurred[1])))
                RETURNING x.event_id, x.global_position, x.stream_version;
            RETURN;
        END IF;
    END IF;

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
    IF v_n > 1 THEN  -- (a separate IF: a condition with a subquery is a statement even when v_n = 1)
        IF (SELECT pg_catalog.count(DISTINCT i) FROM unnest(p_ids) AS i) <> v_n THEN
            RAISE EXCEPTION 'append_events: duplicate event_id in one append' USING ERRCODE = '22023';
        END IF;
    END IF;

    -- Each event's stream and its rank among the call's events of that stream, each append's
    -- first event: its stream version will be the stream's version + the rank.
    IF v_a = 1 THEN
        v_names := p_streams;
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

    -- Under the lock, one statement: the head, each stream's version and, for up to 8 events,
    -- how many of the ids are stored (more are not probed: the INSERT's unique index finds
    -- them, see below). Every lookup is one probe of a unique index per key, whatever the
    -- plan's statistics.
    IF v_a = 1 THEN
        SELECT coalesce(h.global_position, 0),
               coalesce(h.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea),
               ARRAY[coalesce((SELECT x.stream_version FROM events x WHERE x.stream_id = p_streams[1]
                               ORDER BY x.stream_version DESC LIMIT 1), 0)],
               CASE WHEN v_n <= 8 THEN (SELECT pg_catalog.count(*)::integer FROM unnest(p_ids) AS i(id)
                                        CROSS JOIN LATERAL (SELECT 1 FROM events x WHERE x.event_id = i.id LIMIT 1) f)
               END
        INTO v_head, v_last, v_base, v_existing
        FROM (SELECT 1) AS one
        LEFT JOIN LATERAL (SELECT x.global_position, x.hash FROM events x ORDER BY x.global_position DESC LIMIT 1) h
            ON true;
    ELSE
        SELECT coalesce(h.global_position, 0),
               coalesce(h.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea),
               ARRAY(SELECT coalesce((SELECT x.stream_version FROM events x WHERE x.stream_id = s.name
                                      ORDER BY x.stream_version DESC LIMIT 1), 0)
                     FROM unnest(v_names) WITH ORDINALITY AS s(name, o) ORDER BY s.o),
               CASE WHEN v_n <= 8 THEN (SELECT pg_catalog.count(*)::integer FROM unnest(p_ids) AS i(id)
                                        CROSS JOIN LATERAL (SELECT 1 FROM events x WHERE x.event_id = i.id LIMIT 1) f)
               END
        INTO v_head, v_last, v_base, v_existing
        FROM (SELECT 1) AS one
        LEFT JOIN LATERAL (SELECT x.global_position, x.hash FROM events x ORDER BY x.global_position DESC LIMIT 1) h
            ON true;
    END IF;

    IF v_existing > 0 THEN
        RETURN QUERY SELECT r.event_id, r.global_position, r.stream_version
                     FROM append_events_replay(p_streams, p_expected, p_ids, v_existing) r;
        RETURN;
    END IF;

    -- Expected versions, in call order: the stream's version before an append's first event.
    -- A stored id comes first (the retry of an append that went in finds its stream moved on).
    FOR j IN 1 .. v_a LOOP
        v_actual := CASE WHEN v_a = 1 THEN v_base[1]
                         ELSE v_base[v_sidx[v_opens[j]]] + coalesce(v_rank[v_opens[j]], v_opens[j]) - 1 END;
        IF (CASE p_expected[j] WHEN 'any' THEN false
                               WHEN 'no_stream' THEN v_actual <> 0
                               WHEN 'stream_exists' THEN v_actual = 0
                               ELSE v_actual <> p_expected[j]::integer END) THEN
            IF v_existing IS NULL THEN
                v_existing := append_events_stored(p_ids);
                IF v_existing > 0 THEN
                    RETURN QUERY SELECT r.event_id, r.global_position, r.stream_version
                                 FROM append_events_replay(p_streams, p_expected, p_ids, v_existing) r;
                    RETURN;
                END IF;
            END IF;
            RAISE EXCEPTION 'wrong expected version for stream %: expected %, actual %',
                p_streams[j], p_expected[j], v_actual
                USING ERRCODE = 'ES001',
                      DETAIL = pg_catalog.format('stream=%s expected=%s actual=%s', p_streams[j], p_expected[j], v_actual);
        END IF;
    END LOOP;

    -- The versions and the chain, in position order: v_chain[1] is the head's hash, v_chain[i + 1]
    -- the i-th event's hash = SHA-256(prev_hash || the event's fields) = event_hash(prev_hash, ...).
    IF v_a = 1 THEN
        v_sidx := pg_catalog.array_fill(1, ARRAY[v_n]);
    END IF;
    v_chain[1] := v_last;
    FOR i IN 1 .. v_n LOOP
        v_version[i] := v_base[v_sidx[i]] + coalesce(v_rank[i], i);
        v_chain[i + 1] := pg_catalog.sha256(
            v_chain[i] || event_hash_field((v_head + i)::text) || event_hash_field(v_names[v_sidx[i]])
            || event_hash_field(v_version[i]::text) || v_tail[i]);
    END LOOP;

    IF v_existing IS NOT NULL THEN
        -- The rows come back in the order they are inserted: call order.
        RETURN QUERY
            INSERT INTO events AS x (global_position, stream_id, stream_version, event_id, event_type, data, metadata,
                                     occurred_at, recorded_at, prev_hash, hash)
            SELECT v_head + u.o, v_names[u.sidx], u.version, u.id, u.type, u.data, u.meta, u.occurred,
                   pg_catalog.clock_timestamp(), v_chain[u.o], v_chain[u.o + 1]
            FROM unnest(v_sidx, v_version, p_ids, p_types, p_data, p_metadata, p_occurred)
                 WITH ORDINALITY AS u(sidx, version, id, type, data, meta, occurred, o)
            RETURNING x.event_id, x.global_position, x.stream_version;
        RETURN;
    END IF;

    -- More than 8 events, ids not probed: the INSERT in a subtransaction. A stored id (the
    -- unique index) or a row the table refuses rolls it back, nothing of it stays; then the
    -- ids are probed: stored ones decide as above (retry or ES002), otherwise the error stands.
    BEGIN
        INSERT INTO events AS x (global_position, stream_id, stream_version, event_id, event_type, data, metadata,
                                 occurred_at, recorded_at, prev_hash, hash)
        SELECT v_head + u.o, v_names[u.sidx], u.version, u.id, u.type, u.data, u.meta, u.occurred,
               pg_catalog.clock_timestamp(), v_chain[u.o], v_chain[u.o + 1]
        FROM unnest(v_sidx, v_version, p_ids, p_types, p_data, p_metadata, p_occurred)
             WITH ORDINALITY AS u(sidx, version, id, type, data, meta, occurred, o);
    EXCEPTION WHEN unique_violation OR check_violation OR not_null_violation THEN
        v_existing := append_events_stored(p_ids);
        IF v_existing = 0 THEN
            RAISE;
        END IF;
        v_refused := true;
    END;
    IF v_refused THEN
        RETURN QUERY SELECT r.event_id, r.global_position, r.stream_version
                     FROM append_events_replay(p_streams, p_expected, p_ids, v_existing) r;
        RETURN;
    END IF;
    -- What the INSERT wrote, in call order: the same values RETURNING gives.
    RETURN QUERY
        SELECT u.id, v_head + u.o, u.version
        FROM unnest(p_ids, v_version) WITH ORDINALITY AS u(id, version, o);
END
$$;

ALTER FUNCTION append_events_replay(text[], text[], uuid[], integer) OWNER TO workflow_owner;
REVOKE ALL ON FUNCTION append_events_replay(text[], text[], uuid[], integer) FROM PUBLIC;
ALTER FUNCTION append_events_stored(uuid[]) OWNER TO workflow_owner;
REVOKE ALL ON FUNCTION append_events_stored(uuid[]) FROM PUBLIC;

-- submit_command (0011's, the latest): a new command's row is returned from the INSERT's
-- RETURNING instead of being read again by a second statement (the same values: the row as
-- inserted, in this transaction). Everything before the INSERT is 0011's, word for word.
CREATE OR REPLACE FUNCTION submit_command(
    p_command_type text, p_payload json, p_idempotency_key text, p_available_at timestamptz DEFAULT NULL
) RETURNS TABLE (command_id uuid, status text, error_code text, error_message text, outcome json)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_id         uuid;
    v_kind       text;
    v_agency     text;
    v_mapped     text;
    v_super      boolean;
    v_privileged boolean;
    v_repeated   text;
    v_login      name := acting_login();
BEGIN
    IF v_login IS NULL THEN
        RAISE EXCEPTION 'permission_denied: this session acts for no login (an authenticator must switch into a web-enabled login)'
            USING ERRCODE = '42501';
    END IF;
    IF p_command_type IS NULL OR p_idempotency_key IS NULL OR p_payload IS NULL THEN
        RAISE EXCEPTION 'submit_command: command type, payload and idempotency key are required'
            USING ERRCODE = '22023';
    END IF;
    IF pg_catalog.length(p_command_type) NOT BETWEEN 1 AND 100
       OR pg_catalog.length(p_idempotency_key) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'submit_command: the command type must be 1-100 characters and the idempotency key 1-200'
            USING ERRCODE = '22023';
    END IF;
    IF pg_catalog.octet_length(p_payload::text) > 65536 THEN
        RAISE EXCEPTION 'payload_too_large: the payload is % bytes, the limit is 65536',
            pg_catalog.octet_length(p_payload::text)
            USING ERRCODE = 'CQ001';
    END IF;
    IF pg_catalog.json_typeof(p_payload) <> 'object' THEN
        RAISE EXCEPTION 'malformed_payload: the payload must be a JSON object, not %', pg_catalog.json_typeof(p_payload)
            USING ERRCODE = 'CQ002';
    END IF;
    -- json keeps duplicate keys and SQL reads the last one; a reader that took the first
    -- could act for another agency, or count another vote, than the one checked here.
    -- Reading keys and agency_id unescapes the JSON strings; \u0000 cannot become text.
    BEGIN
        IF json_has_repeated_key(p_payload) THEN
            v_repeated := json_repeated_key(p_payload);
            IF v_repeated IS NULL THEN
                RAISE EXCEPTION 'malformed_payload: the payload repeats a key (nested deeper than 32 levels)'
                    USING ERRCODE = 'CQ002';
            END IF;
            RAISE EXCEPTION 'malformed_payload: the payload repeats the key ''%''', pg_catalog.left(v_repeated, 200)
                USING ERRCODE = 'CQ002';
        END IF;
        IF pg_catalog.json_typeof(p_payload -> 'agency_id') = 'string' THEN
            v_agency := p_payload ->> 'agency_id';
        END IF;
    EXCEPTION WHEN untranslatable_character THEN
        RAISE EXCEPTION 'malformed_payload: the payload contains \u0000 (NUL), which no field may hold'
            USING ERRCODE = 'CQ002';
    END;

    v_kind := command_actor_kind(p_command_type);
    SELECT r.rolsuper INTO v_super FROM pg_catalog.pg_roles r WHERE r.rolname = v_login;
    v_privileged := coalesce(v_super, false) OR pg_catalog.pg_has_role(v_login, 'workflow_owner', 'MEMBER');

    -- Only the daemon's timers (and the owner) schedule: a submitter who could pick
    -- its own due time could jump the queue (1970) or park a command forever.
    IF p_available_at IS NOT NULL THEN
        IF NOT (v_privileged OR pg_catalog.pg_has_role(v_login, 'workflow_daemon', 'MEMBER')) THEN
            RAISE EXCEPTION 'available_at_not_allowed: login % may not set available_at; only the daemon''s timers and the owner schedule commands',
                v_login USING ERRCODE = 'CQ004';
        END IF;
        IF NOT (p_available_at >= '1900-01-01 00:00:00+00'::timestamptz
                AND p_available_at < '2200-01-01 00:00:00+00'::timestamptz) THEN
            RAISE EXCEPTION 'timestamp_out_of_range: available_at % is outside 1900-01-01 .. 2200-01-01 UTC', p_available_at
                USING ERRCODE = 'CQ005';
        END IF;
    END IF;

    IF v_privileged THEN
        NULL;  -- the owner may submit anything
    ELSIF v_kind = 'agency' AND pg_catalog.pg_has_role(v_login, 'agency_clerk', 'MEMBER') THEN
        v_mapped := current_agency_id();
        IF v_mapped IS NULL THEN
            RAISE EXCEPTION 'permission_denied: login % is an agency clerk but is mapped to no agency (agency_logins)',
                v_login USING ERRCODE = '42501';
        END IF;
        IF v_agency IS NULL THEN
            -- Missing or not a string: queued under the clerk's agency; the daemon rejects it naming the field.
            v_agency := v_mapped;
        ELSIF v_agency <> v_mapped THEN
            RAISE EXCEPTION 'agency_mismatch: login % files for agency %, not %', v_login, v_mapped,
                pg_catalog.left(v_agency, 200)
                USING ERRCODE = 'CQ003';
        END IF;
    ELSIF (v_kind = 'board' AND pg_catalog.pg_has_role(v_login, 'board_staff', 'MEMBER'))
       OR (v_kind = 'register' AND pg_catalog.pg_has_role(v_login, 'registrar', 'MEMBER'))
       OR (v_kind = 'system' AND pg_catalog.pg_has_role(v_login, 'workflow_daemon', 'MEMBER')) THEN
        NULL;
    ELSE
        RAISE EXCEPTION 'permission_denied: login % may not submit % commands (%)', v_login,
            coalesce(v_kind, 'unknown'), pg_catalog.left(p_command_type, 100)
            USING ERRCODE = '42501';
    END IF;

    -- A new command: the row as inserted (RETURNING into the result columns), no second read.
    INSERT INTO commands AS c (submitted_by, idempotency_key, command_type, payload, agency_id, available_at)
    VALUES (v_login, p_idempotency_key, p_command_type, p_payload, v_agency,
            coalesce(p_available_at, pg_catalog.clock_timestamp()))
    ON CONFLICT (submitted_by, idempotency_key) DO NOTHING
    RETURNING c.command_id, c.status, c.error_code, c.error_message, c.outcome
    INTO command_id, status, error_code, error_message, outcome;
    IF command_id IS NOT NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;
    -- The key was used before by this login: that command, as it stands now.
    SELECT c.command_id INTO v_id FROM commands c
    WHERE c.submitted_by = v_login AND c.idempotency_key = p_idempotency_key;
    RETURN QUERY SELECT c.command_id, c.status, c.error_code, c.error_message, c.outcome
                 FROM commands c WHERE c.command_id = v_id;
END
$$;

-- json_has_repeated_key(value) (0019's): the same answer, cheaper for the common payload. A JSON
-- object whose text holds exactly one '{' and no '[' has no nested object or array (a brace or
-- bracket inside a string only sends it the long way), so a key repeats at some depth exactly
-- when one repeats at the top: json_object_keys lists every key as written, repeats included,
-- jsonb_object_keys each key once. Anything else: 0019's count of the colons outside strings,
-- in the text as given and after jsonb has kept one of each repeated key. Both ways read the
-- value as jsonb, so \u0000 is refused (22P05) as before.
CREATE OR REPLACE FUNCTION json_has_repeated_key(p_value json) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_text         text := p_value::text;
    v_with_repeats text;
    v_without      text;
BEGIN
    IF pg_catalog.strpos(v_text, '[') = 0
       AND pg_catalog.length(v_text) - pg_catalog.length(pg_catalog.replace(v_text, '{', '')) = 1
       AND pg_catalog.json_typeof(p_value) = 'object' THEN
        RETURN (SELECT pg_catalog.count(*) FROM pg_catalog.json_object_keys(p_value))
            <> (SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_object_keys(p_value::jsonb));
    END IF;
    v_with_repeats := pg_catalog.regexp_replace(v_text, '"(?:[^"\\]|\\.)*"', '', 'g');
    v_without := pg_catalog.regexp_replace(p_value::jsonb::text, '"(?:[^"\\]|\\.)*"', '', 'g');
    RETURN pg_catalog.length(v_with_repeats) - pg_catalog.length(pg_catalog.replace(v_with_repeats, ':', ''))
        <> pg_catalog.length(v_without) - pg_catalog.length(pg_catalog.replace(v_without, ':', ''));
END
$$;

-- commands_names_are_clean() (0016's trigger): a payload whose text is printable ASCII with no
-- backslash (no escape) and no DEL holds no control or format character in any field, so it is
-- clean without reading its name fields (the usual payload); anything else is checked by
-- command_name_fault exactly as before (same refusal, CQ006).
CREATE OR REPLACE FUNCTION commands_names_are_clean() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_text  text := NEW.payload::text;
    v_fault text;
BEGIN
    IF pg_catalog.octet_length(v_text) = pg_catalog.length(v_text)
       AND pg_catalog.strpos(v_text, pg_catalog.chr(92)) = 0 AND pg_catalog.strpos(v_text, pg_catalog.chr(127)) = 0 THEN
        RETURN NEW;
    END IF;
    v_fault := command_name_fault(NEW.command_type, NEW.payload);
    IF v_fault IS NOT NULL THEN
        RAISE EXCEPTION 'invalid_name: field % holds % (a control or format character: newline, tab, bidi control, zero-width or similar); names may not hold them',
            pg_catalog.split_part(v_fault, ' ', 1), pg_catalog.split_part(v_fault, ' ', 2)
            USING ERRCODE = 'CQ006';
    END IF;
    RETURN NEW;
END
$$;

-- acting_login() (0019's): whether the session's login is a direct member of sbie_authenticator is
-- one probe of pg_auth_members by the two roles' oids (to_regrole; quote_ident keeps the login's
-- name exact: case, digits, quotes) instead of a join of pg_auth_members with the pg_roles view
-- twice; the same row decides, so the same answer. The rest is 0019's, word for word.
CREATE OR REPLACE FUNCTION acting_login() RETURNS name
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_auth_members m
        WHERE m.roleid = pg_catalog.to_regrole('sbie_authenticator')
          AND m.member = pg_catalog.to_regrole(pg_catalog.quote_ident(session_user)))
    THEN
        RETURN session_user;
    END IF;
    RETURN (SELECT r.rolname FROM pg_catalog.pg_roles r
            WHERE r.rolname = pg_catalog.current_setting('role') AND r.rolcanlogin AND NOT r.rolsuper
              AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                          JOIN pg_catalog.pg_roles g ON g.oid = m.member AND g.rolname = 'sbie_authenticator'
                          WHERE m.roleid = r.oid));
END
$$;
