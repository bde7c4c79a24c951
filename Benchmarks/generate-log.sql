-- A large event log for measuring what a user waits for at 100k and 1M events (issue 17 item 6).
-- Not part of the shipped sbie: run by Benchmarks/log-size (or by hand with psql) on a migrated,
-- throwaway database:
--
--   psql -v events=100000 -f Benchmarks/generate-log.sql "dbname=..."
--
-- Appends through sbie.append_events_batch (so the hash chain, positions and versions are the
-- function's own), one transaction per call of 100 agreements x 10 events = 1,000 events:
-- per agreement, AgreementRegistered from the first of 10 editions, then AgreementDetailsUpdated
-- from each later edition (another COUNTY or TYPE, as a new edition prints). Agencies have 1-3
-- agreements (TFM, then WSO, then JEM). occurred_at is each edition's date. Appends after
-- what is already there (the log may hold other events). :events is rounded up to 1,000.
\set ON_ERROR_STOP on
SET search_path = sbie, public;
SET sbie.generate_events = :'events';
SELECT coalesce(max(global_position), 0) AS before FROM events \gset
DO $$
DECLARE
    v_target  bigint := pg_catalog.current_setting('sbie.generate_events')::bigint;
    v_calls   integer;
    v_base    integer;
    v_appends json;
BEGIN
    v_calls := (v_target + 999) / 1000;
    SELECT count(*) INTO v_base FROM events WHERE event_type = 'AgreementRegistered' AND stream_id LIKE 'agreement-generated-%';
    FOR c IN 0 .. v_calls - 1 LOOP
        SELECT json_agg(json_build_object(
                   'stream_id', 'agreement-' || g.agreement_id, 'expected_version', 'no_stream',
                   'events', (SELECT json_agg(json_build_object(
                                  'event_id', pg_catalog.gen_random_uuid(),
                                  'event_type', CASE WHEN k = 0 THEN 'AgreementRegistered' ELSE 'AgreementDetailsUpdated' END,
                                  'data', CASE WHEN k = 0 THEN json_build_object(
                                              'agency_id', g.agency_id, 'agency_name', g.agency_name,
                                              'agency_type', g.agency_type, 'agreement_id', g.agreement_id,
                                              'county', g.county, 'model', g.model, 'signed_on', g.signed_on,
                                              'source_edition', to_char(date '2024-01-05' + k * 30, 'YYYY-MM-DD'))
                                          ELSE json_build_object(
                                              'agency_type', g.agency_type, 'agreement_id', g.agreement_id,
                                              'county', g.county || CASE WHEN k % 3 = 0 THEN ' County' ELSE '' END,
                                              'moa_url', 'https://www.ice.gov/doclib/287gMOA/' || g.agency_id || '.pdf',
                                              'source_edition', to_char(date '2024-01-05' + k * 30, 'YYYY-MM-DD')) END,
                                  'metadata', json_build_object('actor', 'generator', 'command_type', 'import_edition', 'agency_id', g.agency_id),
                                  'occurred_at', to_char(date '2024-01-05' + k * 30, 'YYYY-MM-DD') || 'T12:00:00Z')
                                  ORDER BY k)
                              FROM generate_series(0, 9) k))
                   ORDER BY g.n)
        INTO v_appends
        FROM (SELECT n, agency || '.' || lower(model) || '.' || signed_on AS agreement_id, agency AS agency_id,
                     'Generated Police Department ' || lpad((n / 3)::text, 7, '0') AS agency_name,
                     CASE n % 5 WHEN 0 THEN 'County' WHEN 1 THEN 'State Agency' ELSE 'Municipality' END AS agency_type,
                     'County ' || (n % 67) AS county, model, signed_on
              FROM (SELECT n, 'generated-police-department-' || lpad((n / 3)::text, 7, '0') AS agency,
                           (ARRAY['TFM', 'WSO', 'JEM'])[n % 3 + 1] AS model,
                           to_char(date '2019-01-01' + (n % 2000), 'YYYY-MM-DD') AS signed_on
                    FROM generate_series(v_base + c * 100, v_base + c * 100 + 99) n) a) g;
        PERFORM 1 FROM append_events_batch(v_appends);
        COMMIT;
    END LOOP;
END
$$;
SELECT coalesce(max(global_position), 0) - :before AS appended, coalesce(max(global_position), 0) AS head FROM events;
