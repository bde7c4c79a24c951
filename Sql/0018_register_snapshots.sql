-- 0018: snapshots of the folded register, so that a point-in-time read (`status --as-of`,
-- the API's `as_of`) folds a short suffix of the log instead of the whole log (issue 17
-- item 6).
--
-- 1. register_snapshots: the register (`RegisterState`, encoded by the Swift code, format
--    `format`) folded from position 0 through `global_position`, with the hash of the event
--    at that position and the largest legal instant of any event at or below it. Derived
--    data, never trusted blindly: a reader uses a snapshot only if its `event_hash` equals
--    the log's hash at its position (a restored or rewound database) and its format is the
--    code's; anything else is ignored and the log folded instead.
-- 2. event_legal_time: the legal instant of each event (its own date, else the latest legal
--    date on its clock, else occurred_at: `Projections.foldLog(occurredBefore:)`), for every
--    position up to the newest snapshot, so that an as-of-date read finds the events after
--    a snapshot that are before a date by an index instead of reading them all.
--
-- Both are written only by the snapshot writer (`Snapshots.catchUp`, the daemon's
-- `SnapshotService`, or the owner), never by a reader: a reader that could write a
-- snapshot could make every later point-in-time read lie. Readers: the roles that may read
-- `events` (the register they summarise is the one those roles fold themselves).

CREATE TABLE register_snapshots (
    global_position bigint      PRIMARY KEY CHECK (global_position >= 1),
    event_hash      bytea       NOT NULL CHECK (length(event_hash) = 32),
    -- The encoding's version (`Snapshots.format`); a snapshot of another format is ignored.
    format          integer     NOT NULL CHECK (format >= 1),
    -- max(event_legal_time.legal_at) over positions <= global_position.
    max_legal_at    timestamptz NOT NULL,
    -- The snapshot written before this one (0: none), and the smallest legal instant of the
    -- events in (previous_position, global_position]: an as-of-date read skips the segments
    -- that hold no event before its date.
    previous_position bigint    NOT NULL CHECK (previous_position >= 0 AND previous_position < global_position),
    min_legal_in_segment timestamptz NOT NULL,
    -- The encoded register (JSON text, `Snapshots.encode`): text, not bytea, so that it is
    -- read without a hex round trip.
    state           text        NOT NULL,
    -- Only the legal clocks and the policy register at that position (`RegisterState.clocksOnly`,
    -- same encoding): enough to date the events after it, without decoding `state`.
    clocks          text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE event_legal_time (
    global_position bigint      PRIMARY KEY CHECK (global_position >= 1),
    legal_at        timestamptz NOT NULL
);
-- "The events after position P whose legal instant is before t": a range on legal_at,
-- filtered by position (P is the newest snapshot below t's, so the range is the short part).
CREATE INDEX event_legal_time_legal_idx ON event_legal_time (legal_at, global_position);

ALTER TABLE register_snapshots OWNER TO workflow_owner;
ALTER TABLE event_legal_time OWNER TO workflow_owner;
REVOKE ALL ON register_snapshots, event_legal_time FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON register_snapshots, event_legal_time TO workflow_daemon;
GRANT SELECT ON register_snapshots, event_legal_time TO board_staff, registrar, auditor;
