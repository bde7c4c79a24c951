-- A large event log for measuring what a user waits for at 100k and 1M events (issue 17 item 6).
-- Not part of the shipped sbie: run by Benchmarks/log-size (or by hand with psql) on a migrated,
-- throwaway database:
--
--   psql -v events=100000 [-v agreements=2000] [-v dates=backfill] -f Benchmarks/generate-log.sql "dbname=..."
--
-- Appends through sbie.append_events_batch (so the hash chain, positions and versions are the
-- function's own), one transaction per call of 100 agreements x 10 events = 1,000 events:
-- per agreement, AgreementRegistered (on its first visit) then AgreementDetailsUpdated, one per
-- edition (another COUNTY or TYPE, as a new edition prints). Agencies have 1-3 agreements (TFM,
-- then WSO, then JEM). Appends after what is already there (the log may hold other events).
-- :events is rounded up to 1,000.
--
-- agreements (default 0: no limit): at most this many agreements; later calls visit them again
-- (10 more detail updates each), so the register stops growing while the log grows (Florida
-- has about 350 agreements; 0 gives 100,000 agreements at 1M events).
-- dates (default chronological): each call is one edition, a day after the previous call's, and
-- every event of the call is dated that day (signed_on of a new agreement too): legal time
-- follows log order, as when editions are imported as they are published. `backfill`: each
-- agreement's 10 events carry 10 editions 30 days apart (2024-01-05 ..) and signed dates
-- 2019-01-01 .. 2024-06-22, so legal dates interleave across agreements along the whole log
-- (a history imported at once).
\set ON_ERROR_STOP on
SET search_path = sbie, public;
\if :{?agreements}
\else
\set agreements 0
\endif
\if :{?dates}
\else
\set dates chronological
\endif
SET sbie.generate_events = :'events';
SET sbie.generate_agreements = :'agreements';
SET sbie.generate_dates = :'dates';
SELECT coalesce(max(global_position), 0) AS before FROM events \gset
DO $$
DECLARE
    v_target  bigint := pg_catalog.current_setting('sbie.generate_events')::bigint;
    v_limit   bigint := pg_catalog.current_setting('sbie.generate_agreements')::bigint;
    v_backfill boolean := pg_catalog.current_setting('sbie.generate_dates') = 'backfill';
    v_calls   integer;
    v_round   integer;
    v_appends json;
BEGIN
    IF pg_catalog.current_setting('sbie.generate_dates') NOT IN ('chronological', 'backfill') THEN
        RAISE EXCEPTION 'dates must be chronological or backfill';
    END IF;
    v_calls := (v_target + 999) / 1000;
    -- Calls already made (1,000 generated events each).
    SELECT count(*) / 1000 INTO v_round FROM events WHERE stream_id LIKE 'agreement-generated-%';
    FOR c IN 0 .. v_calls - 1 LOOP
        SELECT json_agg(json_build_object(
                   'stream_id', 'agreement-' || g.agreement_id, 'expected_version', CASE WHEN g.first THEN 'no_stream' ELSE 'any' END,
                   'events', (SELECT json_agg(json_build_object(
                                  'event_id', pg_catalog.gen_random_uuid(),
                                  'event_type', CASE WHEN k = 0 AND g.first THEN 'AgreementRegistered' ELSE 'AgreementDetailsUpdated' END,
                                  'data', CASE WHEN k = 0 AND g.first THEN json_build_object(
                                              'agency_id', g.agency_id, 'agency_name', g.agency_name,
                                              'agency_type', g.agency_type, 'agreement_id', g.agreement_id,
                                              'county', g.county, 'model', g.model, 'signed_on', g.signed_on,
                                              'source_edition', to_char(e.day, 'YYYY-MM-DD'))
                                          ELSE json_build_object(
                                              'agency_type', g.agency_type, 'agreement_id', g.agreement_id,
                                              'county', g.county || CASE WHEN k % 3 = 0 THEN ' County' ELSE '' END,
                                              'moa_url', 'https://www.ice.gov/doclib/287gMOA/' || g.agency_id || '.pdf',
                                              'source_edition', to_char(e.day, 'YYYY-MM-DD')) END,
                                  'metadata', json_build_object('actor', 'generator', 'command_type', 'import_edition', 'agency_id', g.agency_id),
                                  'occurred_at', to_char(e.day, 'YYYY-MM-DD') || 'T12:00:00Z')
                                  ORDER BY k)
                              FROM generate_series(0, 9) k,
                                   LATERAL (SELECT CASE WHEN v_backfill THEN date '2024-01-05' + k * 30
                                                        ELSE date '2010-01-01' + (v_round + c) END AS day) e))
                   ORDER BY g.n)
        INTO v_appends
        FROM (SELECT n, first, agency || '.' || lower(model) || '.' || signed_on AS agreement_id, agency AS agency_id,
                     'Generated Police Department ' || lpad((n / 3)::text, 7, '0') AS agency_name,
                     CASE n % 5 WHEN 0 THEN 'County' WHEN 1 THEN 'State Agency' ELSE 'Municipality' END AS agency_type,
                     'County ' || (n % 67) AS county, model, signed_on
              FROM (SELECT n, first, 'generated-police-department-' || lpad((n / 3)::text, 7, '0') AS agency,
                           (ARRAY['TFM', 'WSO', 'JEM'])[n % 3 + 1] AS model,
                           -- Chronological: the day of the agreement's first call (its first edition).
                           to_char(CASE WHEN v_backfill THEN date '2019-01-01' + (n % 2000)
                                        ELSE date '2010-01-01' + (n / 100) END, 'YYYY-MM-DD') AS signed_on
                    FROM (SELECT (CASE WHEN v_limit > 0 THEN r % v_limit ELSE r END)::integer AS n,
                                 v_limit = 0 OR r < v_limit AS first
                          FROM generate_series((v_round + c) * 100::bigint, (v_round + c) * 100::bigint + 99) r) v) a) g;
        PERFORM 1 FROM append_events_batch(v_appends);
        COMMIT;
    END LOOP;
END
$$;
SELECT coalesce(max(global_position), 0) - :before AS appended, coalesce(max(global_position), 0) AS head FROM events;
