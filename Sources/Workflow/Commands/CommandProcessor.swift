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
            let statements = plan.statements()
            let results = try c.pipeline(statements)
            if !plan.predictedPositions.isEmpty {
                let landed = try Connection.appended(results[0]).map(\.globalPosition)
                guard landed == plan.predictedPositions else {
                    throw PostgresError(kind: .protocolViolation,
                                        message: "events landed at \(landed), expected \(plan.predictedPositions)")
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
///
/// Set-based: whatever the batch size, one `append_events_batch` call appends every
/// event, one statement per projection table writes every row that changed (from
/// the state after the whole batch), one statement records every outcome and one
/// enqueues every timer.
struct BatchPlan {
    var snapshot: CommandProcessor.Snapshot
    var result = CommandProcessor.BatchResult()
    /// The global positions the events will land at, in order (this batch holds the append lock).
    private(set) var predictedPositions: [Int64] = []
    private var appends: [(stream: String, expected: ExpectedVersion, events: [NewEvent])] = []
    private var outcomes: [String] = []
    private var timers: [String] = []
    private var touchedAgreements = Set<AgreementID>()
    private var touchedRequests = Set<UUID>()

    init(snapshot: CommandProcessor.Snapshot) {
        self.snapshot = snapshot
    }

    mutating func add(_ command: CommandProcessor.Claimed, today: FloridaDate) {
        let decision = DomainCommand.parse(type: command.type, payload: Data(command.payload.utf8)).flatMap {
            decide($0, state: snapshot.state,
                   context: CommandContext(submittedBy: command.submittedBy, commandID: command.id, today: today))
        }
        switch decision {
        case .failure(let rejection):
            result.rejected += 1
            outcomes.append(
                "{\"command_id\":\"\(command.id.uuidString.lowercased())\",\"status\":\"rejected\","
                    + "\"error_code\":\(jsonString(rejection.code)),\"error_message\":\(jsonString(rejection.message)),"
                    + "\"outcome\":null,\"event_positions\":[]}")
        case .success(let decision):
            accept(command, decision)
        }
    }

    private mutating func accept(_ command: CommandProcessor.Claimed, _ decision: Decision) {
        result.accepted += 1
        var positions: [Int64] = []
        var outcomeEvents: [String] = []
        // Consecutive events of one stream go in one append.
        var index = 0
        while index < decision.events.count {
            let stream = decision.events[index].stream
            let version = snapshot.streamVersions[stream, default: 0]
            var newEvents: [NewEvent] = []
            while index < decision.events.count && decision.events[index].stream == stream {
                let event = decision.events[index].event
                index += 1
                let legalDate = snapshot.state.legalDate(of: event)  // before apply: its clock as it stood
                snapshot.state.apply(event, stream: stream)
                let position = snapshot.position + 1
                snapshot.position = position
                var metadata = "{\"actor\":\(jsonString(command.submittedBy)),\"command_id\":\"\(command.id.uuidString.lowercased())\""
                metadata += ",\"command_type\":\(jsonString(command.type))"
                if let agency = Projections.agencyID(of: event, stream: stream, in: snapshot.state) {
                    metadata += ",\"agency_id\":\(jsonString(agency.slug))"
                }
                metadata += "}"
                newEvents.append(NewEvent(
                    type: event.eventType, data: String(decoding: event.encodedData(), as: UTF8.self),
                    metadata: metadata,
                    occurredAt: legalDate.map { Timestamp($0.startInstant) } ?? command.submittedAt))
                Projections.touched(by: event, in: snapshot.state, agreements: &touchedAgreements, requests: &touchedRequests)
                outcomeEvents.append("{\"type\":\(jsonString(event.eventType)),\"stream\":\(jsonString(stream)),\"position\":\(position)}")
                positions.append(position)
            }
            appends.append((stream, version == 0 ? .noStream : .exact(version), newEvents))
            snapshot.streamVersions[stream] = version + newEvents.count
            result.eventsAppended += newEvents.count
        }
        predictedPositions += positions
        for (offset, timer) in decision.scheduled.enumerated() {
            timers.append(
                "{\"idempotency_key\":\"timer:\(command.id.uuidString.lowercased()):\(offset)\","
                    + "\"command_type\":\(jsonString(timer.command.commandType)),"
                    + "\"payload\":\(String(decoding: timer.command.payloadJSON(), as: UTF8.self)),"
                    + "\"agency_id\":\(timer.command.agencyID.map { jsonString($0.slug) } ?? "null"),"
                    + "\"available_at\":\"\(Timestamp(timer.due.startInstant).iso8601)\"}")
        }
        outcomes.append(
            "{\"command_id\":\"\(command.id.uuidString.lowercased())\",\"status\":\"accepted\","
                + "\"error_code\":null,\"error_message\":null,"
                + "\"outcome\":{\"events\":[\(outcomeEvents.joined(separator: ","))],\"scheduled\":\(decision.scheduled.count)},"
                + "\"event_positions\":[\(positions.map(String.init).joined(separator: ","))]}")
    }

    /// The batch's statements: the append first (its result is checked), then the
    /// projections, the timers, the outcomes and one wake-up for waiting clients.
    func statements() -> [Statement] {
        var statements: [Statement] = []
        if !appends.isEmpty {
            statements.append(Connection.appendBatchStatement(appends))
        }
        statements += Projections.upserts(agreements: touchedAgreements, requests: touchedRequests, in: snapshot.state)
        if !timers.isEmpty {
            statements.append(Statement(
                """
                INSERT INTO commands (idempotency_key, command_type, payload, agency_id, available_at)
                SELECT t.idempotency_key, t.command_type, t.payload, t.agency_id, t.available_at
                FROM json_to_recordset($1::json) AS t(idempotency_key text, command_type text, payload json,
                                                     agency_id text, available_at timestamptz)
                ON CONFLICT (submitted_by, idempotency_key) DO NOTHING
                """, ["[" + timers.joined(separator: ",") + "]"]))
        }
        statements.append(Statement(
            """
            UPDATE commands c SET status = u.status, error_code = u.error_code, error_message = u.error_message,
                outcome = u.outcome, event_positions = u.event_positions, processed_at = clock_timestamp()
            FROM json_to_recordset($1::json) AS u(command_id uuid, status text, error_code text, error_message text,
                                                 outcome json, event_positions bigint[])
            WHERE c.command_id = u.command_id
            """, ["[" + outcomes.joined(separator: ",") + "]"]))
        statements.append(Statement("SELECT pg_notify('sbie_outcomes', '')"))
        return statements
    }
}
