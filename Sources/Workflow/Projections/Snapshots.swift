import Foundation
import Logging
import ServiceLifecycle

/// Snapshots of the folded register (`register_snapshots`, migration 0018), so that a
/// point-in-time read folds a short suffix of the log instead of all of it (issue 17 item 6).
///
/// A snapshot at position P is `RegisterState` folded from position 1 through P, encoded
/// as JSON (`RegisterState`'s `Codable` form, format `Snapshots.format`), with the hash of
/// the event at P and the largest legal instant of the events at or below P. Beside the
/// snapshots, `event_legal_time` holds each event's legal instant (as
/// `Projections.foldLog(occurredBefore:)` computes it) up to the newest snapshot.
///
/// Snapshots are derived data, never trusted blindly: a reader takes one only when its
/// format is this code's and its hash equals the log's hash at its position (so a restored
/// or rewound database, whose event at P differs, ignores it); otherwise it takes an older
/// one or folds from position 0. Because the hash chain covers every earlier event, a
/// matching hash at P vouches for the whole prefix the snapshot summarises.
///
/// Only the snapshot writer (`catchUp`: the daemon's `SnapshotService`, or the owner)
/// writes them; readers (auditor, board_staff, registrar, the daemon) may only read.
public enum Snapshots {
    /// The encoding's version. Bump it whenever `RegisterState`'s stored shape (or that of
    /// anything inside it) or the meaning of `apply` changes: snapshots of another format
    /// are ignored and rewritten by the next `catchUp`. `SnapshotTests` pins the encoded
    /// keys so that a change of shape without a bump fails a test.
    public static let format: Int32 = 1

    /// How often to snapshot, in events.
    public struct Policy: Sendable, Equatable {
        /// At least this many events between two snapshots (default 1,000).
        public var minimumInterval: Int64 = 1_000
        /// And at least (encoded size of the last snapshot / this) events: snapshots cost at
        /// most about this many bytes per event of log (default 1,024), so that a large
        /// register is snapshotted less often instead of filling the disk.
        public var bytesPerEvent: Int = 1_024
        /// At most this many events folded per `catchUp` transaction (default 100,000).
        public var maximumBatch: Int64 = 100_000
        /// The defaults above.
        public init() {}
    }

    /// A usable snapshot, decoded.
    public struct Loaded: Sendable {
        /// The global position the register was folded to (its hash matched the log's).
        public var position: Int64
        /// The largest legal instant of the events at or below `position`.
        public var maxLegalAt: Timestamp
        /// The register as of `position`.
        public var state: RegisterState
        /// The encoded snapshot's size in bytes.
        public var bytes: Int
        /// The hash of the event at `position` (SHA-256, 32 bytes), as the log holds it.
        public var eventHash: [UInt8]
    }

    // MARK: Encoding

    /// The snapshot text of a state (JSON, `RegisterState`'s `Codable` form).
    public static func encode(_ state: RegisterState) throws -> String {
        String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
    }

    /// The state a snapshot text holds.
    /// - Throws: a `DecodingError` when the text is not this format's.
    public static func decode(_ text: String) throws -> RegisterState {
        try JSONDecoder().decode(RegisterState.self, from: Data(text.utf8))
    }

    // MARK: Reading

    /// The newest usable snapshot at or below `position` (and, when given, whose
    /// `max_legal_at` is before `legalBefore`), decoded; nil when there is none. A snapshot
    /// that does not decode is logged and skipped (an older one is tried).
    /// - Throws: `PostgresError`.
    /// - Parameter view: the log the snapshot is checked against: `.publicEvents` for the
    ///   public role (`web_anon`, 0023), which may read the snapshots but not `events`.
    public static func newest(
        atOrBelow position: Int64 = .max, legalBefore: Timestamp? = nil, view: EventLogView = .events,
        on connection: isolated Connection
    ) throws -> Loaded? {
        var below = position
        while true {
            // Valid: this format, and the hash of the event at its position (a join on the
            // primary key; a snapshot above the head or of another history does not join).
            let rows = try connection.query(
                """
                SELECT s.global_position, s.max_legal_at, s.state, e.hash FROM register_snapshots s
                JOIN \(view.rawValue) e ON e.global_position = s.global_position AND e.hash = s.event_hash
                WHERE s.format = $1 AND s.global_position <= $2 AND ($3::timestamptz IS NULL OR s.max_legal_at < $3)
                ORDER BY s.global_position DESC LIMIT 1
                """, [format, below, legalBefore], name: "newest snapshot").rows
            guard let row = rows.first else { return nil }
            let at: Int64 = try row.decode(0)
            do {
                let text: String = try row.decode(2)
                return Loaded(position: at, maxLegalAt: try row.decode(1), state: try decode(text), bytes: text.utf8.count,
                              eventHash: try row.decode(3))
            } catch {
                connection.logger.warning("register snapshot ignored: it does not decode", metadata: [
                    "position": "\(at)", "error": "\(error)"])
                guard at > 1 else { return nil }
                below = at - 1
            }
        }
    }

    /// The register as of a point in time, from the newest usable snapshot plus the events
    /// after it (the same result as `Projections.foldLog` from position 0: `SnapshotTests`).
    ///
    /// - `.position(n)`: the newest usable snapshot P <= n, then the events (P, n].
    /// - `.occurredBefore(t)`: the newest usable snapshot P whose events are all before t
    ///   (`max_legal_at < t`: then the state as of t holds every event <= P), then the
    ///   events in (P, L] before t found by `event_legal_time` (L: the newest usable
    ///   snapshot), then every event after L, dated against L's legal clocks (stored beside
    ///   the register: `RegisterState.clocksOnly`).
    ///
    /// Cost: one register decode (plus the small clocks decode for a date before L's newest
    /// legal instant), plus the events read after the snapshot.
    /// - Throws: `PostgresError`; a decoding error for an event whose data does not match its type.
    ///
    /// `view`: the log read, `.events` (the default) or `.publicEvents` for the public role
    /// (`web_anon`), which reads the same snapshots (0023: a fold never reads metadata, the only
    /// column the view changes, so the register is the same) and checks them against the view.
    public static func fold(asOf: AsOf, view: EventLogView = .events, on connection: isolated Connection) throws
        -> (state: RegisterState, position: Int64, events: Int) {
        switch asOf {
        case .position(let n):
            let position = max(n, 0)
            let start = try newest(atOrBelow: position, view: view, on: connection)
            return try Projections.foldLog(
                upTo: position, view: view,
                from: start.map { .init(state: $0.state, full: RegisterState(), position: $0.position, events: Int($0.position)) },
                on: connection)
        case .occurredBefore(let instant):
            guard let last = try newestPosition(view: view, on: connection) else {
                return try Projections.foldLog(occurredBefore: instant, view: view, on: connection)
            }
            if last.maxLegalAt < instant,
               let start = try newest(atOrBelow: last.position, legalBefore: instant, view: view, on: connection),
               start.position == last.position {
                // Every event up to the newest snapshot is before the instant: one decode.
                return try Projections.foldLog(
                    occurredBefore: instant, view: view,
                    from: .init(state: start.state, full: start.state, position: start.position, events: Int(start.position)),
                    on: connection)
            }
            // The legal clocks at L date the events after it (a small decode, not the register's).
            guard let clocks = try clocks(at: last.position, on: connection) else {
                return try Projections.foldLog(occurredBefore: instant, view: view, on: connection)
            }
            let first = try newest(atOrBelow: last.position, legalBefore: instant, view: view, on: connection)
            var state = first?.state ?? RegisterState()
            var count = Int(first?.position ?? 0)
            let decoder = JSONDecoder()
            // The events in (P, L] before the instant, in log order: only in the segments between
            // snapshots that hold one (`min_legal_in_segment`), read by position.
            for range in try segments(after: first?.position ?? 0, through: last.position, before: instant, view: view,
                                      on: connection) {
                var after = range.lowerBound
                while true {
                    let batch = try EventStore.decodeEvents(connection.query(
                        """
                        SELECT \(EventStore.eventColumns) FROM \(view.rawValue) WHERE global_position IN (
                            SELECT global_position FROM event_legal_time
                            WHERE legal_at < $1 AND global_position > $2 AND global_position <= $3
                            ORDER BY global_position LIMIT $4)
                        ORDER BY global_position
                        """, [instant, after, range.upperBound, 10_000], name: "legal suffix"))
                    guard let end = batch.last else { break }
                    for event in batch { state.apply(try event.domainEvent(using: decoder), stream: event.streamID) }
                    count += batch.count
                    after = end.globalPosition
                }
            }
            return try Projections.foldLog(
                occurredBefore: instant, view: view,
                from: .init(state: state, full: clocks, position: last.position, events: count),
                on: connection)
        }
    }

    /// The position ranges (lower bound excluded, upper included) within (`after`, `through`]
    /// that may hold an event before `instant`: the segments between consecutive usable
    /// snapshots whose `min_legal_in_segment` is before it, adjacent ones merged. When the
    /// usable snapshots in that range do not form an unbroken chain (`previous_position`),
    /// the whole range.
    static func segments(after: Int64, through: Int64, before instant: Timestamp, view: EventLogView = .events,
                         on connection: isolated Connection) throws -> [ClosedRange<Int64>] {
        guard after < through else { return [] }
        let rows = try connection.query(
            """
            SELECT s.previous_position, s.global_position, s.min_legal_in_segment < $4 FROM register_snapshots s
            JOIN \(view.rawValue) e ON e.global_position = s.global_position AND e.hash = s.event_hash
            WHERE s.format = $1 AND s.global_position > $2 AND s.global_position <= $3 ORDER BY s.global_position
            """, [format, after, through, instant], name: "snapshot segments").rows
        var ranges: [ClosedRange<Int64>] = []
        var previous = after
        for row in rows {
            let (from, to, holds): (Int64, Int64, Bool) = (try row.decode(0), try row.decode(1), try row.decode(2))
            guard from == previous else { return [after...through] }  // a broken chain: read it all
            if holds {
                if let last = ranges.last, last.upperBound == from { ranges[ranges.count - 1] = last.lowerBound...to }
                else { ranges.append(from...to) }
            }
            previous = to
        }
        guard previous == through else { return [after...through] }
        return ranges
    }

    /// The newest usable snapshot's position and `max_legal_at` (nothing decoded).
    static func newestPosition(view: EventLogView = .events, on connection: isolated Connection) throws
        -> (position: Int64, maxLegalAt: Timestamp)? {
        guard let row = try connection.query(
            """
            SELECT s.global_position, s.max_legal_at FROM register_snapshots s
            JOIN \(view.rawValue) e ON e.global_position = s.global_position AND e.hash = s.event_hash
            WHERE s.format = $1 ORDER BY s.global_position DESC LIMIT 1
            """, [format], name: "newest snapshot position").rows.first
        else { return nil }
        return (try row.decode(0), try row.decode(1))
    }

    /// The legal clocks and policy register stored with the snapshot at `position`
    /// (`RegisterState.clocksOnly`); nil (logged) when they do not decode.
    static func clocks(at position: Int64, on connection: isolated Connection) throws -> RegisterState? {
        guard let row = try connection.query("SELECT clocks FROM register_snapshots WHERE global_position = $1",
                                             [position], name: "snapshot clocks").rows.first
        else { return nil }
        do {
            return try decode(try row.decode(0))
        } catch {
            connection.logger.warning("register snapshot's clocks ignored: they do not decode",
                                      metadata: ["position": "\(position)", "error": "\(error)"])
            return nil
        }
    }

    // MARK: Writing

    /// Inserts the legal instants gathered, then empties the arrays.
    private static func flushLegal(_ positions: inout [Int64], _ legalTimes: inout [Timestamp],
                                   on connection: isolated Connection) throws {
        guard !positions.isEmpty else { return }
        try connection.query(
            "INSERT INTO event_legal_time (global_position, legal_at) SELECT * FROM unnest($1::bigint[], $2::timestamptz[])",
            [PostgresArray(positions), PostgresArray(legalTimes)], name: "legal times")
        positions.removeAll(keepingCapacity: true)
        legalTimes.removeAll(keepingCapacity: true)
    }

    /// What one `catchUp` did.
    public struct CatchUp: Sendable, Equatable {
        /// The newest usable snapshot before, and after.
        public var from: Int64
        /// The newest usable snapshot's position after it (equal to `from` when none was written).
        public var to: Int64
        /// Snapshots written.
        public var written: Int
        /// Unusable snapshots deleted (another history, another format, above the head).
        public var discarded: Int
        /// Events folded.
        public var events: Int
    }

    /// Brings the snapshots up to the log: from the newest usable snapshot, folds at most
    /// `policy.maximumBatch` events, records each one's legal instant in `event_legal_time`
    /// and writes a snapshot at each due position (`policy`), in one transaction. Unusable
    /// snapshots (another format, or a hash that does not match the log: a restored or
    /// rewound database) and the legal instants above the newest usable snapshot are
    /// deleted first. Several writers may run: a transaction-level advisory lock lets one
    /// at a time in; the others return at once (`written` 0).
    ///
    /// The login needs `workflow_daemon` (or owner) privileges on `register_snapshots` and
    /// `event_legal_time`, and SELECT on `events`.
    /// - Throws: `PostgresError`; a decoding error for an event whose data does not match its type.
    @discardableResult
    public static func catchUp(policy: Policy = .init(), on connection: isolated Connection) throws -> CatchUp {
        try connection.transaction { c in
            // One writer at a time (the key is 'sbie snapshots' as an int8).
            let locked: Bool = try c.query("SELECT pg_catalog.pg_try_advisory_xact_lock(7362627218001)",
                                           name: "snapshot lock").rows[0].decode(0)
            let base = try newest(on: c)
            let from = base?.position ?? 0
            guard locked else { return CatchUp(from: from, to: from, written: 0, discarded: 0, events: 0) }
            let discarded: Int = try c.query(
                """
                WITH gone AS (DELETE FROM register_snapshots s WHERE s.format <> $1 OR s.global_position > $2
                              OR NOT EXISTS (SELECT 1 FROM events e WHERE e.global_position = s.global_position
                                             AND e.hash = s.event_hash) RETURNING 1),
                     legal AS (DELETE FROM event_legal_time WHERE global_position > $2)
                SELECT count(*)::int FROM gone
                """, [format, from], name: "snapshot discard").rows[0].decode(0)
            if discarded > 0 {
                c.logger.warning("register snapshots discarded: another format or history, or above the head",
                                 metadata: ["count": "\(discarded)", "newest_usable": "\(from)"])
            }
            var state = base?.state ?? RegisterState()
            var maxLegal = base?.maxLegalAt ?? Timestamp(microsecondsSinceEpoch: .min)
            var lastSnapshot = from
            var segmentMin = Timestamp(microsecondsSinceEpoch: .max)
            var lastSize = base?.bytes ?? 0
            var after = from
            var written = 0, events = 0
            let decoder = JSONDecoder()
            let limit = from + max(policy.maximumBatch, 1)
            var positions: [Int64] = [], legalTimes: [Timestamp] = []
            reading: while after < limit {
                let batch = try EventStore.readAll(after: after, limit: Int(min(10_000, limit - after)), on: c)
                guard !batch.isEmpty else { break }
                for event in batch {
                    let decoded = try event.domainEvent(using: decoder)
                    let legal = state.legalDate(of: decoded).map { Timestamp($0.startInstant) } ?? event.occurredAt
                    state.apply(decoded, stream: event.streamID)
                    maxLegal = max(maxLegal, legal)
                    segmentMin = min(segmentMin, legal)
                    positions.append(event.globalPosition)
                    legalTimes.append(legal)
                    after = event.globalPosition
                    events += 1
                    let due = max(policy.minimumInterval, Int64(lastSize / max(policy.bytesPerEvent, 1)))
                    if after - lastSnapshot >= due {
                        let text = try encode(state)
                        try flushLegal(&positions, &legalTimes, on: c)
                        try c.query(
                            """
                            INSERT INTO register_snapshots (global_position, event_hash, format, max_legal_at, state, clocks,
                                                            previous_position, min_legal_in_segment)
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                            """, [after, event.hash, format, maxLegal, text, try encode(state.clocksOnly), lastSnapshot, segmentMin],
                            name: "snapshot write")
                        lastSnapshot = after
                        segmentMin = Timestamp(microsecondsSinceEpoch: .max)
                        lastSize = text.utf8.count
                        written += 1
                    }
                    if after >= limit { break reading }
                }
            }
            // The legal instants gathered after the newest snapshot are dropped: only the prefix
            // a snapshot vouches for is indexed (each snapshot's write flushed those before it).
            if written > 0 {
                c.logger.info("register snapshots written", metadata: [
                    "count": "\(written)", "newest": "\(lastSnapshot)", "bytes": "\(lastSize)"])
            }
            return CatchUp(from: from, to: lastSnapshot, written: written, discarded: discarded, events: events)
        }
    }
}

extension Snapshots {
    /// The result of checking the snapshots against a fold of the log (`check`).
    public struct Check: Sendable, Equatable, Codable {
        /// Events folded.
        public var events: Int
        /// Usable snapshots compared (this format, hash matching the log).
        public var snapshots: Int
        /// Positions of usable snapshots whose register or `max_legal_at` differs from the fold.
        public var differingSnapshots: [Int64]
        /// `event_legal_time` rows compared, and those that differ, are missing (up to the
        /// newest usable snapshot) or are extra (above it).
        public var legalTimes: Int
        public var differingLegalTimes: Int
        /// True when every snapshot and every legal time equals a fold of the log.
        public var matches: Bool { differingSnapshots.isEmpty && differingLegalTimes == 0 }
    }

    /// Folds the log from position 0 in one REPEATABLE READ snapshot and compares every usable
    /// register snapshot, and every legal instant in `event_legal_time`, with it (derived data
    /// checked like the inline projections: `sbie rebuild snapshots --check`). Any login that may
    /// read the log and the snapshots may run it. Cost: one fold of the log plus one decode per
    /// snapshot.
    /// - Throws: `PostgresError`; a decoding error for an event whose data does not match its type.
    public static func check(on connection: isolated Connection) throws -> Check {
        try connection.transaction("ISOLATION LEVEL REPEATABLE READ READ ONLY") { c in
            let usable: [Int64] = try c.query(
                """
                SELECT s.global_position FROM register_snapshots s
                JOIN events e ON e.global_position = s.global_position AND e.hash = s.event_hash
                WHERE s.format = $1 ORDER BY 1
                """, [format], name: "usable snapshots").rows.map { try $0.decode(0) }
            let newestUsable = usable.last ?? 0
            var pending = usable[...]
            var state = RegisterState()
            var maxLegal = Timestamp(microsecondsSinceEpoch: .min)
            var segmentMin = Timestamp(microsecondsSinceEpoch: .max)
            var previousSnapshot: Int64 = 0
            var result = Check(events: 0, snapshots: usable.count, differingSnapshots: [], legalTimes: 0, differingLegalTimes: 0)
            let decoder = JSONDecoder()
            var after: Int64 = 0
            while true {
                let batch = try EventStore.readAll(after: after, limit: 10_000, on: c)
                guard let last = batch.last else { break }
                let stored = Dictionary(uniqueKeysWithValues: try c.query(
                    "SELECT global_position, legal_at FROM event_legal_time WHERE global_position > $1 AND global_position <= $2",
                    [after, last.globalPosition], name: "legal times read").rows.map {
                        (try $0.decode(0, as: Int64.self), try $0.decode(1, as: Timestamp.self))
                    })
                result.legalTimes += stored.count
                for event in batch {
                    let decoded = try event.domainEvent(using: decoder)
                    let legal = state.legalDate(of: decoded).map { Timestamp($0.startInstant) } ?? event.occurredAt
                    state.apply(decoded, stream: event.streamID)
                    maxLegal = max(maxLegal, legal)
                    segmentMin = min(segmentMin, legal)
                    let expected: Timestamp? = event.globalPosition <= newestUsable ? legal : nil
                    if stored[event.globalPosition] != expected { result.differingLegalTimes += 1 }
                    if pending.first == event.globalPosition {
                        pending.removeFirst()
                        let row = try c.query(
                            """
                            SELECT max_legal_at, state, clocks, previous_position, min_legal_in_segment
                            FROM register_snapshots WHERE global_position = $1
                            """, [event.globalPosition], name: "snapshot read").rows[0]
                        let same = (try? row.decode(0, as: Timestamp.self)) == maxLegal
                            && (try? row.decode(3, as: Int64.self)) == previousSnapshot
                            && (try? row.decode(4, as: Timestamp.self)) == segmentMin
                            && (try? decode(try row.decode(1, as: String.self))) == state
                            && (try? decode(try row.decode(2, as: String.self))) == state.clocksOnly
                        if !same { result.differingSnapshots.append(event.globalPosition) }
                        previousSnapshot = event.globalPosition
                        segmentMin = Timestamp(microsecondsSinceEpoch: .max)
                    }
                    result.events += 1
                }
                after = last.globalPosition
            }
            // Legal instants for positions not in the log (none should exist: positions are dense).
            let beyond: Int = try c.query("SELECT count(*)::int FROM event_legal_time WHERE global_position > $1",
                                          [after], name: "legal times beyond").rows[0].decode(0)
            result.differingLegalTimes += beyond
            return result
        }
    }

    /// Deletes every snapshot and legal instant, then `catchUp` until nothing is due
    /// (`sbie rebuild snapshots`). Returns the snapshots written.
    /// - Throws: `PostgresError`; a decoding error for an event whose data does not match its type.
    public static func rebuild(policy: Policy = .init(), on connection: isolated Connection) throws -> Int {
        try connection.executeScript("DELETE FROM register_snapshots; DELETE FROM event_legal_time")
        var written = 0
        while true {
            let step = try catchUp(policy: policy, on: connection)
            written += step.written
            if step.written == 0 { return written }
        }
    }
}

/// Keeps the register snapshots up to the log, as a swift-service-lifecycle `Service`
/// beside the daemon: every `pollInterval`, `Snapshots.catchUp` until it has nothing to
/// write. Reconnects after database errors; stops at graceful shutdown or cancellation.
/// Its memory is one register (plus one encoded snapshot), whatever the log's length.
public struct SnapshotService: Service {
    let conninfo: String
    let policy: Snapshots.Policy
    let pollInterval: Duration
    let logger: Logger

    /// - Parameters: `conninfo` of a `workflow_daemon` (or owner) login; `policy`, how often to
    ///   snapshot; `pollInterval`, the time between catch-ups (10 s).
    public init(conninfo: String, policy: Snapshots.Policy = .init(), pollInterval: Duration = .seconds(10), logger: Logger) {
        self.conninfo = conninfo
        self.policy = policy
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        var backoff = Duration.milliseconds(250)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let connection = try await Connection.connect(conninfo, logger: logger)
                backoff = .milliseconds(250)
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    while try await Snapshots.catchUp(policy: policy, on: connection).written > 0,
                          !Task.isShuttingDownGracefully, !Task.isCancelled {}
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pollInterval) }
                }
                await connection.close()
            } catch {
                let wait = backoff
                logger.error("snapshot writer: \(error); retrying in \(wait)")
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }
}
