-- Issue 12: the register follows ICE's list edition after edition.
--
-- 1. agreement_status shows each agreement's provenance: the first and latest ICE
--    edition that listed it, the edition since which ICE no longer lists it, and, for a
--    duplicate listing resolved by the registrar, the agreement it repeats.
-- 2. Four registrar commands: record_edition, change_agreement_holder,
--    record_resigned_agreement, mark_duplicate_agreement (command_actor_kind below lists
--    every type).
-- 3. edition_imports: one row per ICE edition whose import plan was enqueued, whoever
--    enqueued it. claim_edition() is called in the import's transaction: the same edition
--    again, from any login, enqueues nothing; an edition older than one already claimed
--    is refused (SQLSTATE IE001). The daemon's decide re-checks the order against the log.

ALTER TABLE agreement_status
    ADD COLUMN first_edition    text,
    ADD COLUMN latest_edition   text,
    ADD COLUMN not_listed_since text,
    ADD COLUMN duplicate_of     text;

CREATE OR REPLACE FUNCTION command_actor_kind(p_command_type text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_command_type IN ('submit_termination_request', 'withdraw_termination_request',
                            'record_termination_notice') THEN 'agency'
    WHEN p_command_type IN ('schedule_review', 'record_board_vote', 'fill_board_seat',
                            'vacate_board_seat') THEN 'board'
    WHEN p_command_type IN ('register_agreement', 'rename_agency', 'correct_signed_date',
                            'record_local_government_vote', 'record_edition', 'change_agreement_holder',
                            'record_resigned_agreement', 'mark_duplicate_agreement') THEN 'register'
    WHEN p_command_type = 'end_agreement' THEN 'system'
END;

CREATE TABLE edition_imports (
    -- ICE's label: YYYY-MM-DD, optionally am/pm; labels order as text in publication order.
    edition       text        PRIMARY KEY CHECK (edition ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}(am|pm)?$'),
    claimed_by    text        NOT NULL DEFAULT session_user,
    claimed_at    timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    -- Commands the import enqueued.
    commands      integer     NOT NULL DEFAULT 0 CHECK (commands >= 0)
);

-- claim_edition(edition, commands): true when this call claimed the edition (enqueue the
-- plan in the same transaction); false when it was claimed before, by any login (enqueue
-- nothing). Errors: IE001 an edition later than this one was already claimed;
-- 22023 not an edition label; 42501 the login may not import (registrar or owner only).
CREATE FUNCTION claim_edition(p_edition text, p_commands integer) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_latest text;
    v_rows   integer;
BEGIN
    IF NOT (pg_catalog.pg_has_role(session_user, 'registrar', 'MEMBER')
            OR pg_catalog.pg_has_role(session_user, 'workflow_owner', 'MEMBER')) THEN
        RAISE EXCEPTION 'permission_denied: login % may not import ICE editions', session_user USING ERRCODE = '42501';
    END IF;
    IF p_edition IS NULL OR p_edition !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}(am|pm)?$' THEN
        RAISE EXCEPTION 'invalid edition %: YYYY-MM-DD, optionally am or pm', p_edition USING ERRCODE = '22023';
    END IF;
    -- One import at a time decides the order (released at commit).
    PERFORM pg_catalog.pg_advisory_xact_lock(287000012);
    SELECT max(edition) INTO v_latest FROM edition_imports;
    IF v_latest IS NOT NULL AND v_latest > p_edition THEN
        RAISE EXCEPTION 'edition_out_of_order: edition % is older than %, already imported; an older edition changes no current fact',
            p_edition, v_latest USING ERRCODE = 'IE001';
    END IF;
    INSERT INTO edition_imports (edition, commands) VALUES (p_edition, greatest(coalesce(p_commands, 0), 0))
    ON CONFLICT (edition) DO NOTHING;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows = 1;
END
$$;

ALTER TABLE edition_imports OWNER TO workflow_owner;
ALTER FUNCTION claim_edition(text, integer) OWNER TO workflow_owner;
REVOKE ALL ON edition_imports FROM PUBLIC;
REVOKE ALL ON FUNCTION claim_edition(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_edition(text, integer) TO registrar;
GRANT SELECT ON edition_imports TO registrar, board_staff, auditor;
