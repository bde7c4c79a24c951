import Foundation

/// How far a hot standby (a streaming replica, `pg_basebackup -R`) has replayed the
/// primary's write-ahead log, read on the standby in one statement.
///
/// A read served by a standby sees the primary's log up to `replayLSN`: every transaction
/// the primary committed before that point, none after. The standby's own clock and the
/// primary's commit timestamps give the lag in seconds.
public struct ReplicaStatus: Sendable, Equatable, Encodable {
    /// `pg_is_in_recovery()`: true on a standby; false on a primary (a misconfigured
    /// read database, or a standby that was promoted).
    public var inRecovery: Bool
    /// `pg_last_wal_replay_lsn()`: the log position replayed so far, e.g. `0/3000148`;
    /// nil on a primary.
    public var replayLSN: String?
    /// `pg_last_wal_receive_lsn()`: the log position received from the primary so far
    /// (at or past `replayLSN`); nil on a primary or before streaming started.
    public var receiveLSN: String?
    /// `pg_last_xact_replay_timestamp()`: when the primary committed the last transaction
    /// replayed here (UTC); nil before any was replayed.
    public var replayedAt: Timestamp?
    /// Seconds this standby's data may be behind: 0 when it has replayed all it received
    /// (or, with `primaryLSN`, everything the primary had written then); otherwise the
    /// standby's `now()` minus `replayedAt` (an upper bound of the staleness of what it
    /// replayed, as long as the primary keeps committing). Never negative; nil when unknown.
    public var lagSeconds: Double?
    /// The primary's position (`primaryPosition(on:)`) this status was compared with, if any.
    public var primaryLSN: String?
    /// Bytes of log the standby had still to replay to reach `primaryLSN` (0 when caught up).
    public var bytesBehind: Int64?

    /// Whether the standby had replayed everything the primary had written at `primaryLSN`.
    public var caughtUp: Bool { bytesBehind.map { $0 <= 0 } ?? false }

    enum CodingKeys: String, CodingKey {
        case inRecovery = "in_recovery", replayLSN = "replay_lsn", receiveLSN = "receive_lsn"
        case replayedAt = "replayed_at", lagSeconds = "lag_seconds", primaryLSN = "primary_lsn", bytesBehind = "bytes_behind"
    }

    /// JSON: the fields' snake_case names; `replayed_at` as ISO 8601 UTC with microseconds.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inRecovery, forKey: .inRecovery)
        try c.encode(replayLSN, forKey: .replayLSN)
        try c.encode(receiveLSN, forKey: .receiveLSN)
        try c.encode(replayedAt?.iso8601, forKey: .replayedAt)
        try c.encode(lagSeconds, forKey: .lagSeconds)
        try c.encode(primaryLSN, forKey: .primaryLSN)
        try c.encode(bytesBehind, forKey: .bytesBehind)
    }

    public init(inRecovery: Bool, replayLSN: String?, receiveLSN: String?, replayedAt: Timestamp?, lagSeconds: Double?,
                primaryLSN: String? = nil, bytesBehind: Int64? = nil) {
        (self.inRecovery, self.replayLSN, self.receiveLSN, self.replayedAt, self.lagSeconds, self.primaryLSN, self.bytesBehind) =
            (inRecovery, replayLSN, receiveLSN, replayedAt, lagSeconds, primaryLSN, bytesBehind)
    }

    /// One line for a person, e.g. `read from standby, replayed up to 2026-12-01T15:04:05.123456Z
    /// (lag 0.000 s; log 0/3000148, caught up with the primary)`.
    public var summary: String {
        var text = "read from standby, replayed up to " + (replayedAt?.iso8601 ?? "no transaction yet")
        text += " (lag " + (lagSeconds.map { String(format: "%.3f s", $0) } ?? "unknown")
        text += "; log \(replayLSN ?? "?")"
        if let primaryLSN, let bytesBehind {
            text += bytesBehind <= 0 ? ", caught up with the primary's \(primaryLSN)"
                : ", \(bytesBehind) bytes behind the primary's \(primaryLSN)"
        } else {
            text += ", the primary's position unknown"
        }
        return text + ")"
    }
}

/// Reads on a hot standby: where it stands, and waiting for it to replay a primary's
/// position so that a read sees every write committed before it began (read your writes).
///
/// Writes never go to a standby: PostgreSQL refuses them there with SQLSTATE 25006
/// (`read_only` in `Refusal.all`).
public enum Standby {
    /// The standby's replay position and lag (`ReplicaStatus`), read in one statement.
    /// On a primary `inRecovery` is false and the positions are nil.
    /// - Parameter primaryLSN: the primary's position (`primaryPosition(on:)`) to compare with
    ///   (`bytesBehind`, and a lag of 0 when caught up); nil: compare with what was received.
    /// - Throws: `PostgresError` (22P02 when `primaryLSN` is not an LSN).
    public static func status(comparedWith primaryLSN: String? = nil, on connection: isolated Connection) throws -> ReplicaStatus {
        let row = try connection.query(
            """
            WITH s AS (
                SELECT pg_catalog.pg_is_in_recovery() AS recovery, pg_catalog.pg_last_wal_replay_lsn() AS replay,
                       pg_catalog.pg_last_wal_receive_lsn() AS receive, pg_catalog.pg_last_xact_replay_timestamp() AS replayed_at,
                       $1::pg_lsn AS primary_lsn)
            SELECT recovery, replay::text, receive::text, replayed_at,
                   CASE WHEN NOT recovery THEN NULL
                        WHEN replay >= coalesce(primary_lsn, receive) THEN 0
                        ELSE greatest(0, extract(epoch FROM pg_catalog.now() - replayed_at))::float8 END,
                   CASE WHEN recovery THEN greatest(0, pg_catalog.pg_wal_lsn_diff(primary_lsn, replay))::int8 END
            FROM s
            """, [primaryLSN], name: "standby status").rows[0]
        return ReplicaStatus(
            inRecovery: try row.decode(0), replayLSN: try row.decodeIfPresent(1), receiveLSN: try row.decodeIfPresent(2),
            replayedAt: try row.decodeIfPresent(3), lagSeconds: try row.decodeIfPresent(4),
            primaryLSN: primaryLSN, bytesBehind: try row.decodeIfPresent(5))
    }

    /// The primary's current log position, `pg_current_wal_insert_lsn()`: a read on a standby
    /// that has replayed it sees every transaction the primary committed before this call.
    /// (The insert position, not `pg_current_wal_lsn()`, the write position: with
    /// `synchronous_commit = off` a commit is visible before its record is written, and the
    /// WAL writer sends it within a few `wal_writer_delay`s.)
    /// - Throws: `PostgresError` 55000 when `connection` is itself in recovery.
    public static func primaryPosition(on connection: isolated Connection) throws -> String {
        try connection.query("SELECT pg_catalog.pg_current_wal_insert_lsn()::text", name: "primary lsn").rows[0].decode(0)
    }

    /// Waits until the standby has replayed `primaryLSN`, polling every 20 ms.
    /// - Parameters:
    ///   - primaryLSN: from `primaryPosition(on:)` on the primary.
    ///   - timeout: how long to wait at most (0: look once).
    /// - Returns: the last status read; `caughtUp` says whether it got there in time.
    public static func waitForReplay(
        of primaryLSN: String, timeout: Duration, on connection: isolated Connection
    ) async throws -> ReplicaStatus {
        let deadline = ContinuousClock.now.advanced(by: max(timeout, .zero))
        while true {
            let status = try status(comparedWith: primaryLSN, on: connection)
            if status.caughtUp || !status.inRecovery || ContinuousClock.now >= deadline { return status }
            try await Task.sleep(for: min(.milliseconds(20), ContinuousClock.now.duration(to: deadline)))
        }
    }
}
