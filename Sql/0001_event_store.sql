-- The event store: one append-only table of events, appended only through
-- append_events(), chained by SHA-256 for tamper evidence.

DO $$
BEGIN
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RAISE EXCEPTION 'the event store needs a UTF8 database, this one is %', current_setting('server_encoding');
    END IF;
END $$;

CREATE TABLE events (
    -- Dense, gap-free, 1, 2, 3 ... in commit order (assigned under a global lock, never by a sequence).
    global_position bigint      PRIMARY KEY CHECK (global_position >= 1),
    -- '<category>-<id>', e.g. 'agreement-...' or 'request-<uuid>'.
    stream_id       text        NOT NULL CHECK (stream_id ~ '^[a-z][a-z0-9_]*(-.+)?$' AND length(stream_id) <= 300),
    -- 1, 2, 3 ... within the stream.
    stream_version  integer     NOT NULL CHECK (stream_version >= 1),
    event_id        uuid        NOT NULL UNIQUE,
    -- Past tense, e.g. 'TerminationRequestSubmitted'.
    event_type      text        NOT NULL CHECK (event_type ~ '^[A-Za-z][A-Za-z0-9_.]*$' AND length(event_type) <= 200),
    -- json, not jsonb: the exact text that was hashed is the text kept.
    data            json        NOT NULL,
    metadata        json        NOT NULL,
    -- Legal time, given by the actor.
    occurred_at     timestamptz NOT NULL,
    -- Log time, the database's clock when the event was appended.
    recorded_at     timestamptz NOT NULL,
    prev_hash       bytea       NOT NULL CHECK (length(prev_hash) = 32),
    hash            bytea       NOT NULL CHECK (length(hash) = 32),
    UNIQUE (stream_id, stream_version)
);

COMMENT ON TABLE events IS 'Append-only event log. Append with append_events(); UPDATE, DELETE and TRUNCATE are refused by triggers.';

CREATE INDEX events_category_idx ON events (split_part(stream_id, '-', 1), global_position);
CREATE INDEX events_type_idx ON events (event_type, global_position);

-- The canonical encoding that the hash chain covers, documented once here and
-- implemented independently in Swift (EventStore/HashChain.swift):
--
--   hash = SHA-256( prev_hash
--                   || field(global_position) || field(stream_id) || field(stream_version)
--                   || field(event_id) || field(event_type) || field(data) || field(metadata)
--                   || field(occurred_at) )
--   field(x) = 4-byte big-endian length of x's UTF-8 bytes || those bytes
--
-- (Both functions are STABLE, as their bodies are: to_char and convert_to are STABLE,
-- and PostgreSQL inlines a SQL function only when it is declared no stricter than its
-- body, which made appends about 3x cheaper.)
--
-- where numbers are in decimal, event_id is the lowercase hyphenated UUID,
-- data and metadata are the stored JSON text exactly, occurred_at is UTC as
-- 'YYYY-MM-DDTHH:MI:SS.ffffffZ', and prev_hash of position 1 is 32 zero bytes.
CREATE FUNCTION event_hash_field(value text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN int4send(octet_length(value)) || convert_to(value, 'UTF8');

CREATE FUNCTION event_hash(
    prev_hash bytea, global_position bigint, stream_id text, stream_version integer,
    event_id uuid, event_type text, data json, metadata json, occurred_at timestamptz
) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN sha256(
    prev_hash
    || event_hash_field(global_position::text)
    || event_hash_field(stream_id)
    || event_hash_field(stream_version::text)
    || event_hash_field(event_id::text)
    || event_hash_field(event_type)
    || event_hash_field(data::text)
    || event_hash_field(metadata::text)
    || event_hash_field(to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
);

-- append_events_batch(appends) appends to many streams in one call, in order; the
-- daemon appends a whole batch of commands' events this way.
--
-- appends: a JSON array of {stream_id, expected_version, events}, where
--   expected_version is 'any', 'no_stream', 'stream_exists', or the stream's current
--   version as a decimal ('0' means empty), checked against the version the stream has
--   after the appends before it in the same call;
--   events is a non-empty JSON array of {event_id, event_type, data, metadata?, occurred_at?};
--   data and metadata are kept as the exact JSON text given.
-- Returns one row per event, in order: event_id, global_position, stream_version.
--
-- Errors (SQLSTATE):
--   ES001 wrong expected version; the message names stream, expected and actual version.
--   ES002 idempotency conflict: some event ids are already stored, but not as exactly
--         these events at these versions of this stream.
--   22023 malformed arguments.
--
-- Idempotency: a single append whose event ids are all stored, in this stream, at
-- consecutive versions in the given order (and after the expected version when it is
-- exact), returns the original positions and appends nothing. In a call of several
-- appends, any stored event id is an ES002 error.
--
-- Concurrency: takes the transaction-level advisory lock 287000001 just before
-- reading the streams' versions and the log's head, so appends commit one at a
-- time, in position order: a reader that has seen position N has seen all below N.
-- The hash chain is computed event by event in memory; the rows go in with one INSERT.
CREATE FUNCTION append_events_batch(p_appends json)
RETURNS TABLE (event_id uuid, global_position bigint, stream_version integer)
LANGUAGE plpgsql
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
    v_now       timestamptz := clock_timestamp();
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

    -- Each append's fields are read once (MATERIALIZED): read per event row, they would
    -- re-parse the whole append's JSON for every event.
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
    v_n := cardinality(v_id);
    IF array_position(v_id, NULL) IS NOT NULL OR array_position(v_type, NULL) IS NOT NULL
       OR array_position(v_data, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'append_events: every event needs event_id, event_type and data' USING ERRCODE = '22023';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(v_id) AS x) <> v_n THEN
        RAISE EXCEPTION 'append_events: duplicate event_id in one append' USING ERRCODE = '22023';
    END IF;

    PERFORM pg_advisory_xact_lock(287000001);

    SELECT coalesce(jsonb_object_agg(s.stream_id, s.v), '{}'::jsonb) INTO v_versions
    FROM (SELECT e.stream_id, max(e.stream_version) AS v FROM events e
          WHERE e.stream_id = ANY (v_stream) GROUP BY e.stream_id) s;

    SELECT count(*), min(e.stream_version) INTO v_existing, v_first FROM events e WHERE e.event_id = ANY (v_id);
    IF v_existing > 0 THEN
        IF v_append[1] = v_append[v_n] AND v_existing = v_n
           AND NOT EXISTS (
               SELECT 1 FROM unnest(v_id) WITH ORDINALITY AS i(id, o)
               LEFT JOIN events e ON e.event_id = i.id
               WHERE e.stream_id IS DISTINCT FROM v_stream[1] OR e.stream_version <> v_first + i.o - 1)
           AND (v_expected[1] IN ('any', 'stream_exists')
                OR (v_expected[1] = 'no_stream' AND v_first = 1)
                OR (v_expected[1] ~ '^[0-9]+$' AND v_first = v_expected[1]::integer + 1))
        THEN
            RETURN QUERY
                SELECT e.event_id, e.global_position, e.stream_version
                FROM unnest(v_id) WITH ORDINALITY AS i(id, o) JOIN events e ON e.event_id = i.id
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
        v_recorded[i] := clock_timestamp();
    END LOOP;

    INSERT INTO events (global_position, stream_id, stream_version, event_id, event_type, data, metadata,
                        occurred_at, recorded_at, prev_hash, hash)
    SELECT * FROM unnest(v_position, v_stream, v_version, v_id, v_type, v_data, v_meta, v_occurred, v_recorded,
                         v_prev, v_hash);

    RETURN QUERY SELECT * FROM unnest(v_id, v_position, v_version);
END
$$;

-- append_events(stream, expected_version, events): append_events_batch for one stream.
-- Same arguments, results and errors as one element of append_events_batch; usable from psql:
--   SELECT * FROM append_events('agreement-x', 'no_stream',
--       '[{"event_id": "…", "event_type": "Happened", "data": {}}]');
CREATE FUNCTION append_events(p_stream_id text, p_expected_version text, p_events json)
RETURNS TABLE (event_id uuid, global_position bigint, stream_version integer)
LANGUAGE sql
AS $$
    SELECT * FROM append_events_batch(json_build_array(json_build_object(
        'stream_id', p_stream_id, 'expected_version', p_expected_version, 'events', p_events)))
$$;

-- Immutability: no UPDATE, DELETE or TRUNCATE, for any role, the owner included.
CREATE FUNCTION events_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the events table is append-only: % is not allowed', TG_OP USING ERRCODE = 'ES003';
END
$$;

CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable();

REVOKE ALL ON events FROM PUBLIC;
REVOKE ALL ON FUNCTION append_events(text, text, json) FROM PUBLIC;
REVOKE ALL ON FUNCTION append_events_batch(json) FROM PUBLIC;
