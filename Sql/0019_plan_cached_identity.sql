-- 0019: the identity checks every submission makes, planned once per session instead of on
-- every call (issue 17 item 4, commands end to end).
--
-- acting_login() (0011), current_agency_id() (0011) and json_has_repeated_key(json) (0006) were
-- SQL functions with a SET clause (SECURITY DEFINER or a pinned search_path; sbie.harden() pins
-- every function's): PostgreSQL never inlines such a function and plans its query again on every
-- call. acting_login's query joins pg_roles (a view over pg_authid and pg_db_role_setting) three
-- times: measured with track_functions = all, 2,000 submit_command calls by one client on an idle
-- server, acting_login took 294 us per call of submit_command's 478 us, json_has_repeated_key 61 us.
-- As plpgsql, each keeps its plans for the session: acting_login 15 us, json_has_repeated_key
-- 17 us, submit_command 133 us in all; pgbench -M prepared, submit_command of a register_agreement
-- payload: 1,391 -> 2,822 tps at 1 client and 2,775 -> 7,756 at 8 (raw INSERT 7,593 / 18,947 in
-- the same cluster). The RLS policies and every function that calls these gain the same way.
--
-- Same arguments, results, volatility, SECURITY DEFINER, owners and grants (CREATE OR REPLACE
-- keeps them); the same queries, word for word, inside RETURN. No new errors.

CREATE OR REPLACE FUNCTION acting_login() RETURNS name
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_auth_members m
        JOIN pg_catalog.pg_roles g ON g.oid = m.roleid AND g.rolname = 'sbie_authenticator'
        JOIN pg_catalog.pg_roles u ON u.oid = m.member AND u.rolname = session_user)
    THEN
        RETURN session_user;
    END IF;
    RETURN (SELECT r.rolname FROM pg_catalog.pg_roles r
            WHERE r.rolname = pg_catalog.current_setting('role') AND r.rolcanlogin AND NOT r.rolsuper
              AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                          JOIN pg_catalog.pg_roles g ON g.oid = m.member AND g.rolname = 'sbie_authenticator'
                          WHERE m.roleid = r.oid));
END
$$;

CREATE OR REPLACE FUNCTION current_agency_id() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN (SELECT agency_id FROM agency_logins WHERE login = acting_login());
END
$$;

-- json_has_repeated_key(value): as in 0006 (keys counted by their colons outside strings, in the
-- text as given and after jsonb has kept one of each repeated key).
CREATE OR REPLACE FUNCTION json_has_repeated_key(p_value json) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_with_repeats text := pg_catalog.regexp_replace(p_value::text, '"(?:[^"\\]|\\.)*"', '', 'g');
    v_without      text := pg_catalog.regexp_replace(p_value::jsonb::text, '"(?:[^"\\]|\\.)*"', '', 'g');
BEGIN
    RETURN pg_catalog.length(v_with_repeats) - pg_catalog.length(pg_catalog.replace(v_with_repeats, ':', ''))
        <> pg_catalog.length(v_without) - pg_catalog.length(pg_catalog.replace(v_without, ':', ''));
END
$$;
