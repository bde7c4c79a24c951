-- 0016: a bad edition date no longer blocks later imports; names hold no control or
-- format characters (a new user's trial of issues 12 and 13).
--
-- 1. claim_edition() checks the edition label as a real calendar date (1900-01-01 ..),
--    not after today's date in Florida (America/New_York): IE002 `edition_in_future`.
--    The order check (IE001) counts only editions that count: recorded in the log (an
--    `EditionRecorded` event with that `source_edition`) or still pending (a pending
--    `record_edition` command for it). A claim whose `record_edition` was rejected (or
--    never enqueued) no longer counts, and claiming its label again takes it over (returns
--    true). newest_edition() gives that same "newest edition" to `sbie import --plan`, so
--    the plan and the import agree.
--    Recovery for rows left by 0008 (e.g. a claim of 2099-01-01 whose record_edition the
--    daemon rejected as date_in_future): nothing to do; they stay as history in
--    edition_imports and are ignored by the order check.
-- 2. Names (register_agreement.agency_name and county, rename_agency.new_name,
--    change_agreement_holder.agency_name, fill_board_seat.member,
--    record_local_government_vote.body) may not hold control (Unicode Cc: NUL .. U+001F,
--    U+007F .. U+009F, newlines and tabs included) or format characters (Cf: soft hyphen,
--    bidi controls U+202A..U+202E and U+2066..U+2069, zero-width U+200B..U+200F, U+2060..,
--    BOM U+FEFF, tags, ...). A BEFORE INSERT trigger on commands refuses them, whoever
--    inserts (submit_command or a direct writer): CQ006 `invalid_name`, naming the field
--    and the code point (never echoing the character). The daemon's payload validation
--    refuses the same characters (`invalid_field_value`), for rows already queued.

-- Unicode Cc and Cf (Unicode 15.1), as a regular expression bracket (character-entry escapes).
CREATE FUNCTION name_forbidden_characters() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '[\u0000-\u001F\u007F-\u009F\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB\U000110BD\U000110CD\U00013430-\U0001343F\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0001\U000E0020-\U000E007F]';

-- The first name field of a command payload holding a forbidden character, as
-- 'field U+XXXX'; NULL when every name field is clean (or the type carries no name).
CREATE FUNCTION command_name_fault(p_command_type text, p_payload json) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_fields text[];
    v_field  text;
    v_value  text;
    v_char   text;
BEGIN
    v_fields := CASE p_command_type
        WHEN 'register_agreement' THEN ARRAY['agency_name', 'county']
        WHEN 'rename_agency' THEN ARRAY['new_name']
        WHEN 'change_agreement_holder' THEN ARRAY['agency_name']
        WHEN 'fill_board_seat' THEN ARRAY['member']
        WHEN 'record_local_government_vote' THEN ARRAY['body']
        ELSE ARRAY[]::text[]
    END;
    IF p_payload IS NULL OR pg_catalog.json_typeof(p_payload) <> 'object' THEN
        RETURN NULL;
    END IF;
    FOREACH v_field IN ARRAY v_fields LOOP
        v_value := p_payload ->> v_field;
        CONTINUE WHEN v_value IS NULL;
        v_char := (pg_catalog.regexp_match(v_value, name_forbidden_characters()))[1];
        IF v_char IS NOT NULL THEN
            RETURN v_field || ' U+' || pg_catalog.upper(pg_catalog.lpad(pg_catalog.to_hex(pg_catalog.ascii(v_char)), 4, '0'));
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE FUNCTION commands_names_are_clean() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_fault text;
BEGIN
    v_fault := command_name_fault(NEW.command_type, NEW.payload);
    IF v_fault IS NOT NULL THEN
        RAISE EXCEPTION 'invalid_name: field % holds % (a control or format character: newline, tab, bidi control, zero-width or similar); names may not hold them',
            pg_catalog.split_part(v_fault, ' ', 1), pg_catalog.split_part(v_fault, ' ', 2)
            USING ERRCODE = 'CQ006';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER commands_names_are_clean BEFORE INSERT ON commands
    FOR EACH ROW EXECUTE FUNCTION commands_names_are_clean();

-- The newest edition that counts for the order of imports: recorded in the log, or with
-- its record_edition still pending. NULL when none.
CREATE FUNCTION newest_edition() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT max(i.edition) FROM edition_imports i
    WHERE EXISTS (SELECT 1 FROM events e
                  WHERE e.event_type = 'EditionRecorded' AND e.data ->> 'source_edition' = i.edition)
       OR EXISTS (SELECT 1 FROM commands c
                  WHERE c.status = 'pending' AND c.command_type = 'record_edition'
                    AND c.payload ->> 'source_edition' = i.edition)
$$;

-- claim_edition(edition, commands): true when this call claimed the edition (enqueue the
-- plan in the same transaction); false when it is claimed and counts (recorded or pending),
-- by any login (enqueue nothing). Errors: IE001 an edition later than this one counts;
-- IE002 the edition's date is after today in Florida; 22023 not an edition label (a real
-- date from 1900-01-01, optionally am/pm); 42501 the login may not import.
CREATE OR REPLACE FUNCTION claim_edition(p_edition text, p_commands integer) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_latest text;
    v_date   date;
    v_today  date := (pg_catalog.now() AT TIME ZONE 'America/New_York')::date;
    v_counts boolean;
BEGIN
    IF NOT (pg_catalog.pg_has_role(session_user, 'registrar', 'MEMBER')
            OR pg_catalog.pg_has_role(session_user, 'workflow_owner', 'MEMBER')) THEN
        RAISE EXCEPTION 'permission_denied: login % may not import ICE editions', session_user USING ERRCODE = '42501';
    END IF;
    IF p_edition IS NULL OR p_edition !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}(am|pm)?$' THEN
        RAISE EXCEPTION 'invalid edition %: YYYY-MM-DD, optionally am or pm', pg_catalog.left(p_edition, 40) USING ERRCODE = '22023';
    END IF;
    BEGIN
        v_date := pg_catalog.to_date(pg_catalog.left(p_edition, 10), 'YYYY-MM-DD');
        -- to_date is lenient in some versions: the date must print back as written.
        IF pg_catalog.to_char(v_date, 'YYYY-MM-DD') <> pg_catalog.left(p_edition, 10) THEN
            v_date := NULL;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        v_date := NULL;
    END;
    IF v_date IS NULL OR v_date < DATE '1900-01-01' THEN
        RAISE EXCEPTION 'invalid edition %: not a calendar date (YYYY-MM-DD from 1900-01-01, optionally am or pm)', p_edition
            USING ERRCODE = '22023';
    END IF;
    IF v_date > v_today THEN
        RAISE EXCEPTION 'edition_in_future: edition % is dated after today in Florida (%); ICE cannot have published it yet', p_edition, v_today
            USING ERRCODE = 'IE002';
    END IF;
    -- One import at a time decides the order (released at commit).
    PERFORM pg_catalog.pg_advisory_xact_lock(287000012);
    v_latest := newest_edition();
    IF v_latest IS NOT NULL AND v_latest > p_edition THEN
        RAISE EXCEPTION 'edition_out_of_order: edition % is older than %, already imported; an older edition changes no current fact',
            p_edition, v_latest USING ERRCODE = 'IE001';
    END IF;
    SELECT true INTO v_counts FROM edition_imports i WHERE i.edition = p_edition
        AND (EXISTS (SELECT 1 FROM events e
                     WHERE e.event_type = 'EditionRecorded' AND e.data ->> 'source_edition' = i.edition)
             OR EXISTS (SELECT 1 FROM commands c
                        WHERE c.status = 'pending' AND c.command_type = 'record_edition'
                          AND c.payload ->> 'source_edition' = i.edition));
    IF v_counts THEN
        RETURN false;
    END IF;
    -- New, or a claim that no longer counts (its record_edition was rejected): take it.
    INSERT INTO edition_imports (edition, commands) VALUES (p_edition, greatest(coalesce(p_commands, 0), 0))
    ON CONFLICT (edition) DO UPDATE
        SET claimed_by = session_user, claimed_at = pg_catalog.clock_timestamp(), commands = EXCLUDED.commands;
    RETURN true;
END
$$;

ALTER FUNCTION name_forbidden_characters() OWNER TO workflow_owner;
ALTER FUNCTION command_name_fault(text, json) OWNER TO workflow_owner;
ALTER FUNCTION commands_names_are_clean() OWNER TO workflow_owner;
ALTER FUNCTION newest_edition() OWNER TO workflow_owner;
ALTER FUNCTION claim_edition(text, integer) OWNER TO workflow_owner;
REVOKE ALL ON FUNCTION name_forbidden_characters() FROM PUBLIC;
REVOKE ALL ON FUNCTION command_name_fault(text, json) FROM PUBLIC;
REVOKE ALL ON FUNCTION commands_names_are_clean() FROM PUBLIC;
REVOKE ALL ON FUNCTION newest_edition() FROM PUBLIC;
REVOKE ALL ON FUNCTION claim_edition(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION name_forbidden_characters(), command_name_fault(text, json)
    TO workflow_daemon, agency_clerk, board_staff, registrar, auditor;
GRANT EXECUTE ON FUNCTION newest_edition() TO registrar, board_staff, auditor;
GRANT EXECUTE ON FUNCTION claim_edition(text, integer) TO registrar;
