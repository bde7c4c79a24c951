-- event_hash and event_hash_field were declared IMMUTABLE, but their bodies call
-- to_char(timestamp, text) and convert_to(text, name), which are STABLE. PostgreSQL
-- does not inline a SQL function whose body is more volatile than its declaration,
-- so every event hashed ran both functions through the SQL-function executor
-- (detoast, parse and plan the body per call): about 0.7 ms of the 1 ms each event
-- cost inside append_events (perf, 100-event appends). Declared STABLE, which is
-- what they are, both inline into append_events' expression; the hash is unchanged.
ALTER FUNCTION event_hash_field(text) STABLE;
ALTER FUNCTION event_hash(bytea, bigint, text, integer, uuid, text, json, json, timestamptz) STABLE;
