-- 0024: the database refuses a reused idempotency key (a known limit until now: the check
-- was the client library's, so a client calling submit_command itself got the first command
-- back, silently, for another command).
--
-- submit_command (0020's, the latest), unchanged up to the conflict of its INSERT: when the
-- login already used the key, the command it names is returned only when it is this command
-- (the same type; the payload equal as jsonb, key order and spacing aside; for
-- submit_termination_request, `request_id` aside, since `sbie request` generates one afresh on
-- a retry, as the client library's own comparison allows); otherwise it raises CQ007
-- `idempotency_key_reused`, naming the first command (message, and DETAIL `command_id=<uuid>`),
-- and nothing is queued. The new command's path (no conflict) does no more work than before.

-- commands.submitted_by holds a login: a PostgreSQL role name, compared byte for byte. It was
-- text in the database's default collation, while every login it is compared with
-- (acting_login(), session_user, a plpgsql `name`) is a `name`, of collation "C"; across the two
-- collations the comparison cannot use the first column of the unique (submitted_by,
-- idempotency_key) index, so each lookup of a login's command by key read the whole index (387
-- index blocks per submission at 20,000 commands). In "C", logins, text parameters and literals
-- all compare through the index. No view or policy reads the column; only its indexes are rebuilt.
ALTER TABLE commands ALTER COLUMN submitted_by TYPE text COLLATE "C";

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
    v_first_type text;
    v_first_payload json;
    v_same       boolean;
    v_first_submitted timestamptz;
    v_first_status text;
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
    -- The key was used before by this login: that command, as it stands now, when it is this
    -- command (same type, payload equal as jsonb; a termination request's `request_id` aside,
    -- which a client generates afresh on a retry); otherwise the key names another command and
    -- nothing is queued (CQ007). A row locked by a concurrent insert of the same key is waited
    -- for by ON CONFLICT, so the row read here is committed.
    SELECT c.command_id, c.command_type, c.payload, c.submitted_at, c.status
    INTO v_id, v_first_type, v_first_payload, v_first_submitted, v_first_status FROM commands c
    WHERE c.submitted_by = v_login AND c.idempotency_key = p_idempotency_key;
    -- (Computed before the IF: plpgsql ends an IF's condition at the first THEN, a CASE's too.)
    v_same := v_first_type = p_command_type
              AND CASE WHEN p_command_type = 'submit_termination_request'
                       THEN (v_first_payload::jsonb - 'request_id') = (p_payload::jsonb - 'request_id')
                       ELSE v_first_payload::jsonb = p_payload::jsonb END;
    IF v_same IS NOT TRUE THEN
        -- The message is the client library's (CommandQueue.submit), which passes it on.
        RAISE EXCEPTION 'idempotency_key_reused: idempotency key ''%'' was already used for command % (%, submitted %, %) with a different %; nothing new was submitted: use a new key to submit this command',
            pg_catalog.left(p_idempotency_key, 200), v_id, v_first_type,
            pg_catalog.to_char(v_first_submitted AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), v_first_status,
            CASE WHEN v_first_type IS DISTINCT FROM p_command_type THEN 'command type' ELSE 'payload' END
            USING ERRCODE = 'CQ007', DETAIL = 'command_id=' || v_id::text;
    END IF;
    RETURN QUERY SELECT c.command_id, c.status, c.error_code, c.error_message, c.outcome
                 FROM commands c WHERE c.command_id = v_id;
END
$$;

ALTER FUNCTION submit_command(text, json, text, timestamptz) OWNER TO workflow_owner;
