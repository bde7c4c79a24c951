import Foundation
import Logging

/// Decides queued commands against the current state, exactly once each.
///
/// One batch is one transaction: take the event store's append lock (so this
/// process is the only writer and its state is current), claim up to `batchSize`
/// due commands with `FOR UPDATE SKIP LOCKED`, catch the in-memory state up with
/// the log, decide each command, then append the events, write the inline
/// projections, enqueue any timers and record every outcome, all in one pipeline,
/// and commit. A crash anywhere rolls everything back and the commands are claimed
/// again, so each takes effect exactly once. Several processors (daemons) may run
/// at once: the lock makes them take turns, with the same results as one.
///
/// A batch that fails unexpectedly is retried one command per transaction, so a
/// bad command is isolated: it is retried with exponential backoff (1 s, 2 s, 4 s …)
/// and after `maxAttempts` failures marked `failed` (dead letter).
public struct CommandProcessor: Sendable {
    public struct Configuration: Sendable {
        /// Commands claimed per transaction.
        public var batchSize = 200
        /// Unexpected failures before a command is marked `failed`.
        public var maxAttempts = 5
        /// The database login recorded as the submitter of timer commands.
        public init() {}
    }

    /// What one call to `processBatch` did.
    public struct BatchResult: Sendable, Equatable {
        public var accepted = 0
        public var rejected = 0
        public var failed = 0
        public var eventsAppended = 0
        public var processed: Int { accepted + rejected + failed }

        public init(accepted: Int = 0, rejected: Int = 0, failed: Int = 0, eventsAppended: Int = 0) {
            (self.accepted, self.rejected, self.failed, self.eventsAppended) = (accepted, rejected, failed, eventsAppended)
        }
    }

    /// The register as of `position`, folded from the log.
    public private(set) var state = RegisterState()
    /// The last global position folded into `state`.
    public private(set) var position: Int64 = 0
    /// Each stream's version as of `position` (for expected-version checks).
    public private(set) var streamVersions: [String: Int] = [:]
    public var configuration: Configuration
    /// Commands to run one per transaction after a batch failed.
    private var isolating = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Processes at most one batch of due commands.
    /// - Returns: the counts; `processed == 0` means the queue had nothing due.
    /// - Throws: `PostgresError` of kind `.connection` when the database is unreachable
    ///   (the caller reconnects); other failures are recorded on the commands.
    public mutating func processBatch(on db: Connection, logger: Logger) async throws -> BatchResult {
        let size = isolating > 0 ? 1 : configuration.batchSize
        let snapshot = Snapshot(state: state, position: position, streamVersions: streamVersions)
        do {
            let done = try await db.transaction { c in try Self.runBatch(c, snapshot, limit: size) }
            (state, position, streamVersions) = (done.snapshot.state, done.snapshot.position, done.snapshot.streamVersions)
            if isolating > 0 { isolating -= 1 }
            return done.result
        } catch let failure as BatchFailure {
            if let error = failure.underlying as? PostgresError, error.kind == .connection { throw error }
            if failure.commandIDs.count > 1 {
                logger.warning("batch failed; retrying its commands one at a time",
                               metadata: ["commands": "\(failure.commandIDs.count)", "error": "\(failure.underlying)"])
                isolating = failure.commandIDs.count
                return BatchResult()
            }
            let id = failure.commandIDs[0]
            let attempts = try await db.recordFailure(id, error: "\(failure.underlying)", maxAttempts: configuration.maxAttempts)
            logger.error("command failed", metadata: [
                "command_id": "\(id)", "attempts": "\(attempts)", "error": "\(failure.underlying)",
                "dead_letter": "\(attempts >= configuration.maxAttempts)",
            ])
            if isolating > 0 { isolating -= 1 }
            return BatchResult(failed: 1)
        }
    }

    struct Snapshot: Sendable {
        var state: RegisterState
        var position: Int64
        var streamVersions: [String: Int]
    }

    struct BatchFailure: Error {
        var commandIDs: [UUID]
        var underlying: any Error
    }

    struct Claimed: Sendable {
        var id: UUID
        var type: String
        var payload: String
        var submittedBy: String
        var submittedAt: Timestamp
    }

    private static func runBatch(_ c: isolated Connection, _ start: Snapshot, limit: Int) throws
        -> (snapshot: Snapshot, result: BatchResult)
    {
        try c.query("SELECT pg_advisory_xact_lock(287000001)", name: "append lock")
        let claimed = try c.query(
            """
            SELECT command_id, command_type, payload::text, submitted_by, submitted_at FROM commands
            WHERE status = 'pending' AND available_at <= clock_timestamp()
            ORDER BY available_at, seq LIMIT $1 FOR UPDATE SKIP LOCKED
            """, [limit], name: "claim commands"
        ).rows.map {
            Claimed(id: try $0.decode(0), type: try $0.decode(1), payload: try $0.decode(2),
                    submittedBy: try $0.decode(3), submittedAt: try $0.decode(4))
        }
        var snapshot = start
        do {
            try catchUp(c, &snapshot)
            if claimed.isEmpty { return (snapshot, BatchResult()) }
            var plan = BatchPlan(snapshot: snapshot)
            let today = FloridaDate(floridaDateOf: Date())
            for command in claimed { plan.add(command, today: today) }
            plan.statements.append(Statement("SELECT pg_notify('sbie_outcomes', '')"))
            let results = try c.pipeline(plan.statements)
            for (index, expected) in plan.appendChecks {
                let appended = try Connection.appended(results[index])
                guard appended.map(\.globalPosition) == expected else {
                    throw PostgresError(kind: .protocolViolation,
                                        message: "append landed at \(appended.map(\.globalPosition)), expected \(expected)")
                }
            }
            return (plan.snapshot, plan.result)
        } catch {
            throw BatchFailure(commandIDs: claimed.map(\.id), underlying: error)
        }
    }

    /// Folds every event after the snapshot's position into it.
    static func catchUp(_ c: isolated Connection, _ snapshot: inout Snapshot) throws {
        while true {
            let events = try c.readAll(after: snapshot.position, limit: 5_000)
            guard let last = events.last else { return }
            for event in events {
                let decoded = try DomainEvent.decode(type: event.type, data: Data(event.data.utf8))
                snapshot.state.apply(decoded, stream: event.streamID)
                snapshot.streamVersions[event.streamID] = event.streamVersion
            }
            snapshot.position = last.globalPosition
        }
    }
}

extension Connection {
    /// Records an unexpected failure: backoff 2^(attempts-1) s, or `failed` after `maxAttempts`.
    /// - Returns: the attempts so far.
    fileprivate func recordFailure(_ id: UUID, error: String, maxAttempts: Int) throws -> Int {
        try query(
            """
            UPDATE commands SET attempts = attempts + 1, error_code = 'internal_error', error_message = $2,
                status = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE 'pending' END,
                processed_at = CASE WHEN attempts + 1 >= $3 THEN clock_timestamp() END,
                available_at = clock_timestamp() + make_interval(secs => power(2, attempts)::int)
            WHERE command_id = $1 RETURNING attempts
            """, [id, String(error.prefix(2000)), maxAttempts], name: "record failure"
        ).rows.first?.decode(0) ?? 0
    }
}

/// The statements of one batch, built while deciding its commands in order.
struct BatchPlan {
    var snapshot: CommandProcessor.Snapshot
    var statements: [Statement] = []
    /// Pipeline index of each append, with the positions it must land at.
    var appendChecks: [(Int, [Int64])] = []
    var result = CommandProcessor.BatchResult()
    private var nextPosition: Int64

    init(snapshot: CommandProcessor.Snapshot) {
        self.snapshot = snapshot
        self.nextPosition = snapshot.position + 1
    }

    mutating func add(_ command: CommandProcessor.Claimed, today: FloridaDate) {
        let decision = DomainCommand.parse(type: command.type, payload: Data(command.payload.utf8)).flatMap {
            decide($0, state: snapshot.state,
                   context: CommandContext(submittedBy: command.submittedBy, commandID: command.id, today: today))
        }
        switch decision {
        case .failure(let rejection):
            result.rejected += 1
            statements.append(Statement(
                """
                UPDATE commands SET status = 'rejected', error_code = $2, error_message = $3,
                    processed_at = clock_timestamp() WHERE command_id = $1
                """, [command.id, rejection.code, rejection.message]))
        case .success(let decision):
            accept(command, decision)
        }
    }

    private mutating func accept(_ command: CommandProcessor.Claimed, _ decision: Decision) {
        result.accepted += 1
        var positions: [Int64] = []
        var outcomeEvents: [String] = []
        var touchedAgreements = Set<AgreementID>()
        var touchedRequests = Set<UUID>()
        // Consecutive events of one stream go in one append.
        var index = 0
        while index < decision.events.count {
            let stream = decision.events[index].stream
            var group: [DomainEvent] = []
            while index < decision.events.count && decision.events[index].stream == stream {
                group.append(decision.events[index].event)
                index += 1
            }
            let version = snapshot.streamVersions[stream, default: 0]
            var newEvents: [NewEvent] = []
            for event in group {
                snapshot.state.apply(event, stream: stream)
                let agency = Projections.agencyID(of: event, stream: stream, in: snapshot.state)
                var metadata = "{\"actor\":\(jsonString(command.submittedBy)),\"command_id\":\"\(command.id.uuidString.lowercased())\""
                metadata += ",\"command_type\":\(jsonString(command.type))"
                if let agency { metadata += ",\"agency_id\":\(jsonString(agency.slug))" }
                metadata += "}"
                newEvents.append(NewEvent(
                    type: event.eventType, data: String(decoding: event.encodedData(), as: UTF8.self),
                    metadata: metadata,
                    occurredAt: event.occurredOn.map { Timestamp($0.startInstant) } ?? command.submittedAt))
                Projections.touched(by: event, in: snapshot.state, agreements: &touchedAgreements, requests: &touchedRequests)
                outcomeEvents.append("{\"type\":\(jsonString(event.eventType)),\"stream\":\(jsonString(stream)),\"position\":\(nextPosition)}")
                positions.append(nextPosition)
                nextPosition += 1
            }
            let expected = Array(positions.suffix(group.count))
            appendChecks.append((statements.count, expected))
            statements.append(Connection.appendStatement(newEvents, to: stream, expected: version == 0 ? .noStream : .exact(version)))
            snapshot.streamVersions[stream] = version + group.count
            snapshot.position = nextPosition - 1
            result.eventsAppended += group.count
        }
        statements += Projections.upserts(agreements: touchedAgreements, requests: touchedRequests, in: snapshot.state)
        for (offset, timer) in decision.scheduled.enumerated() {
            statements.append(Statement(
                """
                INSERT INTO commands (idempotency_key, command_type, payload, agency_id, available_at)
                VALUES ($1, $2, $3::json, $4, $5) ON CONFLICT (submitted_by, idempotency_key) DO NOTHING
                """,
                ["timer:\(command.id.uuidString.lowercased()):\(offset)", timer.command.commandType,
                 String(decoding: timer.command.payloadJSON(), as: UTF8.self), timer.command.agencyID?.slug,
                 Timestamp(timer.due.startInstant)]))
        }
        let outcome = "{\"events\":[\(outcomeEvents.joined(separator: ","))]"
            + ",\"scheduled\":\(decision.scheduled.count)}"
        statements.append(Statement(
            """
            UPDATE commands SET status = 'accepted', outcome = $2::json, event_positions = $3::bigint[],
                error_code = NULL, error_message = NULL, processed_at = clock_timestamp() WHERE command_id = $1
            """, [command.id, outcome, "{" + positions.map(String.init).joined(separator: ",") + "}"]))
    }
}
