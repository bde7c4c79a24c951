-- 0015: a liveness sign of the daemon for /health/ready when the daemon runs in another
-- process than `sbie serve` (with --with-daemon the server reads the daemon's own status).
--
-- Nothing new is written: an idle daemon already marks itself in queue_sleepers (0002) while
-- it waits on LISTEN, and every decision sets commands.processed_at. daemon_liveness() reads
-- both (the newest decided command by seq, a backward walk of seq's unique index, not a scan of
-- the queue: a later decision of an older timer command is not seen, which errs towards "not
-- ready", and only when no daemon sleeps), counting only sleepers whose backend is alive (pg_stat_activity; a crashed daemon's
-- row stays until the next daemon clears it).
--
-- Returns one row: sleepers (idle daemons waiting for commands, alive), last_decision_seconds
-- (seconds since the newest decided command's processed_at; NULL when no command was ever decided).
-- No errors of its own; counts and an age only, so the public role may call it.

CREATE FUNCTION daemon_liveness()
RETURNS TABLE (sleepers integer, last_decision_seconds double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT (SELECT count(*)::int FROM queue_sleepers s
            WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = s.backend_pid)),
           (SELECT extract(epoch FROM pg_catalog.clock_timestamp() - c.processed_at)::float8 FROM commands c
            WHERE c.status <> 'pending' ORDER BY c.seq DESC LIMIT 1)
$$;
COMMENT ON FUNCTION daemon_liveness() IS
    'Idle daemons waiting for commands (alive backends in queue_sleepers) and seconds since the last decision: /health/ready.';

ALTER FUNCTION daemon_liveness() OWNER TO workflow_owner;
REVOKE ALL ON FUNCTION daemon_liveness() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION daemon_liveness() TO web_anon, board_staff, registrar, auditor, workflow_daemon;
