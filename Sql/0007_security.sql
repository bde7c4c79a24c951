-- Security hardening (issue 11 items 2, 3, 5 and 6; docs/security.md, "Attacks tried").
--
-- 1. The project's objects live in their own schema, `sbie`. Fresh databases create them
--    there from 0001 on (the Migrator runs every migration with search_path `sbie, public`);
--    databases migrated before this file have them in `public`, and this file moves them.
-- 2. The record (the `events` and `commands` tables, and the triggers' functions that keep
--    them append-only) and the schema itself belong to `workflow_record`, a NOLOGIN role with
--    no members. Nobody but a superuser can disable those triggers, replace their functions,
--    or drop the tables: a `workflow_owner` member can no longer change or remove one event
--    or one decided command. `workflow_owner` keeps what its functions need (append, submit,
--    record outcomes) as plain grants.
-- 3. sbie.harden(), which the Migrator calls after every migration (and this file calls
--    now), pins the search_path of every function in schema sbie to
--    `pg_catalog, sbie, pg_temp`, revokes CREATE on schema public from PUBLIC (PostgreSQL 14
--    and old templates grant it), sets the database's default search_path, and revokes
--    defaults no role needs (TEMP for the least trusted logins, large-object creation).
--
-- Needs a superuser: nobody else may hand objects to a role it does not belong to (and a
-- login that could would be able to become workflow_record). After this migration, a
-- non-superuser migrator (a workflow_owner member) can still create new objects in sbie and
-- alter those it owns, but cannot alter, drop or re-own `events`, `commands`, schema sbie,
-- or the functions owned by workflow_record; migrations that do need a superuser.
--
-- Errors: SE001 (new) a change to the record that is never allowed: deleting or truncating
-- commands, changing a command's submission (type, payload, submitter, key, agency, time),
-- or changing a decided (accepted or rejected) command's outcome.

DO $$
DECLARE
    v_member name;
BEGIN
    IF NOT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false) THEN
        RAISE EXCEPTION 'migration 0007 hands the record to workflow_record, which only a superuser can do; '
            'run sbie migrate once as a superuser (login % is not one)', current_user
            USING ERRCODE = '42501';
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock(287000002);
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'workflow_record') THEN
        BEGIN
            CREATE ROLE workflow_record NOLOGIN NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created concurrently by a migration of another database
        END;
    END IF;
    -- The role is meant to have no members: whoever could SET ROLE to it could disable the triggers.
    FOR v_member IN
        SELECT m.rolname FROM pg_catalog.pg_auth_members a JOIN pg_catalog.pg_roles m ON m.oid = a.member
        WHERE a.roleid = 'workflow_record'::regrole
    LOOP
        EXECUTE pg_catalog.format('REVOKE workflow_record FROM %I', v_member);
        RAISE WARNING 'revoked membership in workflow_record from %: nobody may hold it', v_member;
    END LOOP;
END $$;

-- The Migrator runs this file with search_path = public, sbie (0001-0006 were written for
-- public); every object this file creates is therefore named with its schema.
CREATE SCHEMA IF NOT EXISTS sbie;

-- Databases migrated before 0007 have every object in public: move ours (0001-0004's by
-- name, and whatever later migrations gave to workflow_owner) into sbie. Indexes, triggers,
-- policies, identity sequences and row types move with their tables. Nothing happens on a
-- database created by a Migrator that already knew schema sbie.
DO $$
DECLARE
    v_tables text[] := ARRAY['events', 'commands', 'queue_sleepers', 'agreement_status', 'termination_requests',
                             'board_docket', 'projection_checkpoints', 'agency_timeline', 'agency_logins',
                             'schema_migrations'];
    v_functions text[] := ARRAY['event_hash_field', 'event_hash', 'append_events_batch', 'append_events',
                                'events_are_immutable', 'commands_wake_daemon', 'submit_command',
                                'current_agency_id', 'command_actor_kind'];
    r record;
BEGIN
    FOR r IN
        SELECT c.relname, c.relkind FROM pg_catalog.pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND (c.relname = ANY (v_tables) OR c.relowner = 'workflow_owner'::regrole)
          -- sequences owned by a column (identity, serial) move with their table
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                            AND d.deptype IN ('a', 'i') AND d.refclassid = 'pg_catalog.pg_class'::regclass)
    LOOP
        EXECUTE pg_catalog.format('ALTER %s public.%I SET SCHEMA sbie',
            CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                           WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.relname);
    END LOOP;
    FOR r IN
        SELECT p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')
          AND (p.proname = ANY (v_functions) OR p.proowner = 'workflow_owner'::regrole)
    LOOP
        EXECUTE pg_catalog.format('ALTER ROUTINE public.%I(%s) SET SCHEMA sbie', r.proname, r.args);
    END LOOP;
    FOR r IN
        SELECT t.typname, t.typtype FROM pg_catalog.pg_type t
        WHERE t.typnamespace = 'public'::regnamespace AND t.typowner = 'workflow_owner'::regrole
          AND (t.typtype IN ('e', 'd', 'r', 'm')
               OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c'))
    LOOP
        EXECUTE pg_catalog.format('ALTER %s public.%I SET SCHEMA sbie',
            CASE r.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, r.typname);
    END LOOP;
    -- What stays in public is not ours (an extension's, a DBA's), or a migration forgot to
    -- give it to workflow_owner: say so, since its functions would no longer find our tables.
    FOR r IN
        SELECT 'table ' || c.relname AS what FROM pg_catalog.pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
        UNION ALL
        SELECT 'function ' || p.oid::regprocedure::text FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    LOOP
        RAISE WARNING '0007: % stays in schema public (not owned by workflow_owner, not one of ours by name)', r.what;
    END LOOP;
END $$;

-- The schema belongs to workflow_record: a schema's owner may drop any object in it, so
-- workflow_owner must not own it. workflow_owner creates (migrations) and may pass USAGE on.
ALTER SCHEMA sbie OWNER TO workflow_record;
REVOKE ALL ON SCHEMA sbie FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA sbie TO workflow_owner;
GRANT USAGE ON SCHEMA sbie TO workflow_owner WITH GRANT OPTION;
GRANT USAGE ON SCHEMA sbie TO workflow_daemon, agency_clerk, board_staff, registrar, auditor;

-- The agency of the session's login, or NULL (0004's, with every name qualified).
CREATE OR REPLACE FUNCTION sbie.current_agency_id() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, sbie, pg_temp
AS $$ SELECT l.agency_id FROM sbie.agency_logins l WHERE l.login = session_user $$;

-- The commands are the record of who asked for what and what came of it. A row's
-- submission never changes; a decided (accepted or rejected) command's outcome never
-- changes; no command is deleted. A failed command may go back to pending (sbie retry),
-- and a pending one is claimed, retried and decided as before.
CREATE FUNCTION sbie.commands_are_a_record() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, sbie, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'commands are part of the record: % is not allowed', TG_OP USING ERRCODE = 'SE001';
    END IF;
    IF (NEW.command_id, NEW.submitted_by, NEW.idempotency_key, NEW.command_type, NEW.payload::text, NEW.agency_id,
        NEW.submitted_at) IS DISTINCT FROM
       (OLD.command_id, OLD.submitted_by, OLD.idempotency_key, OLD.command_type, OLD.payload::text, OLD.agency_id,
        OLD.submitted_at) THEN
        RAISE EXCEPTION 'command %: its submission (type, payload, submitter, key, agency, time) never changes',
            OLD.command_id USING ERRCODE = 'SE001';
    END IF;
    IF OLD.status IN ('accepted', 'rejected')
       AND (NEW.status, NEW.outcome::text, NEW.error_code, NEW.error_message, NEW.processed_at, NEW.event_positions)
           IS DISTINCT FROM
           (OLD.status, OLD.outcome::text, OLD.error_code, OLD.error_message, OLD.processed_at, OLD.event_positions) THEN
        RAISE EXCEPTION 'command % was decided (%): its outcome never changes', OLD.command_id, OLD.status
            USING ERRCODE = 'SE001';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER commands_are_a_record BEFORE UPDATE OR DELETE ON sbie.commands
    FOR EACH ROW EXECUTE FUNCTION sbie.commands_are_a_record();
CREATE TRIGGER commands_no_truncate BEFORE TRUNCATE ON sbie.commands
    FOR EACH STATEMENT EXECUTE FUNCTION sbie.commands_are_a_record();

-- Hand the record to workflow_record. ALTER ... OWNER moves the old owner's implicit
-- privileges to the new one, so workflow_owner gets back exactly what its functions use.
ALTER TABLE sbie.events OWNER TO workflow_record;
ALTER TABLE sbie.commands OWNER TO workflow_record;
ALTER FUNCTION sbie.events_are_immutable() OWNER TO workflow_record;
ALTER FUNCTION sbie.commands_are_a_record() OWNER TO workflow_record;
REVOKE ALL ON FUNCTION sbie.events_are_immutable(), sbie.commands_are_a_record() FROM PUBLIC;

-- append_events* (SECURITY DEFINER, owned by workflow_owner) insert; the owner reads.
GRANT SELECT, INSERT ON sbie.events TO workflow_owner;
-- submit_command inserts and reads back; the owner's functions record outcomes.
GRANT SELECT, INSERT, UPDATE ON sbie.commands TO workflow_owner;
-- The owner no longer owns commands, so row-level security now applies to it: it sees and
-- writes every row, as it did as the owner.
CREATE POLICY commands_owner ON sbie.commands FOR ALL TO workflow_owner USING (true) WITH CHECK (true);

-- sbie.harden(): re-applies the rules that later migrations could undo, and is idempotent.
-- The Migrator calls it at the end of every migration, in that migration's transaction.
-- It does what the calling login may do and skips (with a WARNING) what it may not:
--   * every function in schema sbie that is SECURITY DEFINER or not LANGUAGE sql with a
--     string body gets search_path = pg_catalog, sbie, pg_temp (SQL-standard bodies, i.e.
--     RETURN / BEGIN ATOMIC, are bound when created and need none; plain SQL functions that
--     are not SECURITY DEFINER keep theirs so that PostgreSQL can still inline them);
--   * REVOKE CREATE ON SCHEMA public FROM PUBLIC (needs the schema's owner or a superuser);
--   * ALTER DATABASE ... SET search_path = sbie, public; REVOKE TEMPORARY on the database
--     from PUBLIC, granted back to workflow_owner, workflow_daemon and auditor (the only
--     roles whose code creates temporary tables: the timeline catch-up, rebuild --check);
--     needs the database's owner or a superuser;
--   * REVOKE EXECUTE on large-object creation (lo_creat, lo_create, lo_import, lo_from_bytea)
--     from PUBLIC (needs a superuser);
--   * USAGE on schema sbie for every role that holds USAGE on public by an explicit grant
--     (roles added by later migrations that were written for schema public);
--   * warns when workflow_record has members.
CREATE FUNCTION sbie.harden() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, sbie, pg_temp
AS $$
DECLARE
    v_super boolean := coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false);
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS fn
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
        WHERE p.pronamespace = 'sbie'::regnamespace AND p.prokind IN ('f', 'p')
          AND p.prosqlbody IS NULL AND l.lanname NOT IN ('internal', 'c')
          AND (p.prosecdef OR l.lanname <> 'sql')
          AND NOT coalesce('search_path=pg_catalog, sbie, pg_temp' = ANY (p.proconfig), false)
    LOOP
        IF v_super OR pg_catalog.pg_has_role(current_user,
                          (SELECT p.proowner FROM pg_catalog.pg_proc p WHERE p.oid = r.fn), 'MEMBER') THEN
            EXECUTE pg_catalog.format('ALTER ROUTINE %s SET search_path = pg_catalog, sbie, pg_temp', r.fn);
        ELSE
            RAISE WARNING 'sbie.harden: % keeps its search_path: login % does not own it', r.fn, current_user;
        END IF;
    END LOOP;

    IF pg_catalog.to_regnamespace('public') IS NOT NULL
       AND pg_catalog.has_schema_privilege('public', 'public', 'CREATE') THEN
        IF v_super OR pg_catalog.pg_has_role(current_user,
                          (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = 'public'), 'MEMBER') THEN
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
        ELSE
            RAISE WARNING 'sbie.harden: PUBLIC may create in schema public; as its owner run: REVOKE CREATE ON SCHEMA public FROM PUBLIC';
        END IF;
    END IF;

    IF v_super OR pg_catalog.pg_has_role(current_user,
                      (SELECT d.datdba FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()),
                      'MEMBER') THEN
        EXECUTE pg_catalog.format('ALTER DATABASE %I SET search_path = sbie, public', pg_catalog.current_database());
        EXECUTE pg_catalog.format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', pg_catalog.current_database());
        EXECUTE pg_catalog.format('GRANT TEMPORARY ON DATABASE %I TO workflow_owner, workflow_daemon, auditor',
                                  pg_catalog.current_database());
    ELSE
        RAISE WARNING 'sbie.harden: login % does not own the database: its default search_path and TEMP are unchanged',
            current_user;
    END IF;

    IF v_super THEN
        REVOKE EXECUTE ON FUNCTION pg_catalog.lo_creat(integer), pg_catalog.lo_create(oid), pg_catalog.lo_import(text),
            pg_catalog.lo_import(text, oid), pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;
    END IF;

    FOR r IN
        SELECT a.grantee::regrole AS grantee
        FROM pg_catalog.pg_namespace n, LATERAL pg_catalog.aclexplode(n.nspacl) a
        WHERE n.nspname = 'public' AND a.privilege_type = 'USAGE' AND a.grantee <> 0
          AND NOT pg_catalog.has_schema_privilege(a.grantee, 'sbie', 'USAGE')
    LOOP
        EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA sbie TO %s', r.grantee);
    END LOOP;

    IF EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members a WHERE a.roleid = 'workflow_record'::regrole) THEN
        RAISE WARNING 'sbie.harden: workflow_record has members; whoever holds it can disable the record''s triggers';
    END IF;
END
$$;
ALTER FUNCTION sbie.harden() OWNER TO workflow_record;
REVOKE ALL ON FUNCTION sbie.harden() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sbie.harden() TO workflow_owner;

SELECT sbie.harden();
