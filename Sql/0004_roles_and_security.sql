-- Roles, privileges and row-level security (issue 7; DESIGN.md, Security).
--
-- Group roles (NOLOGIN; people and programs log in as members, see docs/security.md):
--   workflow_owner   owns every object of the schema; migrations run as a superuser or a member.
--   workflow_daemon  claims and decides commands, appends through append_events(), writes the
--                    projections, enqueues timer commands.
--   agency_clerk     submits its own agency's commands (agency_logins maps the login to the
--                    agency), reads its agency's commands and projection rows.
--   board_staff      submits board commands; reads the log, every command and projection.
--   registrar        submits register commands (the ICE list import, renames, date
--                    corrections, local government votes); reads like board_staff.
--   auditor          reads the log, every command and projection; writes nothing.
--
-- Nobody may UPDATE, DELETE or TRUNCATE events (no privilege, and the 0001 triggers
-- refuse it even for the owner). Only workflow_daemon (and the owner) may execute
-- append_events(), which is now SECURITY DEFINER: nobody holds INSERT on events, so
-- every event is chained by the function.
--
-- Roles are cluster-wide: creating them is idempotent and tolerates another database
-- migrating at the same moment (duplicate_object / unique_violation are ignored).
-- Running this migration needs a superuser, or a login with CREATEROLE that owns the
-- database (it is then made a member of workflow_owner).

DO $$
DECLARE
    v_role text;
    v_super boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(287000002);
    FOREACH v_role IN ARRAY ARRAY['workflow_owner', 'workflow_daemon', 'agency_clerk', 'board_staff',
                                  'registrar', 'auditor'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created concurrently by a migration of another database
            END;
        END IF;
    END LOOP;
    SELECT rolsuper INTO v_super FROM pg_roles WHERE rolname = current_user;
    IF NOT v_super AND NOT pg_has_role(current_user, 'workflow_owner', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT workflow_owner TO %I', current_user);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'login % must be a member of workflow_owner to migrate; as a superuser run: GRANT workflow_owner TO %',
                current_user, current_user USING ERRCODE = '42501';
        END;
    END IF;
END $$;

-- The owner needs CREATE on the schema to own objects in it.
GRANT USAGE, CREATE ON SCHEMA public TO workflow_owner;
GRANT USAGE ON SCHEMA public TO workflow_daemon, agency_clerk, board_staff, registrar, auditor;

-- Which agency each clerk login files for. Written only by the owner.
CREATE TABLE agency_logins (
    login     name PRIMARY KEY,
    agency_id text NOT NULL CHECK (agency_id ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(agency_id) <= 200),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE agency_logins IS 'Maps an agency_clerk login (session_user) to the one agency it files for. Owner-written only.';

-- The agency of the session's login, or NULL. SECURITY DEFINER so that clerks need no
-- privilege on agency_logins; keyed on session_user, which SET ROLE cannot change.
CREATE FUNCTION current_agency_id() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT agency_id FROM agency_logins WHERE login = session_user $$;

-- Who may submit a command type: agency, board, register, system, or NULL for an
-- unknown type. Mirrors DomainCommand.actorKind(ofType:) (a test checks they agree).
CREATE FUNCTION command_actor_kind(p_command_type text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_command_type IN ('submit_termination_request', 'withdraw_termination_request',
                            'record_termination_notice') THEN 'agency'
    WHEN p_command_type IN ('schedule_review', 'record_board_vote', 'fill_board_seat',
                            'vacate_board_seat') THEN 'board'
    WHEN p_command_type IN ('register_agreement', 'rename_agency', 'correct_signed_date',
                            'record_local_government_vote') THEN 'register'
    WHEN p_command_type = 'end_agreement' THEN 'system'
END;

-- submit_command(type, payload, idempotency_key[, available_at]): enqueue a command
-- as the session's login, which must be allowed to submit that type:
--   superusers and workflow_owner members: any type (unknown ones are queued and
--     rejected by the daemon with unknown_command_type);
--   agency_clerk: agency commands, for its own agency only;
--   board_staff: board commands; registrar: register commands; workflow_daemon: system commands.
-- Returns the command's id, its status and, when already decided, its outcome. A
-- second call with the same idempotency key by the same login returns the first
-- command unchanged (whatever the new payload), and enqueues nothing.
-- Errors: CQ001 payload too large (over 64 KiB); CQ002 payload not a JSON object, a
-- repeated key, or a \u0000 escape; CQ003 agency_id is not the clerk's agency; 42501 this login may
-- not submit this type (or is a clerk mapped to no agency); 22023 missing or
-- over-long type or key.
CREATE OR REPLACE FUNCTION submit_command(
    p_command_type text, p_payload json, p_idempotency_key text, p_available_at timestamptz DEFAULT NULL
) RETURNS TABLE (command_id uuid, status text, error_code text, error_message text, outcome json)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    v_id      uuid;
    v_kind    text;
    v_agency  text;
    v_mapped  text;
    v_super   boolean;
BEGIN
    IF p_command_type IS NULL OR p_idempotency_key IS NULL OR p_payload IS NULL THEN
        RAISE EXCEPTION 'submit_command: command type, payload and idempotency key are required'
            USING ERRCODE = '22023';
    END IF;
    IF length(p_command_type) NOT BETWEEN 1 AND 100 OR length(p_idempotency_key) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'submit_command: the command type must be 1-100 characters and the idempotency key 1-200'
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
    -- json keeps duplicate keys and SQL reads the last one; a reader that took the first
    -- could act for another agency than the one checked here.
    -- Reading keys and agency_id unescapes the JSON strings; \u0000 cannot become text.
    BEGIN
        IF EXISTS (SELECT 1 FROM json_object_keys(p_payload) AS k GROUP BY k HAVING count(*) > 1) THEN
            RAISE EXCEPTION 'malformed_payload: the payload repeats a key'
                USING ERRCODE = 'CQ002';
        END IF;
        IF json_typeof(p_payload -> 'agency_id') = 'string' THEN
            v_agency := p_payload ->> 'agency_id';
        END IF;
    EXCEPTION WHEN untranslatable_character THEN
        RAISE EXCEPTION 'malformed_payload: the payload contains \u0000 (NUL), which no field may hold'
            USING ERRCODE = 'CQ002';
    END;

    v_kind := command_actor_kind(p_command_type);
    SELECT r.rolsuper INTO v_super FROM pg_roles r WHERE r.rolname = session_user;
    IF coalesce(v_super, false) OR pg_has_role(session_user, 'workflow_owner', 'MEMBER') THEN
        NULL;  -- the owner may submit anything
    ELSIF v_kind = 'agency' AND pg_has_role(session_user, 'agency_clerk', 'MEMBER') THEN
        v_mapped := current_agency_id();
        IF v_mapped IS NULL THEN
            RAISE EXCEPTION 'permission_denied: login % is an agency clerk but is mapped to no agency (agency_logins)',
                session_user USING ERRCODE = '42501';
        END IF;
        IF v_agency IS NULL THEN
            -- Missing or not a string: queued under the clerk's agency; the daemon rejects it naming the field.
            v_agency := v_mapped;
        ELSIF v_agency <> v_mapped THEN
            RAISE EXCEPTION 'agency_mismatch: login % files for agency %, not %', session_user, v_mapped, left(v_agency, 200)
                USING ERRCODE = 'CQ003';
        END IF;
    ELSIF (v_kind = 'board' AND pg_has_role(session_user, 'board_staff', 'MEMBER'))
       OR (v_kind = 'register' AND pg_has_role(session_user, 'registrar', 'MEMBER'))
       OR (v_kind = 'system' AND pg_has_role(session_user, 'workflow_daemon', 'MEMBER')) THEN
        NULL;
    ELSE
        RAISE EXCEPTION 'permission_denied: login % may not submit % commands (%)', session_user,
            coalesce(v_kind, 'unknown'), left(p_command_type, 100)
            USING ERRCODE = '42501';
    END IF;

    INSERT INTO commands AS c (idempotency_key, command_type, payload, agency_id, available_at)
    VALUES (p_idempotency_key, p_command_type, p_payload, v_agency, coalesce(p_available_at, clock_timestamp()))
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

-- Every event is appended through the function, which computes the hash chain.
ALTER FUNCTION append_events(text, text, json) SECURITY DEFINER SET search_path = public, pg_temp;
ALTER FUNCTION append_events_batch(json) SECURITY DEFINER SET search_path = public, pg_temp;

-- Ownership: the group, not whichever login migrated.
ALTER TABLE events OWNER TO workflow_owner;
ALTER TABLE commands OWNER TO workflow_owner;
ALTER TABLE queue_sleepers OWNER TO workflow_owner;
ALTER TABLE agreement_status OWNER TO workflow_owner;
ALTER TABLE termination_requests OWNER TO workflow_owner;
ALTER TABLE board_docket OWNER TO workflow_owner;
ALTER TABLE projection_checkpoints OWNER TO workflow_owner;
ALTER TABLE agency_timeline OWNER TO workflow_owner;
ALTER TABLE agency_logins OWNER TO workflow_owner;
ALTER TABLE schema_migrations OWNER TO workflow_owner;
ALTER FUNCTION event_hash_field(text) OWNER TO workflow_owner;
ALTER FUNCTION event_hash(bytea, bigint, text, integer, uuid, text, json, json, timestamptz) OWNER TO workflow_owner;
ALTER FUNCTION append_events(text, text, json) OWNER TO workflow_owner;
ALTER FUNCTION append_events_batch(json) OWNER TO workflow_owner;
ALTER FUNCTION events_are_immutable() OWNER TO workflow_owner;
ALTER FUNCTION commands_wake_daemon() OWNER TO workflow_owner;
ALTER FUNCTION submit_command(text, json, text, timestamptz) OWNER TO workflow_owner;
ALTER FUNCTION current_agency_id() OWNER TO workflow_owner;
ALTER FUNCTION command_actor_kind(text) OWNER TO workflow_owner;

-- Privileges: nothing by default, then the least each group needs.
REVOKE ALL ON events, commands, queue_sleepers, agreement_status, termination_requests, board_docket,
              projection_checkpoints, agency_timeline, agency_logins, schema_migrations FROM PUBLIC;
REVOKE ALL ON FUNCTION append_events(text, text, json) FROM PUBLIC;
REVOKE ALL ON FUNCTION append_events_batch(json) FROM PUBLIC;
REVOKE ALL ON FUNCTION submit_command(text, json, text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION current_agency_id() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION append_events(text, text, json) TO workflow_daemon;
GRANT EXECUTE ON FUNCTION append_events_batch(json) TO workflow_daemon;
GRANT EXECUTE ON FUNCTION submit_command(text, json, text, timestamptz)
    TO workflow_daemon, agency_clerk, board_staff, registrar;
GRANT EXECUTE ON FUNCTION current_agency_id() TO workflow_daemon, agency_clerk, board_staff, registrar, auditor;

-- The daemon: reads the log (appends only through append_events), claims, updates and
-- enqueues (timer) commands, writes every projection, registers as a sleeper.
GRANT SELECT ON events TO workflow_daemon;
GRANT SELECT, INSERT, UPDATE ON commands TO workflow_daemon;
GRANT SELECT, INSERT, DELETE ON queue_sleepers TO workflow_daemon;
GRANT SELECT, INSERT, UPDATE, DELETE ON agreement_status, termination_requests, board_docket,
      projection_checkpoints, agency_timeline TO workflow_daemon;
GRANT SELECT ON schema_migrations TO workflow_daemon;

-- Readers. Clerks see no events and no other agency's rows (policies below).
GRANT SELECT ON events TO board_staff, registrar, auditor;
GRANT SELECT ON commands, agreement_status, termination_requests, board_docket, agency_timeline,
      projection_checkpoints TO agency_clerk, board_staff, registrar, auditor;
GRANT SELECT ON agency_logins, schema_migrations TO auditor;

-- Row-level security. The owner (and superusers) bypass it; the daemon does not, so it
-- has its own all-rows policies. No FORCE: submit_command (SECURITY DEFINER, owned by
-- workflow_owner) inserts as the owner after its own checks.
ALTER TABLE commands ENABLE ROW LEVEL SECURITY;
CREATE POLICY commands_daemon ON commands FOR ALL TO workflow_daemon USING (true) WITH CHECK (true);
CREATE POLICY commands_readers ON commands FOR SELECT TO board_staff, registrar, auditor USING (true);
CREATE POLICY commands_clerk ON commands FOR SELECT TO agency_clerk
    USING (agency_id = (SELECT current_agency_id()) AND command_actor_kind(command_type) = 'agency');

DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['agreement_status', 'termination_requests', 'board_docket', 'agency_timeline'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', v_table);
        EXECUTE format('CREATE POLICY %I ON %I FOR ALL TO workflow_daemon USING (true) WITH CHECK (true)',
                       v_table || '_daemon', v_table);
        EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO board_staff, registrar, auditor USING (true)',
                       v_table || '_readers', v_table);
        EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO agency_clerk USING (agency_id = (SELECT current_agency_id()))',
                       v_table || '_clerk', v_table);
    END LOOP;
END $$;
