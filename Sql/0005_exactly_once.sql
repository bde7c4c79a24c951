-- Exactly once, fenced (issue 10 items 1, 2, 3, 5, 6, 7 (occurred_at), 9; issue 11 items 1 and 4).
--
-- 1. The writer's lock is a row lock on writer_lock, a one-row table that no login may
--    read, lock or change directly: only the SECURITY DEFINER functions below (owned by
--    workflow_owner, executable by workflow_daemon) take it. A pg_advisory_lock on any
--    key, which every login may take, no longer stalls the daemon.
-- 2. The daemon's login has no INSERT or UPDATE on commands any more. It claims,
--    records outcomes, enqueues timers and records failures through functions, each
--    fenced: it takes (or re-takes, free within one transaction) the writer's lock and
--    changes a command only while it is still pending at the attempt count the caller
--    claimed it at, so a stale write changes nothing and says so.
-- 3. A command is due at the later of its available_at and its submission (submitted_at),
--    and due commands are decided by (that due time, seq). A command waiting for a retry
--    after a failure (retry_at) blocks the commands after it: backoff delays the queue, it
--    never reorders it. So a timer (enqueued by the daemon, available_at = its legal due
--    date) is ordered at the later of its due date and the moment it was scheduled, and no
--    available_at in the past jumps the queue.
-- 4. Every failed attempt is kept in command_attempts; `sbie retry` erases none of it.
-- 5. append_events checks occurred_at (ES004) and takes the writer's lock.
--
-- SQLSTATEs added: ES004 occurred_at outside 1900-01-01 .. 2200-01-01 (or not a timestamp);
-- CQ010 stale claim: an outcome for a command that is no longer pending (nothing written).

-- The writer's lock: one row, locked FOR UPDATE by the one transaction that may append.
CREATE TABLE writer_lock (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    note text    NOT NULL
);
INSERT INTO writer_lock (id, note)
VALUES (true, 'the event log''s writer lock: taken with SELECT ... FOR UPDATE by writer_lock_acquire()');
COMMENT ON TABLE writer_lock IS 'One row; the event log''s single-writer lock (row lock). No login has any privilege on it.';
ALTER TABLE writer_lock OWNER TO workflow_owner;
REVOKE ALL ON writer_lock FROM PUBLIC;

-- Backoff after a failure: not retried before this instant. available_at (the order) is
-- never moved by a failure.
ALTER TABLE commands ADD COLUMN retry_at timestamptz;
COMMENT ON COLUMN commands.retry_at IS
    'After a failed attempt: not retried before this instant; blocks the commands ordered after it.';
COMMENT ON COLUMN commands.available_at IS
    'Not decided before this instant; pending commands are decided by (greatest(available_at, submitted_at), seq).';
CREATE INDEX commands_order_idx ON commands ((greatest(available_at, submitted_at)), seq) WHERE status = 'pending';

-- Every failed attempt, never updated or deleted by the application.
CREATE TABLE command_attempts (
    command_id    uuid        NOT NULL REFERENCES commands (command_id),
    -- 1, 2, 3 ... over the command's whole life (a retried command continues the count).
    attempt       integer     NOT NULL CHECK (attempt >= 1),
    failed_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    error_code    text        NOT NULL CHECK (length(error_code) BETWEEN 1 AND 100),
    error_message text        NOT NULL CHECK (length(error_message) <= 4000),
    -- The daemon that failed: its login, host and process id.
    daemon_id     text        NOT NULL CHECK (length(daemon_id) BETWEEN 1 AND 300),
    -- Whether this attempt moved the command to failed (dead letter).
    dead_letter   boolean     NOT NULL,
    PRIMARY KEY (command_id, attempt)
);
COMMENT ON TABLE command_attempts IS 'Every failed attempt at deciding a command (attempt, time, code, message, daemon).';
ALTER TABLE command_attempts OWNER TO workflow_owner;
REVOKE ALL ON command_attempts FROM PUBLIC;
GRANT SELECT ON command_attempts TO workflow_daemon, agency_clerk, board_staff, registrar, auditor;
ALTER TABLE command_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY command_attempts_readers ON command_attempts FOR SELECT
    TO workflow_daemon, board_staff, registrar, auditor USING (true);
-- A clerk sees the attempts of the commands it may see (the commands policy applies in the subquery).
CREATE POLICY command_attempts_clerk ON command_attempts FOR SELECT TO agency_clerk
    USING (EXISTS (SELECT 1 FROM commands c WHERE c.command_id = command_attempts.command_id));

-- writer_lock_acquire(p_position): takes the writer's lock (waits at most the session's
-- lock_timeout, then 55P03) and returns the log's head position and the hash of the
-- event at p_position (NULL when there is none: the log was rewound or replaced).
-- One indexed row each: the caller proves its in-memory state current with them.
CREATE FUNCTION writer_lock_acquire(p_position bigint)
RETURNS TABLE (head_position bigint, known_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM writer_lock FOR UPDATE;
    RETURN QUERY
        SELECT coalesce((SELECT e.global_position FROM events e ORDER BY e.global_position DESC LIMIT 1), 0),
               (SELECT e.hash FROM events e WHERE e.global_position = p_position);
END
$$;

-- claim_commands(p_limit): under the writer's lock, locks and returns the next commands
-- to decide, at most p_limit, in decision order: pending commands due by now, by
-- (greatest(available_at, submitted_at), seq), up to (not including) the first one whose retry_at is still
-- in the future. attempts is the claim's fence: pass it back to record_command_failure.
CREATE FUNCTION claim_commands(p_limit integer)
RETURNS TABLE (command_id uuid, command_type text, payload text, submitted_by text, submitted_at timestamptz,
               attempts integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_now timestamptz := pg_catalog.clock_timestamp();
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 THEN
        RAISE EXCEPTION 'claim_commands: the limit must be 1 .. 10000, not %', p_limit USING ERRCODE = '22023';
    END IF;
    PERFORM 1 FROM writer_lock FOR UPDATE;
    RETURN QUERY
        WITH due AS (
            SELECT c.command_id, c.due, c.seq,
                   bool_or(coalesce(c.retry_at > v_now, false)) OVER (ORDER BY c.due, c.seq) AS blocked
            FROM (SELECT c0.command_id, greatest(c0.available_at, c0.submitted_at) AS due, c0.seq, c0.retry_at
                  FROM commands c0
                  WHERE c0.status = 'pending' AND greatest(c0.available_at, c0.submitted_at) <= v_now
                  ORDER BY greatest(c0.available_at, c0.submitted_at), c0.seq LIMIT p_limit) c
        )
        SELECT c.command_id, c.command_type, c.payload::text, c.submitted_by, c.submitted_at, c.attempts
        FROM commands c JOIN due d ON d.command_id = c.command_id
        WHERE NOT d.blocked AND c.status = 'pending'
        ORDER BY d.due, d.seq
        FOR UPDATE OF c;
END
$$;

-- record_outcomes(p_outcomes): a JSON array of {command_id, status ('accepted' or
-- 'rejected'), error_code, error_message, outcome, event_positions}. Under the writer's
-- lock, records each outcome on a command that is still pending; if any is not (a stale
-- claim), raises CQ010 and nothing of the caller's transaction can commit.
-- Returns the number of commands recorded.
CREATE FUNCTION record_outcomes(p_outcomes json)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_expected integer;
    v_done     integer;
BEGIN
    IF p_outcomes IS NULL OR pg_catalog.json_typeof(p_outcomes) <> 'array' THEN
        RAISE EXCEPTION 'record_outcomes: outcomes must be a JSON array' USING ERRCODE = '22023';
    END IF;
    v_expected := pg_catalog.json_array_length(p_outcomes);
    IF v_expected = 0 THEN
        RETURN 0;
    END IF;
    PERFORM 1 FROM writer_lock FOR UPDATE;
    UPDATE commands c SET status = u.status, error_code = u.error_code, error_message = u.error_message,
        outcome = u.outcome, event_positions = coalesce(u.event_positions, '{}'), retry_at = NULL,
        processed_at = pg_catalog.clock_timestamp()
    FROM pg_catalog.json_to_recordset(p_outcomes) AS u(command_id uuid, status text, error_code text,
                                                        error_message text, outcome json, event_positions bigint[])
    WHERE c.command_id = u.command_id AND c.status = 'pending' AND u.status IN ('accepted', 'rejected');
    GET DIAGNOSTICS v_done = ROW_COUNT;
    IF v_done <> v_expected THEN
        RAISE EXCEPTION 'stale claim: % of % outcomes are for commands that are no longer pending; nothing recorded',
            v_expected - v_done, v_expected USING ERRCODE = 'CQ010';
    END IF;
    RETURN v_done;
END
$$;

-- enqueue_timers(p_timers): a JSON array of {idempotency_key, command_type, payload,
-- agency_id, available_at}; the daemon's durable timers. Under the writer's lock; only
-- system command types (command_actor_kind = 'system'), submitted by the session's login
-- now, so a timer is ordered at the later of its due time and now (it never jumps the
-- queue). A key already used by this login enqueues nothing. Returns how many were enqueued.
CREATE FUNCTION enqueue_timers(p_timers json)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_done integer;
BEGIN
    IF p_timers IS NULL OR pg_catalog.json_typeof(p_timers) <> 'array' THEN
        RAISE EXCEPTION 'enqueue_timers: timers must be a JSON array' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.json_to_recordset(p_timers) AS t(command_type text, payload json)
               WHERE command_actor_kind(t.command_type) IS DISTINCT FROM 'system'
                  OR pg_catalog.json_typeof(t.payload) IS DISTINCT FROM 'object') THEN
        RAISE EXCEPTION 'enqueue_timers: only system commands with an object payload may be enqueued as timers'
            USING ERRCODE = '42501';
    END IF;
    PERFORM 1 FROM writer_lock FOR UPDATE;
    INSERT INTO commands (submitted_by, idempotency_key, command_type, payload, agency_id, available_at)
    SELECT session_user, t.idempotency_key, t.command_type, t.payload, t.agency_id, t.available_at
    FROM pg_catalog.json_to_recordset(p_timers) AS t(idempotency_key text, command_type text, payload json,
                                                     agency_id text, available_at timestamptz)
    ON CONFLICT (submitted_by, idempotency_key) DO NOTHING;
    GET DIAGNOSTICS v_done = ROW_COUNT;
    RETURN v_done;
END
$$;

-- record_command_failure(command, claimed_attempts, code, message, daemon_id, max_attempts):
-- records one failed attempt, fenced: only when the command is still pending with the
-- attempt count it was claimed at (otherwise another daemon has decided or failed it
-- since, and nothing changes: applied = false). Backoff: retry_at = now + 2^attempts s
-- (at most 60 s); after max_attempts failures the command is failed (dead letter).
-- Keeps the attempt in command_attempts. Takes the writer's lock.
CREATE FUNCTION record_command_failure(
    p_command_id uuid, p_claimed_attempts integer, p_error_code text, p_error_message text, p_daemon_id text,
    p_max_attempts integer
) RETURNS TABLE (applied boolean, attempts integer, dead_letter boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_attempts integer;
    v_dead     boolean;
    v_now      timestamptz;
BEGIN
    IF p_command_id IS NULL OR p_claimed_attempts IS NULL OR p_max_attempts IS NULL OR p_max_attempts < 1 THEN
        RAISE EXCEPTION 'record_command_failure: command, claimed attempts and max attempts are required'
            USING ERRCODE = '22023';
    END IF;
    PERFORM 1 FROM writer_lock FOR UPDATE;
    v_now := pg_catalog.clock_timestamp();
    UPDATE commands c SET attempts = c.attempts + 1, error_code = left(coalesce(p_error_code, 'internal_error'), 100),
        error_message = left(coalesce(p_error_message, ''), 2000),
        status = CASE WHEN c.attempts + 1 >= p_max_attempts THEN 'failed' ELSE 'pending' END,
        processed_at = CASE WHEN c.attempts + 1 >= p_max_attempts THEN v_now END,
        retry_at = CASE WHEN c.attempts + 1 < p_max_attempts
                        THEN v_now + pg_catalog.make_interval(secs => least(pg_catalog.power(2, c.attempts), 60)) END
    WHERE c.command_id = p_command_id AND c.status = 'pending' AND c.attempts = p_claimed_attempts
    RETURNING c.attempts, c.status = 'failed' INTO v_attempts, v_dead;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, c.attempts, c.status = 'failed' FROM commands c WHERE c.command_id = p_command_id;
        RETURN;
    END IF;
    INSERT INTO command_attempts (command_id, attempt, failed_at, error_code, error_message, daemon_id, dead_letter)
    SELECT p_command_id, coalesce(max(a.attempt), 0) + 1, v_now, left(coalesce(p_error_code, 'internal_error'), 100),
           left(coalesce(p_error_message, ''), 4000),
           left(session_user || coalesce('/' || nullif(p_daemon_id, ''), ''), 300), v_dead
    FROM command_attempts a WHERE a.command_id = p_command_id;
    RETURN QUERY SELECT true, v_attempts, v_dead;
END
$$;

-- append_events_batch, redefined: the writer's lock instead of advisory lock 287000001, and
-- occurred_at checked (ES004). Arguments, results and the other errors as in 0001.
-- Event types: any name the events table's CHECK accepts is appended, also one this release
-- does not know (a newer release may write it during a rolling upgrade); readers that cannot
-- read an event stop at it and say so (see docs/architecture.md).
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
        v_recorded[i] := pg_catalog.clock_timestamp();
    END LOOP;

    INSERT INTO events (global_position, stream_id, stream_version, event_id, event_type, data, metadata,
                        occurred_at, recorded_at, prev_hash, hash)
    SELECT * FROM unnest(v_position, v_stream, v_version, v_id, v_type, v_data, v_meta, v_occurred, v_recorded,
                         v_prev, v_hash);

    RETURN QUERY SELECT * FROM unnest(v_id, v_position, v_version);
END
$$;

ALTER FUNCTION append_events(text, text, json) SET search_path = pg_catalog, public, pg_temp;

-- Ownership and the least privilege each role needs.
ALTER FUNCTION writer_lock_acquire(bigint) OWNER TO workflow_owner;
ALTER FUNCTION claim_commands(integer) OWNER TO workflow_owner;
ALTER FUNCTION record_outcomes(json) OWNER TO workflow_owner;
ALTER FUNCTION enqueue_timers(json) OWNER TO workflow_owner;
ALTER FUNCTION record_command_failure(uuid, integer, text, text, text, integer) OWNER TO workflow_owner;
REVOKE ALL ON FUNCTION writer_lock_acquire(bigint), claim_commands(integer), record_outcomes(json),
    enqueue_timers(json), record_command_failure(uuid, integer, text, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION writer_lock_acquire(bigint), claim_commands(integer), record_outcomes(json),
    enqueue_timers(json), record_command_failure(uuid, integer, text, text, text, integer) TO workflow_daemon;

-- Issue 11 item 4: the daemon reads commands and changes them only through the functions above.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON commands FROM workflow_daemon;
