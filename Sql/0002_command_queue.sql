-- The command queue: requests to change state, submitted by actors, decided by the daemon.

CREATE TABLE commands (
    command_id      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Submission order (ties in available_at are processed in this order).
    seq             bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    -- The database login that submitted it: taken from the session, never from the payload.
    submitted_by    text        NOT NULL DEFAULT session_user,
    -- Unique per submitter: resubmitting returns the first command, never a second effect.
    idempotency_key text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    command_type    text        NOT NULL CHECK (length(command_type) BETWEEN 1 AND 100),
    payload         json        NOT NULL,
    -- payload ->> 'agency_id' at submission, for row-level security.
    agency_id       text,
    submitted_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Not processed before this instant (durable timers, retry backoff).
    available_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'accepted', 'rejected', 'failed')),
    -- Unexpected failures so far (rejections are not failures).
    attempts        integer     NOT NULL DEFAULT 0,
    -- What it did: for accepted commands the events (type, stream, position) and a summary.
    outcome         json,
    -- Rejections: a stable snake_case code and a message citing the rule's source.
    -- Failures: 'internal_error' and the last error.
    error_code      text,
    error_message   text,
    processed_at    timestamptz,
    -- Global positions of the events it appended (empty when it appended none).
    event_positions bigint[]    NOT NULL DEFAULT '{}',
    UNIQUE (submitted_by, idempotency_key)
);

CREATE INDEX commands_due_idx ON commands (available_at, seq) WHERE status = 'pending';
CREATE INDEX commands_agency_idx ON commands (agency_id, seq);

-- Daemons that are idle and waiting for a NOTIFY. Submissions notify only while
-- some daemon sleeps here, so a busy queue does not pay a NOTIFY (which serialises
-- commits) per submission, and an idle daemon still wakes within milliseconds.
CREATE UNLOGGED TABLE queue_sleepers (
    backend_pid integer PRIMARY KEY,
    since       timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE FUNCTION commands_wake_daemon() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM queue_sleepers) THEN
        PERFORM pg_notify('sbie_commands', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER commands_wake_daemon AFTER INSERT ON commands
    FOR EACH STATEMENT EXECUTE FUNCTION commands_wake_daemon();

-- submit_command(type, payload, idempotency_key[, available_at]): enqueue a command.
--
-- Returns the command's id, its status and, when already decided, its outcome. A
-- second call with the same idempotency key by the same login returns the first
-- command unchanged (whatever the new payload), and enqueues nothing.
-- Errors: CQ001 payload too large (over 64 KiB); CQ002 payload not a JSON object;
-- 22023 missing type or key.
CREATE FUNCTION submit_command(
    p_command_type text, p_payload json, p_idempotency_key text, p_available_at timestamptz DEFAULT NULL
) RETURNS TABLE (command_id uuid, status text, error_code text, error_message text, outcome json)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    v_id uuid;
BEGIN
    IF p_command_type IS NULL OR p_idempotency_key IS NULL OR p_payload IS NULL THEN
        RAISE EXCEPTION 'submit_command: command type, payload and idempotency key are required'
            USING ERRCODE = '22023';
    END IF;
    IF octet_length(p_payload::text) > 65536 THEN
        RAISE EXCEPTION 'payload_too_large: the payload is % bytes, the limit is 65536', octet_length(p_payload::text)
            USING ERRCODE = 'CQ001';
    END IF;
    IF json_typeof(p_payload) <> 'object' THEN
        RAISE EXCEPTION 'malformed_payload: the payload must be a JSON object, not %', json_typeof(p_payload)
            USING ERRCODE = 'CQ002';
    END IF;
    INSERT INTO commands AS c (idempotency_key, command_type, payload, agency_id, available_at)
    VALUES (p_idempotency_key, p_command_type, p_payload,
            CASE WHEN json_typeof(p_payload -> 'agency_id') = 'string' THEN p_payload ->> 'agency_id' END,
            coalesce(p_available_at, clock_timestamp()))
    ON CONFLICT (submitted_by, idempotency_key) DO NOTHING
    RETURNING c.command_id INTO v_id;
    IF v_id IS NULL THEN
        SELECT c.command_id INTO v_id FROM commands c
        WHERE c.submitted_by = session_user AND c.idempotency_key = p_idempotency_key;
    END IF;
    RETURN QUERY SELECT c.command_id, c.status, c.error_code, c.error_message, c.outcome
                 FROM commands c WHERE c.command_id = v_id;
END
$$;
