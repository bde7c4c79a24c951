-- 0013: plans that cannot degrade with the size or the statistics of the events table.
--
-- On a new, never-analysed events table, the stream-versions lookup in append_events_batch
-- (0005) got a cached generic plan with a sequential scan (`stream_id = ANY (array)` ... GROUP
-- BY), kept for the session, so every append scanned the whole table and the cost per append
-- grew with the log (measured: 0.22 ms -> 1.9 ms per append from the 1st to the 5,000th thousand
-- on a fresh database, one sequential scan per append). The event-id lookups had the same shape.
--
-- append_events_batch is redefined from 0005 with every lookup written as one probe of a unique
-- index per key: `CROSS JOIN LATERAL (... WHERE key = x ... LIMIT 1)` over the distinct streams
-- or the event ids. The planner never flattens a LATERAL subquery with LIMIT into a join, and for
-- a probe by the leading column of a unique index the index scan is the cheapest plan at any table
-- size the planner assumes for a never-analysed table (10 pages or more), so the generic plan is
-- the index probe (measured: no sequential scan of events in 50,000 appended events, see
-- Tests/WorkflowTests/PlanStabilityTests.swift). The head lookup (ORDER BY global_position DESC
-- LIMIT 1) already used the primary key backwards and is unchanged.
--
-- Considered and not taken: `SET plan_cache_mode = force_custom_plan` on the function replans
-- every statement on every call (measured about 2x the cost per append); `SET enable_seqscan =
-- off` (measured 3-5x slower per append on this machine). Not covered: an events table that was
-- ANALYZEd while empty and is never analysed again (autovacuum off): its statistics say "no
-- rows"; autoanalyze (on by default) corrects them after the first 50 events.
--
-- Arguments, results, guarantees and error codes (22023, ES001, ES002, ES004) as in 0005.

CREATE OR REPLACE FUNCTION append_events_batch(p_appends json)
RETURNS TABLE (event_id uuid, global_position bigint, stream_version integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_append    bigint[];
    v_stream    text[];
    v_expected  text[];
    v_id        uuid[];
    v_type      text[];
    v_data      json[];
    v_meta      json[];
    v_occurred  timestamptz[];
    v_position  bigint[];
    v_version   integer[];
    v_prev      bytea[];
    v_hash      bytea[];
    v_recorded  timestamptz[];
    v_versions  jsonb;
    v_n         integer;
    v_existing  integer;
    v_first     integer;
    v_current   integer;
    v_head      bigint;
    v_last      bytea;
    v_now       timestamptz := pg_catalog.clock_timestamp();
BEGIN
    IF p_appends IS NULL OR json_typeof(p_appends) <> 'array' OR json_array_length(p_appends) = 0 THEN
        RAISE EXCEPTION 'append_events: appends must be a non-empty JSON array' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM json_array_elements(p_appends) a
               WHERE json_typeof(a) <> 'object' OR a ->> 'stream_id' IS NULL
                  OR coalesce(json_typeof(a -> 'events'), '') <> 'array' OR json_array_length(a -> 'events') = 0
                  OR coalesce(a ->> 'expected_version', '') NOT IN ('any', 'no_stream', 'stream_exists')
                     AND coalesce(a ->> 'expected_version', '') !~ '^[0-9]{1,9}$') THEN
        RAISE EXCEPTION 'append_events: each append needs a stream_id, an expected version (any, no_stream, '
            'stream_exists or a number) and a non-empty array of events' USING ERRCODE = '22023';
    END IF;

    BEGIN
        WITH a AS MATERIALIZED (
            SELECT o, x ->> 'stream_id' AS stream_id, x ->> 'expected_version' AS expected, x -> 'events' AS events
            FROM json_array_elements(p_appends) WITH ORDINALITY AS t(x, o)
        ), e AS MATERIALIZED (
            SELECT a.o AS append_no, ev.o AS event_no, a.stream_id, a.expected, (ev.x ->> 'event_id')::uuid AS id,
                   ev.x ->> 'event_type' AS type, ev.x -> 'data' AS data,
                   coalesce(ev.x -> 'metadata', '{}'::json) AS meta,
                   coalesce((ev.x ->> 'occurred_at')::timestamptz, v_now) AS occurred
            FROM a, json_array_elements(a.events) WITH ORDINALITY AS ev(x, o)
        )
        SELECT array_agg(append_no ORDER BY append_no, event_no), array_agg(stream_id ORDER BY append_no, event_no),
               array_agg(expected ORDER BY append_no, event_no), array_agg(id ORDER BY append_no, event_no),
               array_agg(type ORDER BY append_no, event_no), array_agg(data ORDER BY append_no, event_no),
               array_agg(meta ORDER BY append_no, event_no), array_agg(occurred ORDER BY append_no, event_no)
        INTO v_append, v_stream, v_expected, v_id, v_type, v_data, v_meta, v_occurred
        FROM e;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_time_zone_displacement_value THEN
        RAISE EXCEPTION 'append_events: occurred_at is not a timestamp (%)', SQLERRM USING ERRCODE = 'ES004';
    END;
    v_n := cardinality(v_id);
    IF array_position(v_id, NULL) IS NOT NULL OR array_position(v_type, NULL) IS NOT NULL
       OR array_position(v_data, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'append_events: every event needs event_id, event_type and data' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(v_occurred) AS o
               WHERE NOT (o >= '1900-01-01 00:00:00+00' AND o < '2200-01-01 00:00:00+00')) THEN
        RAISE EXCEPTION 'append_events: occurred_at must be from 1900-01-01 to before 2200-01-01 (UTC)'
            USING ERRCODE = 'ES004';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(v_id) AS x) <> v_n THEN
        RAISE EXCEPTION 'append_events: duplicate event_id in one append' USING ERRCODE = '22023';
    END IF;

    -- The writer's lock: appends commit one at a time, in position order.
    PERFORM 1 FROM writer_lock FOR UPDATE;

    -- Each lookup is one probe of a unique index per stream or per event id (LATERAL ... LIMIT 1
    -- is never flattened into a join), so no plan, generic or custom, scans the table.
    SELECT coalesce(jsonb_object_agg(s.stream_id, v.v), '{}'::jsonb) INTO v_versions
    FROM (SELECT DISTINCT x AS stream_id FROM unnest(v_stream) AS x) s
    CROSS JOIN LATERAL (SELECT e.stream_version AS v FROM events e WHERE e.stream_id = s.stream_id
                        ORDER BY e.stream_version DESC LIMIT 1) v;

    SELECT count(*), min(f.stream_version) INTO v_existing, v_first
    FROM unnest(v_id) AS i(id)
    CROSS JOIN LATERAL (SELECT e.stream_version FROM events e WHERE e.event_id = i.id LIMIT 1) f;
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

    SELECT e.global_position, e.hash INTO v_head, v_last FROM events e ORDER BY e.global_position DESC LIMIT 1;
    v_head := coalesce(v_head, 0);
    v_last := coalesce(v_last, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);

    FOR i IN 1 .. v_n LOOP
        IF i = 1 OR v_append[i] <> v_append[i - 1] THEN
            v_current := coalesce((v_versions ->> v_stream[i])::integer, 0);
            IF (v_expected[i] = 'no_stream' AND v_current <> 0)
               OR (v_expected[i] = 'stream_exists' AND v_current = 0)
               OR (v_expected[i] ~ '^[0-9]+$' AND v_current <> v_expected[i]::integer) THEN
                RAISE EXCEPTION 'wrong expected version for stream %: expected %, actual %',
                    v_stream[i], v_expected[i], v_current
                    USING ERRCODE = 'ES001',
                          DETAIL = format('stream=%s expected=%s actual=%s', v_stream[i], v_expected[i], v_current);
            END IF;
        END IF;
        v_current := v_current + 1;
        v_versions := jsonb_set(v_versions, ARRAY[v_stream[i]], to_jsonb(v_current));
        v_position[i] := v_head + i;
        v_version[i] := v_current;
        v_prev[i] := v_last;
        v_last := event_hash(v_last, v_head + i, v_stream[i], v_current, v_id[i], v_type[i], v_data[i], v_meta[i],
                             v_occurred[i]);
        v_hash[i] := v_last;
        v_recorded[i] := pg_catalog.clock_timestamp();
    END LOOP;

    INSERT INTO events (global_position, stream_id, stream_version, event_id, event_type, data, metadata,
                        occurred_at, recorded_at, prev_hash, hash)
    SELECT * FROM unnest(v_position, v_stream, v_version, v_id, v_type, v_data, v_meta, v_occurred, v_recorded,
                         v_prev, v_hash);

    RETURN QUERY SELECT * FROM unnest(v_id, v_position, v_version);
END
$$;
