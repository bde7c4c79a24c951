-- 0022: the daemon's batch commits in the round trip of its writes (issue 17 item 2).
--
-- The daemon used to read the new head's hash in its writes' pipeline, check in Swift that the
-- events landed where it predicted, then COMMIT in a round trip of its own. The check now runs
-- in the database, in the same pipeline, before its COMMIT: a batch whose events did not end
-- where the daemon predicted cannot commit (it never could: the writer's lock is held from the
-- batch's first statement and the append is dense; this is the guard against a bug).
--
-- batch_head(p_position): the hash of the event at p_position when that event is the log's
-- head. Raises ES005 (nothing of the caller's transaction can commit) when the head is
-- elsewhere or the log is empty. Read-only; for the daemon.
CREATE FUNCTION batch_head(p_position bigint) RETURNS bytea
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_head bigint;
    v_hash bytea;
BEGIN
    SELECT e.global_position, e.hash INTO v_head, v_hash FROM events e ORDER BY e.global_position DESC LIMIT 1;
    IF v_head IS DISTINCT FROM p_position THEN
        RAISE EXCEPTION 'batch_head: the log''s head is at position %, not at %, where this batch''s events were to end; nothing of the batch is committed',
            coalesce(v_head, 0), p_position USING ERRCODE = 'ES005';
    END IF;
    RETURN v_hash;
END
$$;

ALTER FUNCTION batch_head(bigint) OWNER TO workflow_owner;
REVOKE ALL ON FUNCTION batch_head(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION batch_head(bigint) TO workflow_daemon;
