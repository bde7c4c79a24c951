-- 0006: what reaches the queue is checked in the database (issue 10, item 7).
--
-- * `available_at` (when a command becomes due) is the daemon's to set: its timers
--   and its retry backoff. Through `submit_command` only the daemon and the owner may
--   give it (CQ004 for anyone else), and then only inside the sane range (CQ005).
--   A CHECK on `commands` holds every writer, the daemon's direct inserts included,
--   to the same range, so no row can make the daemon's queries fail (`infinity`
--   overflowed `min(available_at) - clock_timestamp()`) or never become due.
-- * A payload may not repeat a key at any depth (CQ002): `json` keeps both values,
--   PostgreSQL's `->>` reads the last and another reader may take the first, so a
--   check made on one value could be applied to the other (`votes` with "governor"
--   twice). The check is one pass (json_has_repeated_key); only a refused payload is
--   walked, to name the key. Nesting itself is not limited here (PostgreSQL's own
--   stack limit refuses extreme depth, 54001); the daemon's parser rejects payloads
--   nested deeper than 32 levels (`malformed_payload`).
--
-- The sane range for timestamps is 1900-01-01 00:00 UTC (inclusive) to 2200-01-01
-- 00:00 UTC (exclusive), the same as `occurred_at` in `append_events` and the dates
-- `DomainCommand.parse` accepts in payloads (1900-01-01 ... 2199-12-31, `invalid_date`
-- otherwise).

-- json_has_repeated_key(value): whether any object in `value`, at any depth, repeats
-- a key. One pass, no recursion: in valid JSON text every key is followed by the only
-- `:` outside string literals, so the number of keys is the number of such colons;
-- `jsonb` keeps one value per key, so the counts differ exactly when a key repeats.
-- Cost: one json -> jsonb conversion and two regular-expression passes (a 64 KiB
-- payload: a few milliseconds; the daemon's payloads: microseconds).
-- Errors: 22P05 (untranslatable_character) when a string holds \u0000.
CREATE FUNCTION json_has_repeated_key(p_value json) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT pg_catalog.length(k.with_repeats) - pg_catalog.length(pg_catalog.replace(k.with_repeats, ':', ''))
        <> pg_catalog.length(k.without) - pg_catalog.length(pg_catalog.replace(k.without, ':', ''))
    FROM (SELECT pg_catalog.regexp_replace(p_value::text, '"(?:[^"\\]|\\.)*"', '', 'g') AS with_repeats,
                 pg_catalog.regexp_replace(p_value::jsonb::text, '"(?:[^"\\]|\\.)*"', '', 'g') AS without) AS k
$$;

-- json_repeated_key(value): the path of a repeated key in `value` (e.g. `votes.governor`,
-- `sources[2].url`), for the message; NULL when none is found within 32 levels of
-- objects and arrays (the top level is 1). Called only once json_has_repeated_key
-- said yes. Walks containers only (scalars are never expanded), level by level; the
-- depth bound keeps the cost at most 32 passes over the payload.
-- Errors: 22P05 (untranslatable_character) when a key holds \u0000.
CREATE FUNCTION json_repeated_key(p_value json) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH RECURSIVE node(value, path, depth) AS (
        SELECT p_value, ''::text, 1
      UNION ALL
        SELECT child.value, child.path, n.depth + 1
        FROM node n
        CROSS JOIN LATERAL (
            SELECT e.value, CASE WHEN n.path = '' THEN e.key ELSE n.path || '.' || e.key END AS path
            FROM pg_catalog.json_each(CASE WHEN pg_catalog.json_typeof(n.value) = 'object' THEN n.value END) AS e
            WHERE pg_catalog.json_typeof(e.value) IN ('object', 'array')
          UNION ALL
            SELECT a.value, n.path || '[' || (a.ordinality - 1) || ']'
            FROM pg_catalog.json_array_elements(CASE WHEN pg_catalog.json_typeof(n.value) = 'array' THEN n.value END)
                 WITH ORDINALITY AS a(value, ordinality)
            WHERE pg_catalog.json_typeof(a.value) IN ('object', 'array')
        ) AS child
        WHERE n.depth < 32
    )
    SELECT CASE WHEN d.path = '' THEN d.key ELSE d.path || '.' || d.key END
    FROM (SELECT m.path, k.key
          FROM node m
          CROSS JOIN LATERAL pg_catalog.json_object_keys(
              CASE WHEN pg_catalog.json_typeof(m.value) = 'object' THEN m.value END) AS k(key)
          GROUP BY m.path, k.key
          HAVING count(*) > 1
          ORDER BY m.path, k.key
          LIMIT 1) AS d
$$;

-- submit_command(type, payload, idempotency_key[, available_at]): enqueue a command
-- as the session's login, which must be allowed to submit that type:
--   superusers and workflow_owner members: any type (unknown ones are queued and
--     rejected by the daemon with unknown_command_type);
--   agency_clerk: agency commands, for its own agency only;
--   board_staff: board commands; registrar: register commands; workflow_daemon: system commands.
-- available_at (when the command becomes due; NULL: now) may be given only by
-- superusers, workflow_owner and workflow_daemon members, within the sane range.
-- Returns the command's id, its status and, when already decided, its outcome. A
-- second call with the same idempotency key by the same login returns the first
-- command unchanged (whatever the new payload), and enqueues nothing.
-- Errors: CQ001 payload too large (over 64 KiB); CQ002 payload not a JSON object, a
-- repeated key at any depth, or a \u0000 escape; CQ003 agency_id is not the clerk's agency; CQ004 available_at given by
-- a login that may not set it; CQ005 available_at outside 1900-01-01 .. 2200-01-01 UTC
-- (infinity included); 42501 this login may not submit this type (or is a clerk mapped
-- to no agency); 22023 missing or over-long type or key.
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
BEGIN
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
    SELECT r.rolsuper INTO v_super FROM pg_catalog.pg_roles r WHERE r.rolname = session_user;
    v_privileged := coalesce(v_super, false) OR pg_catalog.pg_has_role(session_user, 'workflow_owner', 'MEMBER');

    -- Only the daemon's timers (and the owner) schedule: a submitter who could pick
    -- its own due time could jump the queue (1970) or park a command forever.
    IF p_available_at IS NOT NULL THEN
        IF NOT (v_privileged OR pg_catalog.pg_has_role(session_user, 'workflow_daemon', 'MEMBER')) THEN
            RAISE EXCEPTION 'available_at_not_allowed: login % may not set available_at; only the daemon''s timers and the owner schedule commands',
                session_user USING ERRCODE = 'CQ004';
        END IF;
        IF NOT (p_available_at >= '1900-01-01 00:00:00+00'::timestamptz
                AND p_available_at < '2200-01-01 00:00:00+00'::timestamptz) THEN
            RAISE EXCEPTION 'timestamp_out_of_range: available_at % is outside 1900-01-01 .. 2200-01-01 UTC', p_available_at
                USING ERRCODE = 'CQ005';
        END IF;
    END IF;

    IF v_privileged THEN
        NULL;  -- the owner may submit anything
    ELSIF v_kind = 'agency' AND pg_catalog.pg_has_role(session_user, 'agency_clerk', 'MEMBER') THEN
        v_mapped := current_agency_id();
        IF v_mapped IS NULL THEN
            RAISE EXCEPTION 'permission_denied: login % is an agency clerk but is mapped to no agency (agency_logins)',
                session_user USING ERRCODE = '42501';
        END IF;
        IF v_agency IS NULL THEN
            -- Missing or not a string: queued under the clerk's agency; the daemon rejects it naming the field.
            v_agency := v_mapped;
        ELSIF v_agency <> v_mapped THEN
            RAISE EXCEPTION 'agency_mismatch: login % files for agency %, not %', session_user, v_mapped,
                pg_catalog.left(v_agency, 200)
                USING ERRCODE = 'CQ003';
        END IF;
    ELSIF (v_kind = 'board' AND pg_catalog.pg_has_role(session_user, 'board_staff', 'MEMBER'))
       OR (v_kind = 'register' AND pg_catalog.pg_has_role(session_user, 'registrar', 'MEMBER'))
       OR (v_kind = 'system' AND pg_catalog.pg_has_role(session_user, 'workflow_daemon', 'MEMBER')) THEN
        NULL;
    ELSE
        RAISE EXCEPTION 'permission_denied: login % may not submit % commands (%)', session_user,
            coalesce(v_kind, 'unknown'), pg_catalog.left(p_command_type, 100)
            USING ERRCODE = '42501';
    END IF;

    INSERT INTO commands AS c (idempotency_key, command_type, payload, agency_id, available_at)
    VALUES (p_idempotency_key, p_command_type, p_payload, v_agency,
            coalesce(p_available_at, pg_catalog.clock_timestamp()))
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

-- Rows queued before this migration with an absurd due time would never be decided
-- (infinity, year 10000) or broke the daemon's idle query: they are rejected, with a
-- stable code and the reason, before the CHECK below holds every later write.
UPDATE commands
SET status = 'rejected', error_code = 'timestamp_out_of_range',
    error_message = 'available_at ' || available_at::text
        || ' is outside 1900-01-01 .. 2200-01-01 UTC (refused when migration 0006 was applied)',
    processed_at = pg_catalog.clock_timestamp()
WHERE status = 'pending'
  AND NOT (available_at >= '1900-01-01 00:00:00+00'::timestamptz AND available_at < '2200-01-01 00:00:00+00'::timestamptz);

-- NOT VALID: decided rows of the past keep their recorded due time untouched; every
-- insert and update from now on is checked (SQLSTATE 23514 for a direct writer).
ALTER TABLE commands ADD CONSTRAINT commands_available_at_sane
    CHECK (available_at >= '1900-01-01 00:00:00+00'::timestamptz AND available_at < '2200-01-01 00:00:00+00'::timestamptz)
    NOT VALID;

ALTER FUNCTION json_has_repeated_key(json) OWNER TO workflow_owner;
ALTER FUNCTION json_repeated_key(json) OWNER TO workflow_owner;
ALTER FUNCTION submit_command(text, json, text, timestamptz) OWNER TO workflow_owner;
REVOKE ALL ON FUNCTION json_has_repeated_key(json) FROM PUBLIC;
REVOKE ALL ON FUNCTION json_repeated_key(json) FROM PUBLIC;
REVOKE ALL ON FUNCTION submit_command(text, json, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION json_has_repeated_key(json), json_repeated_key(json)
    TO workflow_daemon, agency_clerk, board_staff, registrar, auditor;
GRANT EXECUTE ON FUNCTION submit_command(text, json, text, timestamptz)
    TO workflow_daemon, agency_clerk, board_staff, registrar;
