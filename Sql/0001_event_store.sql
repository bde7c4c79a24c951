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
-- where numbers are in decimal, event_id is the lowercase hyphenated UUID,
-- data and metadata are the stored JSON text exactly, occurred_at is UTC as
-- 'YYYY-MM-DDTHH:MI:SS.ffffffZ', and prev_hash of position 1 is 32 zero bytes.
CREATE FUNCTION event_hash_field(value text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN int4send(octet_length(value)) || convert_to(value, 'UTF8');

CREATE FUNCTION event_hash(
    prev_hash bytea, global_position bigint, stream_id text, stream_version integer,
    event_id uuid, event_type text, data json, metadata json, occurred_at timestamptz
) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
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

-- append_events(stream, expected_version, events) appends events to one stream.
--
-- expected_version: 'any', 'no_stream', 'stream_exists', or the stream's current
--   version as a decimal ('0' means empty).
-- events: a JSON array of objects {event_id, event_type, data, metadata?, occurred_at?};
--   data and metadata are kept as the exact JSON text given.
-- Returns one row per event: event_id, global_position, stream_version.
--
-- Errors (SQLSTATE):
--   ES001 wrong expected version; the message names stream, expected and actual version.
--   ES002 idempotency conflict: some event ids are already stored, but not as exactly
--         these events at these versions of this stream.
--   22023 malformed arguments.
--
-- Idempotency: re-appending events whose ids are all stored, in this stream, at
-- consecutive versions in the given order (and after the expected version when it is
-- exact), returns the original positions and appends nothing.
--
-- Concurrency: takes the transaction-level advisory lock 287000001 just before
-- reading the stream's version and the log's head, so appends commit one at a
-- time, in position order: a reader that has seen position N has seen all below N.
CREATE FUNCTION append_events(p_stream_id text, p_expected_version text, p_events json)
RETURNS TABLE (event_id uuid, global_position bigint, stream_version integer)
LANGUAGE plpgsql
AS $$
DECLARE
    v_count     integer;
    v_ids       uuid[];
    v_current   integer;
    v_existing  integer;
    v_first     integer;
    v_position  bigint;
    v_prev      bytea;
    v_hash      bytea;
    v_event     json;
    v_ordinal   bigint;
    v_id        uuid;
    v_type      text;
    v_data      json;
    v_meta      json;
    v_occurred  timestamptz;
BEGIN
    IF p_stream_id IS NULL OR p_expected_version IS NULL OR p_events IS NULL THEN
        RAISE EXCEPTION 'append_events: stream, expected version and events are required' USING ERRCODE = '22023';
    END IF;
    IF json_typeof(p_events) <> 'array' OR json_array_length(p_events) = 0 THEN
        RAISE EXCEPTION 'append_events: events must be a non-empty JSON array' USING ERRCODE = '22023';
    END IF;
    IF p_expected_version NOT IN ('any', 'no_stream', 'stream_exists') AND p_expected_version !~ '^[0-9]{1,9}$' THEN
        RAISE EXCEPTION 'append_events: expected version must be any, no_stream, stream_exists or a number, not %',
            p_expected_version USING ERRCODE = '22023';
    END IF;
    v_count := json_array_length(p_events);
    SELECT array_agg((e ->> 'event_id')::uuid ORDER BY o) INTO v_ids
    FROM json_array_elements(p_events) WITH ORDINALITY AS t(e, o);
    IF array_position(v_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'append_events: every event needs an event_id' USING ERRCODE = '22023';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(v_ids) AS x) <> v_count THEN
        RAISE EXCEPTION 'append_events: duplicate event_id in one append' USING ERRCODE = '22023';
    END IF;

    PERFORM pg_advisory_xact_lock(287000001);

    SELECT coalesce(max(e.stream_version), 0) INTO v_current FROM events e WHERE e.stream_id = p_stream_id;

    SELECT count(*), min(e.stream_version) INTO v_existing, v_first FROM events e WHERE e.event_id = ANY (v_ids);
    IF v_existing > 0 THEN
        IF v_existing = v_count
           AND NOT EXISTS (
               SELECT 1 FROM unnest(v_ids) WITH ORDINALITY AS i(id, o)
               LEFT JOIN events e ON e.event_id = i.id
               WHERE e.stream_id IS DISTINCT FROM p_stream_id OR e.stream_version <> v_first + i.o - 1)
           AND (p_expected_version IN ('any', 'stream_exists')
                OR (p_expected_version = 'no_stream' AND v_first = 1)
                OR (p_expected_version ~ '^[0-9]+$' AND v_first = p_expected_version::integer + 1))
        THEN
            RETURN QUERY
                SELECT e.event_id, e.global_position, e.stream_version
                FROM unnest(v_ids) WITH ORDINALITY AS i(id, o) JOIN events e ON e.event_id = i.id
                ORDER BY i.o;
            RETURN;
        END IF;
        RAISE EXCEPTION 'idempotency conflict on stream %: % of % event ids are already stored, not as exactly this append',
            p_stream_id, v_existing, v_count
            USING ERRCODE = 'ES002', DETAIL = format('stream=%s', p_stream_id);
    END IF;

    IF (p_expected_version = 'no_stream' AND v_current <> 0)
       OR (p_expected_version = 'stream_exists' AND v_current = 0)
       OR (p_expected_version ~ '^[0-9]+$' AND v_current <> p_expected_version::integer) THEN
        RAISE EXCEPTION 'wrong expected version for stream %: expected %, actual %',
            p_stream_id, p_expected_version, v_current
            USING ERRCODE = 'ES001',
                  DETAIL = format('stream=%s expected=%s actual=%s', p_stream_id, p_expected_version, v_current);
    END IF;

    SELECT e.global_position, e.hash INTO v_position, v_prev FROM events e ORDER BY e.global_position DESC LIMIT 1;
    v_position := coalesce(v_position, 0);
    v_prev := coalesce(v_prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);

    FOR v_event, v_ordinal IN SELECT e, o FROM json_array_elements(p_events) WITH ORDINALITY AS t(e, o) LOOP
        v_position := v_position + 1;
        v_id := v_ids[v_ordinal];
        v_type := v_event ->> 'event_type';
        v_data := v_event -> 'data';
        v_meta := coalesce(v_event -> 'metadata', '{}'::json);
        v_occurred := coalesce((v_event ->> 'occurred_at')::timestamptz, clock_timestamp());
        IF v_type IS NULL OR v_data IS NULL THEN
            RAISE EXCEPTION 'append_events: every event needs event_type and data' USING ERRCODE = '22023';
        END IF;
        v_hash := event_hash(v_prev, v_position, p_stream_id, v_current + v_ordinal::integer, v_id, v_type,
                             v_data, v_meta, v_occurred);
        INSERT INTO events (global_position, stream_id, stream_version, event_id, event_type, data, metadata,
                            occurred_at, recorded_at, prev_hash, hash)
        VALUES (v_position, p_stream_id, v_current + v_ordinal::integer, v_id, v_type, v_data, v_meta,
                v_occurred, clock_timestamp(), v_prev, v_hash);
        event_id := v_id;
        global_position := v_position;
        stream_version := v_current + v_ordinal::integer;
        RETURN NEXT;
        v_prev := v_hash;
    END LOOP;
END
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
