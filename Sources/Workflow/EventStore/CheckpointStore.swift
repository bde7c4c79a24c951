import Foundation

/// Why a checkpoint was signed (the `reason` column of `signed_checkpoints`).
public enum CheckpointReason: String, Sendable, Codable, CaseIterable {
    /// `sbie checkpoint sign`.
    case manual
    /// The daemon's daily checkpoint.
    case scheduled
    /// The daemon, after a Board decision was appended.
    case boardDecision = "board_decision"
}

/// A checkpoint as recorded in `signed_checkpoints`.
public struct StoredCheckpoint: Sendable, Equatable, Encodable {
    public var id: Int64
    public var checkpoint: Checkpoint
    public var reason: CheckpointReason
    /// The database's clock when it was recorded.
    public var recordedAt: Timestamp
    /// The database login that recorded it.
    public var recordedBy: String

    enum CodingKeys: String, CodingKey {
        case id, checkpoint, reason, recordedAt = "recorded_at", recordedBy = "recorded_by"
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(checkpoint, forKey: .checkpoint)
        try c.encode(reason, forKey: .reason)
        try c.encode(recordedAt.iso8601, forKey: .recordedAt)
        try c.encode(recordedBy, forKey: .recordedBy)
    }
}

/// A refusal from `record_checkpoint` (SQLSTATE CP001 or CP002).
public enum CheckpointRecordError: Error, CustomStringConvertible, Equatable {
    /// CP001: the log has no event at that position with that hash.
    case headNotInLog(position: Int64)
    /// CP002: signed_at is more than 5 minutes off the database's clock.
    case signedAtNotDatabaseTime(String)

    public var description: String {
        switch self {
        case .headNotInLog(let position): return "the log has no event at position \(position) with the checkpoint's hash"
        case .signedAtNotDatabaseTime(let message): return message
        }
    }
}

/// Signed checkpoints of the chain's head, stored in `signed_checkpoints`: sign, record, list,
/// and check one against the log.
public enum Checkpoints {
    private static let checkpointColumns = """
        checkpoint_id, global_position, hash, signed_at, public_key, signature, reason, recorded_at, recorded_by
        """

    private static func storedCheckpoint(_ row: Row) throws -> StoredCheckpoint {
        let reasonText: String = try row.decode(6)
        guard let reason = CheckpointReason(rawValue: reasonText) else {
            throw PostgresDecodingError(column: "reason", expectedType: "CheckpointReason", reason: "unknown value \(reasonText)")
        }
        return StoredCheckpoint(
            id: try row.decode(0),
            checkpoint: Checkpoint(head: ChainHead(position: try row.decode(1), hash: try row.decode(2)),
                                   signedAt: try row.decode(3), publicKey: try row.decode(4), signature: try row.decode(5)),
            reason: reason, recordedAt: try row.decode(7), recordedBy: try row.decode(8))
    }

    /// The log's head and the database's clock, read in one statement.
    /// - Returns: nil head when the log is empty.
    public static func chainHead(on connection: isolated Connection) throws -> (head: ChainHead?, now: Timestamp) {
        let result = try connection.query("""
            SELECT e.global_position, e.hash, pg_catalog.clock_timestamp()
            FROM (SELECT 1) one LEFT JOIN LATERAL (
                SELECT global_position, hash FROM events ORDER BY global_position DESC LIMIT 1) e ON true
            """, name: "chain head")
        guard let row = result.first else { return (nil, Timestamp(Date())) }
        let position: Int64? = try row.decodeIfPresent(0)
        let hash: [UInt8]? = try row.decodeIfPresent(1)
        let now: Timestamp = try row.decode(2)
        guard let position, let hash else { return (nil, now) }
        return (ChainHead(position: position, hash: hash), now)
    }

    /// Signs the log's current head with `key` at the database's time and records it.
    /// - Throws: `CheckpointError.emptyLog`, `CheckpointRecordError`, or `PostgresError`
    ///   (42501 when this login may not record checkpoints).
    @discardableResult
    public static func sign(
        with key: CheckpointKey, reason: CheckpointReason, on connection: isolated Connection
    ) throws -> StoredCheckpoint {
        let (head, now) = try chainHead(on: connection)
        guard let head else { throw CheckpointError.emptyLog }
        let checkpoint = try key.sign(head, at: now)
        return try Checkpoints.record(checkpoint, reason: reason, on: connection)
    }

    /// Records a signed checkpoint through `record_checkpoint` (which checks that the head
    /// is in the log and the time is the database's). The signature is checked here first.
    /// - Throws: `CheckpointError.badSignature`, `CheckpointRecordError`, or `PostgresError`.
    @discardableResult
    public static func record(
        _ checkpoint: Checkpoint, reason: CheckpointReason, on connection: isolated Connection
    ) throws -> StoredCheckpoint {
        guard checkpoint.hasValidSignature else { throw CheckpointError.badSignature("the checkpoint's signature does not verify") }
        let result: QueryResult
        do {
            result = try connection.query(
                "SELECT \(Self.checkpointColumns) FROM record_checkpoint($1, $2, $3, $4, $5, $6)",
                [checkpoint.head.position, checkpoint.head.hash, checkpoint.signedAt, checkpoint.publicKey,
                 checkpoint.signature, reason.rawValue],
                name: "record_checkpoint")
        } catch let error as PostgresError where error.sqlState == PostgresError.State.checkpointHeadNotInLog {
            throw CheckpointRecordError.headNotInLog(position: checkpoint.head.position)
        } catch let error as PostgresError where error.sqlState == PostgresError.State.checkpointTimeNotNow {
            throw CheckpointRecordError.signedAtNotDatabaseTime(error.message)
        }
        guard let row = result.first else { throw CheckpointRecordError.headNotInLog(position: checkpoint.head.position) }
        return try Self.storedCheckpoint(row)
    }

    /// Recorded checkpoints, newest first.
    /// - Parameter publicKey: only this key's.
    public static func list(
        publicKey: [UInt8]? = nil, limit: Int = 100, on connection: isolated Connection
    ) throws -> [StoredCheckpoint] {
        let result = try connection.query("""
            SELECT \(Self.checkpointColumns) FROM signed_checkpoints
            WHERE $1::bytea IS NULL OR public_key = $1 ORDER BY checkpoint_id DESC LIMIT $2
            """, [publicKey, max(limit, 0)], name: "checkpoints")
        return try result.rows.map(Self.storedCheckpoint)
    }

    /// One recorded checkpoint, or nil.
    public static func checkpoint(id: Int64, on connection: isolated Connection) throws -> StoredCheckpoint? {
        try connection.query("SELECT \(Self.checkpointColumns) FROM signed_checkpoints WHERE checkpoint_id = $1", [id], name: "checkpoint")
            .rows.first.map(Self.storedCheckpoint)
    }

    /// Checks a checkpoint against the live log: the chain verifies (dense positions,
    /// versions, every hash recomputed) at least up to its position, and the event at
    /// its position has its hash. The signature is not checked here.
    /// - Throws: `CheckpointError.logBroken` or `.notInLog`, naming the position.
    public static func checkAgainstLog(
        _ checkpoint: Checkpoint, report: VerificationReport? = nil, on connection: isolated Connection
    ) throws {
        let position = checkpoint.head.position
        let report = try report ?? ChainVerifier.verify(on: connection)
        let firstBad = ([report.firstHashMismatch] + report.gaps.map { Optional($0.lowerBound) }).compactMap { $0 }.min()
        if let firstBad, firstBad <= position {
            throw CheckpointError.logBroken(
                position: firstBad, "the live log fails verification at position \(firstBad), at or before the checkpoint's position \(position)")
        }
        guard let row = try connection.query("SELECT hash FROM events WHERE global_position = $1", [position], name: "event hash").first else {
            throw CheckpointError.notInLog(
                position: position, "the live log ends at position \(report.lastPosition), before the checkpoint's position \(position)")
        }
        let hash: [UInt8] = try row.decode(0)
        guard hash == checkpoint.head.hash else {
            throw CheckpointError.notInLog(
                position: position,
                "position \(position) has hash \(Hex.encode(hash)) in the live log, but the checkpoint signed \(checkpoint.head.hashHex): "
                    + "the log is not the one checkpointed (rewritten at or before position \(position))")
        }
    }
}
