-- The front door (issue 14): identity for `sbie serve`, enforced by PostgreSQL as PostgREST does it.
--
-- The HTTP server connects as an *authenticator* login: a NOINHERIT member of the group
-- sbie_authenticator, which holds no privilege of its own. For each request it opens a
-- transaction and switches (`SET LOCAL ROLE`, or set_config('role', ..., true)) into the
-- authenticated user's own login role, or into web_anon for anonymous requests. PostgreSQL
-- lets it switch only into roles granted to sbie_authenticator: web_anon, and the logins an
-- administrator enabled for the web (`sbie login token create` / `sbie login web-enable`).
--
-- With SET ROLE, session_user stays the authenticator, so every identity check that used
-- session_user now asks acting_login():
--   * a session that is not an authenticator acts as its session_user (psql, the CLI, the
--     daemon: unchanged);
--   * an authenticator acts as the role it switched into, provided that role is a LOGIN role
--     granted directly to sbie_authenticator (web-enabled); otherwise as nobody (NULL), and
--     every write is refused. Group roles (agency_clerk, board_staff, ...) are NOLOGIN, so an
--     authenticator that switched into a group acts as nobody.
-- The `role` setting read here is the SET ROLE target; PostgreSQL checked the switch when it
-- was made, and SECURITY DEFINER functions do not change it, so the HTTP layer can be no one
-- but a user that was granted to it.
--
-- This migration redefines current_agency_id() and submit_command() (from 0004) to use
-- acting_login() instead of session_user; nothing else in them changed.

DO $$
DECLARE
    v_role text;
BEGIN
    PERFORM pg_advisory_xact_lock(287000002);
    FOREACH v_role IN ARRAY ARRAY['sbie_authenticator', 'web_anon'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', v_role);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_auth_members m
                   WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = 'web_anon')
                     AND m.member = (SELECT oid FROM pg_roles WHERE rolname = 'sbie_authenticator')) THEN
        BEGIN
            GRANT web_anon TO sbie_authenticator;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'the front door migration must grant web_anon to sbie_authenticator; as a superuser run: GRANT web_anon TO sbie_authenticator'
                USING ERRCODE = '42501';
        END;
    END IF;
END $$;

GRANT USAGE ON SCHEMA public TO web_anon;

-- The login a session acts for: session_user, or for an authenticator the web-enabled login
-- role it switched into (NULL when it switched into none).
CREATE FUNCTION acting_login() RETURNS name
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT CASE
        WHEN NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_auth_members m
            JOIN pg_catalog.pg_roles g ON g.oid = m.roleid AND g.rolname = 'sbie_authenticator'
            JOIN pg_catalog.pg_roles u ON u.oid = m.member AND u.rolname = session_user)
        THEN session_user
        ELSE (
            SELECT r.rolname FROM pg_catalog.pg_roles r
            WHERE r.rolname = pg_catalog.current_setting('role') AND r.rolcanlogin AND NOT r.rolsuper
              AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                          JOIN pg_catalog.pg_roles g ON g.oid = m.member AND g.rolname = 'sbie_authenticator'
                          WHERE m.roleid = r.oid))
    END
$$;
COMMENT ON FUNCTION acting_login() IS
    'The login this session acts for: session_user, or for a sbie_authenticator member the web-enabled login it SET ROLE to (NULL if none).';

CREATE OR REPLACE FUNCTION current_agency_id() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT agency_id FROM agency_logins WHERE login = acting_login() $$;

-- As in 0004, with acting_login() for session_user (see the header).
-- Adds: 42501 when an authenticator acts for no web-enabled login.
CREATE OR REPLACE FUNCTION submit_command(
    p_command_type text, p_payload json, p_idempotency_key text, p_available_at timestamptz DEFAULT NULL
) RETURNS TABLE (command_id uuid, status text, error_code text, error_message text, outcome json)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_id      uuid;
    v_kind    text;
    v_agency  text;
    v_mapped  text;
    v_super   boolean;
    v_login   name := acting_login();
BEGIN
    IF v_login IS NULL THEN
        RAISE EXCEPTION 'permission_denied: this session acts for no login (an authenticator must switch into a web-enabled login)'
            USING ERRCODE = '42501';
    END IF;
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
    SELECT r.rolsuper INTO v_super FROM pg_catalog.pg_roles r WHERE r.rolname = v_login;
    IF coalesce(v_super, false) OR pg_catalog.pg_has_role(v_login, 'workflow_owner', 'MEMBER') THEN
        NULL;  -- the owner may submit anything
    ELSIF v_kind = 'agency' AND pg_catalog.pg_has_role(v_login, 'agency_clerk', 'MEMBER') THEN
        v_mapped := current_agency_id();
        IF v_mapped IS NULL THEN
            RAISE EXCEPTION 'permission_denied: login % is an agency clerk but is mapped to no agency (agency_logins)',
                v_login USING ERRCODE = '42501';
        END IF;
        IF v_agency IS NULL THEN
            v_agency := v_mapped;
        ELSIF v_agency <> v_mapped THEN
            RAISE EXCEPTION 'agency_mismatch: login % files for agency %, not %', v_login, v_mapped, left(v_agency, 200)
                USING ERRCODE = 'CQ003';
        END IF;
    ELSIF (v_kind = 'board' AND pg_catalog.pg_has_role(v_login, 'board_staff', 'MEMBER'))
       OR (v_kind = 'register' AND pg_catalog.pg_has_role(v_login, 'registrar', 'MEMBER'))
       OR (v_kind = 'system' AND pg_catalog.pg_has_role(v_login, 'workflow_daemon', 'MEMBER')) THEN
        NULL;
    ELSE
        RAISE EXCEPTION 'permission_denied: login % may not submit % commands (%)', v_login,
            coalesce(v_kind, 'unknown'), left(p_command_type, 100)
            USING ERRCODE = '42501';
    END IF;

    INSERT INTO commands AS c (submitted_by, idempotency_key, command_type, payload, agency_id, available_at)
    VALUES (v_login, p_idempotency_key, p_command_type, p_payload, v_agency, coalesce(p_available_at, clock_timestamp()))
    ON CONFLICT (submitted_by, idempotency_key) DO NOTHING
    RETURNING c.command_id INTO v_id;
    IF v_id IS NULL THEN
        SELECT c.command_id INTO v_id FROM commands c
        WHERE c.submitted_by = v_login AND c.idempotency_key = p_idempotency_key;
    END IF;
    RETURN QUERY SELECT c.command_id, c.status, c.error_code, c.error_message, c.outcome
                 FROM commands c WHERE c.command_id = v_id;
END
$$;

-- API tokens and web sessions. Only SHA-256 hashes are stored; the token is shown once.
CREATE TABLE api_tokens (
    token_id   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    login      name        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('api', 'session')),
    token_hash bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    label      text        CHECK (length(label) <= 200),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at timestamptz,
    revoked_at timestamptz
);
COMMENT ON TABLE api_tokens IS 'Bearer tokens (kind api) and web sessions (kind session): SHA-256 of the token, never the token.';

-- Whether a login may be acted for by authenticators: granted directly to sbie_authenticator, and
-- neither a superuser nor a member of workflow_owner or workflow_daemon (tokens of such logins never
-- authenticate, even if someone granted them by hand).
CREATE FUNCTION login_is_web_enabled(p_login name) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                   JOIN pg_catalog.pg_auth_members m ON m.roleid = r.oid
                   JOIN pg_catalog.pg_roles g ON g.oid = m.member AND g.rolname = 'sbie_authenticator'
                   WHERE r.rolname = p_login AND r.rolcanlogin AND NOT r.rolsuper
                     AND NOT pg_catalog.pg_has_role(r.oid, 'workflow_owner', 'MEMBER')
                     AND NOT pg_catalog.pg_has_role(r.oid, 'workflow_daemon', 'MEMBER'))
$$;

-- Issues an API token for a login (administrators only: EXECUTE is the owner's). The token
-- text is chosen by the caller (sbie: 32 random bytes); only its SHA-256 is kept.
-- Errors: 22023 token shorter than 32 characters, or a login that cannot log in.
CREATE FUNCTION issue_api_token(p_login name, p_token text, p_expires_at timestamptz, p_label text)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_id uuid;
BEGIN
    IF p_token IS NULL OR length(p_token) < 32 THEN
        RAISE EXCEPTION 'invalid_token: a token must have at least 32 characters' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = p_login AND rolcanlogin AND NOT rolsuper) THEN
        RAISE EXCEPTION 'invalid_login: % is not a login role (or is a superuser)', p_login USING ERRCODE = '22023';
    END IF;
    INSERT INTO api_tokens (login, kind, token_hash, label, expires_at)
    VALUES (p_login, 'api', pg_catalog.sha256(pg_catalog.convert_to(p_token, 'UTF8')), p_label, p_expires_at)
    RETURNING token_id INTO v_id;
    RETURN v_id;
END
$$;

-- Opens a web session for the login of *this* connection (one that PostgreSQL just
-- authenticated with the user's password). Errors: 42501 not web-enabled; 22023 bad token.
CREATE FUNCTION create_session_token(p_token text, p_expires_at timestamptz) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_id uuid;
    v_login name := acting_login();
BEGIN
    IF v_login IS NULL OR NOT login_is_web_enabled(v_login) THEN
        RAISE EXCEPTION 'permission_denied: login % is not enabled for the web (sbie login web-enable)', v_login
            USING ERRCODE = '42501';
    END IF;
    IF p_token IS NULL OR length(p_token) < 32 OR p_expires_at IS NULL THEN
        RAISE EXCEPTION 'invalid_token: a session needs a token of at least 32 characters and an expiry'
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO api_tokens (login, kind, token_hash, expires_at)
    VALUES (v_login, 'session', pg_catalog.sha256(pg_catalog.convert_to(p_token, 'UTF8')), p_expires_at)
    RETURNING token_id INTO v_id;
    RETURN v_id;
END
$$;

-- The login a token stands for, or NULL (unknown, revoked, expired, or no longer web-enabled).
CREATE FUNCTION authenticate_token(p_token text) RETURNS name
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT t.login FROM api_tokens t
    WHERE t.token_hash = pg_catalog.sha256(pg_catalog.convert_to(p_token, 'UTF8'))
      AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > pg_catalog.now())
      AND login_is_web_enabled(t.login)
$$;

-- Revokes the token presented (logout). Knowing a token is the right to revoke it.
CREATE FUNCTION revoke_token(p_token text) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH r AS (UPDATE api_tokens SET revoked_at = pg_catalog.clock_timestamp()
               WHERE token_hash = pg_catalog.sha256(pg_catalog.convert_to(p_token, 'UTF8')) AND revoked_at IS NULL
               RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM r)
$$;

-- How the public sees who acted: the group role, and for clerks the agency; never a login name.
CREATE FUNCTION public_actor(p_login text) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT CASE WHEN p_login IS NULL THEN NULL ELSE pg_catalog.jsonb_build_object(
        'role', coalesce((
            SELECT g.rolname::text FROM pg_catalog.pg_auth_members m
            JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
            JOIN pg_catalog.pg_roles u ON u.oid = m.member AND u.rolname = p_login
            WHERE g.rolname IN ('agency_clerk', 'board_staff', 'registrar', 'workflow_daemon', 'workflow_owner', 'auditor')
            ORDER BY g.rolname LIMIT 1), 'other'),
        'agency_id', (SELECT a.agency_id FROM agency_logins a WHERE a.login = p_login))
    END
$$;

-- The log as the public reads it: every event, its data, positions and hashes; metadata
-- with `actor` replaced by public_actor(actor). (The hash covers the stored metadata, so
-- the public can follow the chain's links, not recompute each hash: an auditor's export can.)
CREATE VIEW public_events AS
SELECT e.global_position, e.stream_id, e.stream_version, e.event_id, e.event_type, e.data,
       ((e.metadata::jsonb - 'actor') || pg_catalog.jsonb_build_object('actor', public_actor(e.metadata ->> 'actor')))::json
           AS metadata,
       e.occurred_at, e.recorded_at, e.prev_hash, e.hash
FROM events e;

-- Health and metrics, readable by anyone who may reach the server (counts only).
CREATE FUNCTION front_door_status()
RETURNS TABLE (migrations integer, latest_migration integer, head_position bigint, pending bigint,
               oldest_due_seconds double precision, failed bigint, timeline_lag bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT (SELECT count(*)::int FROM schema_migrations),
           (SELECT max(version)::int FROM schema_migrations),
           (SELECT coalesce(max(global_position), 0) FROM events),
           (SELECT count(*) FROM commands WHERE status = 'pending'),
           (SELECT extract(epoch FROM pg_catalog.clock_timestamp() - min(available_at))::float8
              FROM commands WHERE status = 'pending' AND available_at <= pg_catalog.clock_timestamp()),
           (SELECT count(*) FROM commands WHERE status = 'failed'),
           (SELECT coalesce(max(global_position), 0) FROM events)
             - coalesce((SELECT position FROM projection_checkpoints WHERE projection = 'agency_timeline'), 0)
$$;

CREATE FUNCTION command_counts() RETURNS TABLE (status text, error_code text, commands bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT c.status, c.error_code, count(*) FROM commands c GROUP BY 1, 2 ORDER BY 1, 2 $$;

-- Ownership and privileges.
ALTER TABLE api_tokens OWNER TO workflow_owner;
ALTER VIEW public_events OWNER TO workflow_owner;
ALTER FUNCTION acting_login() OWNER TO workflow_owner;
ALTER FUNCTION login_is_web_enabled(name) OWNER TO workflow_owner;
ALTER FUNCTION issue_api_token(name, text, timestamptz, text) OWNER TO workflow_owner;
ALTER FUNCTION create_session_token(text, timestamptz) OWNER TO workflow_owner;
ALTER FUNCTION authenticate_token(text) OWNER TO workflow_owner;
ALTER FUNCTION revoke_token(text) OWNER TO workflow_owner;
ALTER FUNCTION public_actor(text) OWNER TO workflow_owner;
ALTER FUNCTION front_door_status() OWNER TO workflow_owner;
ALTER FUNCTION command_counts() OWNER TO workflow_owner;

REVOKE ALL ON api_tokens, public_events FROM PUBLIC;
REVOKE ALL ON FUNCTION acting_login() FROM PUBLIC;
REVOKE ALL ON FUNCTION login_is_web_enabled(name) FROM PUBLIC;
REVOKE ALL ON FUNCTION issue_api_token(name, text, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION create_session_token(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION authenticate_token(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION revoke_token(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION public_actor(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION front_door_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION command_counts() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION acting_login() TO workflow_daemon, agency_clerk, board_staff, registrar, auditor, web_anon;
GRANT EXECUTE ON FUNCTION current_agency_id() TO web_anon;
GRANT EXECUTE ON FUNCTION create_session_token(text, timestamptz) TO agency_clerk, board_staff, registrar, auditor;
GRANT EXECUTE ON FUNCTION authenticate_token(text), revoke_token(text) TO web_anon;
-- Functions in a view are checked against the querying role: everyone who reads public_events.
GRANT EXECUTE ON FUNCTION public_actor(text) TO web_anon, agency_clerk, board_staff, registrar, auditor;
GRANT EXECUTE ON FUNCTION front_door_status(), command_counts() TO web_anon, board_staff, registrar, auditor, workflow_daemon;
GRANT SELECT ON api_tokens TO auditor;

-- The public record: the log without login names, and the register's read models.
GRANT SELECT ON public_events TO web_anon, agency_clerk, board_staff, registrar, auditor;
GRANT SELECT ON agreement_status, termination_requests, board_docket TO web_anon;
CREATE POLICY agreement_status_public ON agreement_status FOR SELECT TO web_anon USING (true);
CREATE POLICY termination_requests_public ON termination_requests FOR SELECT TO web_anon USING (true);
CREATE POLICY board_docket_public ON board_docket FOR SELECT TO web_anon USING (true);
