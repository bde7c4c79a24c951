import Foundation
import Logging
import ServiceLifecycle

/// Signs checkpoints of the log on a schedule, as a swift-service-lifecycle `Service`:
/// once a day (when this key's latest checkpoint is older than `interval`) and after
/// each Board decision (a `TerminationApproved` or `TerminationDenied` event after this
/// key's latest checkpoint).
///
/// It polls every `pollInterval` (two cheap indexed queries), reconnects after database
/// errors, and stops at graceful shutdown or cancellation. Several may run at once: each
/// may sign the same head; every checkpoint is valid, none is ever updated.
///
/// The login must be a `workflow_daemon` (or registrar) login: it records through
/// `record_checkpoint`. The private key stays in this process.
public struct CheckpointService: Service {
    public struct Configuration: Sendable {
        /// Sign when this key's latest checkpoint is older than this (default one day).
        public var interval: Duration = .seconds(86_400)
        /// How often to look at the log (default 30 s).
        public var pollInterval: Duration = .seconds(30)
        /// Event types that are Board decisions (sign after each).
        public var decisionEventTypes: [String] = CheckpointService.boardDecisionEventTypes
        public init() {}
    }

    /// The event types of the Board's decision on a termination request (s. 908.1031, F.S.).
    public static let boardDecisionEventTypes = ["TerminationApproved", "TerminationDenied"]

    let conninfo: String
    let key: CheckpointKey
    let configuration: Configuration
    let logger: Logger

    public init(conninfo: String, key: CheckpointKey, configuration: Configuration = .init(), logger: Logger) {
        self.conninfo = conninfo
        self.key = key
        self.configuration = configuration
        self.logger = logger
    }

    /// What the schedule says to do, from the log and this key's latest checkpoint.
    /// - Parameters:
    ///   - head: the log's last position (0 when empty).
    ///   - latest: this key's latest checkpoint's position and signed time, if any.
    ///   - lastDecision: the position of the last Board decision event (0 if none).
    ///   - now: the database's clock.
    /// - Returns: the reason to sign now, or nil.
    public static func due(head: Int64, latest: (position: Int64, signedAt: Timestamp)?, lastDecision: Int64,
                           now: Timestamp, interval: Duration) -> CheckpointReason? {
        guard head > 0 else { return nil }
        guard let latest else { return .scheduled }
        if lastDecision > latest.position { return .boardDecision }
        let elapsed = now.microsecondsSinceEpoch - latest.signedAt.microsecondsSinceEpoch
        let (seconds, attoseconds) = interval.components
        let intervalMicros = seconds.multipliedReportingOverflow(by: 1_000_000).partialValue + attoseconds / 1_000_000_000_000
        return elapsed >= intervalMicros ? .scheduled : nil
    }

    /// One look at the log: signs when due. Returns the checkpoint signed, if any.
    @discardableResult
    public func tick(on connection: Connection) async throws -> StoredCheckpoint? {
        let row = try await connection.query("""
            SELECT (SELECT max(global_position) FROM events),
                   (SELECT max(global_position) FROM events WHERE event_type = ANY ($2::text[])),
                   c.global_position, c.signed_at, pg_catalog.clock_timestamp()
            FROM (SELECT 1) one LEFT JOIN LATERAL (
                SELECT global_position, signed_at FROM signed_checkpoints WHERE public_key = $1
                ORDER BY checkpoint_id DESC LIMIT 1) c ON true
            """, [key.publicKey, PostgresArray(configuration.decisionEventTypes)], name: "checkpoint due")
            .first
        guard let row else { return nil }
        let head: Int64 = try row.decodeIfPresent(0) ?? 0
        let lastDecision: Int64 = try row.decodeIfPresent(1) ?? 0
        let latestPosition: Int64? = try row.decodeIfPresent(2)
        let latestSigned: Timestamp? = try row.decodeIfPresent(3)
        let now: Timestamp = try row.decode(4)
        let latest = latestPosition.flatMap { p in latestSigned.map { (position: p, signedAt: $0) } }
        guard let reason = Self.due(head: head, latest: latest, lastDecision: lastDecision, now: now,
                                    interval: configuration.interval)
        else { return nil }
        let stored = try await Checkpoints.sign(with: key, reason: reason, on: connection)
        logger.info("checkpoint signed", metadata: [
            "position": "\(stored.checkpoint.head.position)", "hash": "\(stored.checkpoint.head.hashHex)",
            "reason": "\(reason.rawValue)", "key_id": "\(key.keyID)",
        ])
        return stored
    }

    public func run() async throws {
        var backoff = Duration.milliseconds(250)
        logger.info("checkpoint signer starting", metadata: ["key_id": "\(key.keyID)"])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let connection = try await Connection.connect(conninfo, logger: logger)
                backoff = .milliseconds(250)
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    try await tick(on: connection)
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.pollInterval) }
                }
                await connection.close()
            } catch {
                let wait = backoff
                logger.error("checkpoint signer: \(error); retrying in \(wait)")
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                backoff = min(backoff * 2, .seconds(30))
            }
        }
        logger.info("checkpoint signer stopped")
    }
}
