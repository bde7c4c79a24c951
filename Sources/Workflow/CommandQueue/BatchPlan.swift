import Foundation

/// What one batch will write, built while deciding its commands in order; pure (no I/O).
///
/// `BatchWriter` turns it into statements. Set-based: whatever the batch size, one
/// `append_events_batch` call appends every event, one statement per projection table writes
/// every row that changed (from the state after the whole batch), one call records every
/// outcome and one enqueues every timer.
struct BatchPlan {
    /// Events to append to one stream (consecutive events of one command and stream).
    struct Append: Sendable, Equatable {
        var stream: String
        var expected: ExpectedVersion
        var events: [NewEvent]
    }

    /// One event of an accepted command's outcome.
    struct OutcomeEvent: Sendable, Equatable {
        var type: String
        var stream: String
        var position: Int64
    }

    /// A command's outcome, as `record_outcomes` takes it.
    struct Outcome: Sendable, Equatable {
        var commandID: UUID
        /// `.accepted` or `.rejected`.
        var status: CommandRecord.Status
        var errorCode: String?
        var errorMessage: String?
        /// Accepted commands: their events, in order (positions as predicted under the writer's lock).
        var events: [OutcomeEvent] = []
        /// Accepted commands: how many timers they scheduled.
        var scheduled = 0
        var positions: [Int64] { events.map(\.position) }
    }

    /// A durable timer: a system command due at `availableAt` (the database orders it no earlier than now).
    /// Encoded, it is one element of the array `enqueue_timers` takes (Sql/0005_exactly_once.sql):
    /// every key present, `agency_id` null when absent, `available_at` as `Timestamp.iso8601`.
    struct Timer: Sendable, Equatable, Encodable {
        var idempotencyKey: String
        var commandType: String
        /// A JSON object (the command's canonical payload).
        var payload: JSONValue
        var agencyID: String?
        var availableAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case idempotencyKey = "idempotency_key", commandType = "command_type", payload, agencyID = "agency_id"
            case availableAt = "available_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(idempotencyKey, forKey: .idempotencyKey)
            try c.encode(commandType, forKey: .commandType)
            try c.encode(payload, forKey: .payload)
            try c.encode(agencyID, forKey: .agencyID)  // Optional: null when absent
            try c.encode(availableAt.iso8601, forKey: .availableAt)
        }
    }

    /// The state after the commands added so far, changed in place (see `journal`).
    var snapshot: CommandProcessor.Snapshot
    /// What the accepted commands changed in `snapshot`, to undo them when the batch does not commit.
    private(set) var journal: CommandProcessor.Snapshot.Journal
    var result = CommandProcessor.BatchResult()
    private(set) var appends: [Append] = []
    private(set) var outcomes: [Outcome] = []
    private(set) var timers: [Timer] = []
    private(set) var rejections: [CommandProcessor.Rejected] = []
    private(set) var touchedAgreements = Set<AgreementID>()
    private(set) var touchedRequests = Set<UUID>()

    /// The global positions the events will land at, in order (the batch holds the writer's lock).
    var predictedPositions: [Int64] { outcomes.flatMap(\.positions) }

    /// `snapshot` is changed in place: pass the only reference to its register (`consume`), or
    /// the first accepted command copies it whole (copy-on-write).
    init(snapshot: consuming CommandProcessor.Snapshot) {
        journal = CommandProcessor.Snapshot.Journal(position: snapshot.position, hash: snapshot.hash)
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
            outcomes.append(Outcome(commandID: command.id, status: .rejected, errorCode: rejection.code,
                                    errorMessage: rejection.message))
            rejections.append(CommandProcessor.Rejected(command: command, code: rejection.code))
        case .success(let decision):
            accept(command, decision)
        }
    }

    private mutating func accept(_ command: CommandProcessor.Claimed, _ decision: Decision) {
        result.accepted += 1
        var outcome = Outcome(commandID: command.id, status: .accepted, scheduled: decision.scheduled.count)
        let commandID = command.id.uuidString.lowercased()
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
                snapshot.state.apply(event, stream: stream, journal: &journal.state)
                snapshot.position += 1
                let metadata = EventMetadata(
                    actor: command.submittedBy, commandID: command.id, commandType: command.type,
                    agencyID: Projections.agencyID(of: event, stream: stream, in: snapshot.state)?.slug)
                newEvents.append(NewEvent(
                    type: event.eventType, data: String(decoding: event.encodedData(), as: UTF8.self),
                    metadata: metadata.json,
                    occurredAt: legalDate.map { Timestamp($0.startInstant) } ?? command.submittedAt))
                Projections.touched(by: event, in: snapshot.state, agreements: &touchedAgreements, requests: &touchedRequests)
                outcome.events.append(OutcomeEvent(type: event.eventType, stream: stream, position: snapshot.position))
            }
            appends.append(Append(stream: stream, expected: version == 0 ? .noStream : .exact(version), events: newEvents))
            snapshot.streamVersions.save(stream, into: &journal.streamVersions)
            snapshot.streamVersions[stream] = version + newEvents.count
            result.eventsAppended += newEvents.count
        }
        for (offset, timer) in decision.scheduled.enumerated() {
            timers.append(Timer(
                idempotencyKey: "timer:\(commandID):\(offset)", commandType: timer.command.commandType,
                payload: timer.command.payloadValue,
                agencyID: timer.command.agencyID?.slug, availableAt: Timestamp(timer.due.startInstant)))
        }
        outcomes.append(outcome)
    }
}

/// Turns a `BatchPlan` into the batch's statements and checks their results.
///
/// Order: the append first, then the projections, the timers, the outcomes
/// (`record_outcomes` refuses a stale claim, CQ010), one wake-up for waiting clients, when
/// events were appended the new head's hash (`batch_head` refuses a head elsewhere than the
/// plan predicted, ES005), and the COMMIT: one round trip, which commits only when every
/// statement before it succeeded.
struct BatchWriter {
    let plan: BatchPlan
    let statements: [Statement]
    private let appendIndex: Int?
    private let outcomesIndex: Int
    private let headIndex: Int?

    /// - Throws: `EncodingError` when a row cannot be encoded as JSON (not expected: the rows
    ///   hold text, integers and JSON values decoded from text); nothing is written then.
    init(plan: BatchPlan) throws {
        self.plan = plan
        var statements: [Statement] = []
        if plan.appends.isEmpty {
            appendIndex = nil
        } else {
            appendIndex = statements.count
            statements.append(EventStore.appendBatchStatement(plan.appends.map { ($0.stream, $0.expected, $0.events) }))
        }
        statements += Projections.upserts(agreements: plan.touchedAgreements, requests: plan.touchedRequests,
                                          in: plan.snapshot.state)
        if !plan.timers.isEmpty {
            let timers = try PostgresJSON(plan.timers, encoder: CanonicalJSON.encoder())
            statements.append(Statement("SELECT enqueue_timers($1::json)", [timers]))
        }
        outcomesIndex = statements.count
        let outcomes = try PostgresJSON(plan.outcomes.map(OutcomeRow.init), encoder: CanonicalJSON.encoder())
        statements.append(Statement("SELECT record_outcomes($1::json)", [outcomes]))
        statements.append(Statement("SELECT pg_notify($1, '')", [SharedNames.Channel.outcomes]))
        if plan.appends.isEmpty {
            headIndex = nil
        } else {
            headIndex = statements.count
            // Raises ES005 unless the log ends where the plan predicted: checked before the COMMIT below.
            statements.append(Statement("SELECT batch_head($1)", [plan.snapshot.position]))
        }
        // The COMMIT travels in the same round trip; after any error above, PostgreSQL skips it
        // and the caller rolls back.
        statements.append(Statement("COMMIT"))
        self.statements = statements
    }

    /// Throws unless the events landed where the plan predicted and every outcome was recorded.
    /// Runs after the COMMIT (the statements' last): the database refused both faults before it
    /// (`batch_head`, ES005; `record_outcomes`, CQ010), so this is a second look, and when it
    /// throws the caller undoes its in-memory batch and the next batch catches up from the log.
    /// - Throws: `PostgresError` of kind `.protocolViolation`.
    func check(_ results: [QueryResult]) throws {
        guard results.count == statements.count else {
            throw PostgresError(kind: .protocolViolation, message: "\(results.count) results for \(statements.count) statements")
        }
        if let appendIndex {
            let landed = try EventStore.appended(results[appendIndex]).map(\.globalPosition)
            guard landed == plan.predictedPositions else {
                throw PostgresError(kind: .protocolViolation,
                                    message: "events landed at \(landed), expected \(plan.predictedPositions)")
            }
        }
        let recorded: Int = try results[outcomesIndex].rows.first?.decode(0) ?? -1
        guard recorded == plan.outcomes.count else {
            throw PostgresError(kind: .protocolViolation,
                                message: "recorded \(recorded) outcomes of \(plan.outcomes.count)")
        }
    }

    /// The hash of the last event appended, nil when none was.
    func headHash(_ results: [QueryResult]) throws -> [UInt8]? {
        guard let headIndex, headIndex < results.count else { return nil }
        guard let row = results[headIndex].rows.first else {
            throw PostgresError(kind: .protocolViolation, message: "no event at position \(plan.snapshot.position) after the append")
        }
        return try row.decode(0)
    }
}

/// One element of the array `record_outcomes` takes (Sql/0005_exactly_once.sql): every key
/// present, `null` where a value is absent; the outcome object only for accepted commands.
struct OutcomeRow: Encodable, Equatable {
    /// The command id in lower case.
    var commandID: String
    /// `accepted` or `rejected`.
    var status: String
    var errorCode: String?
    var errorMessage: String?
    /// Accepted commands: their events and how many timers they scheduled.
    var outcome: Body?
    var eventPositions: [Int64]

    struct Body: Encodable, Equatable {
        var events: [Event]
        var scheduled: Int
    }

    struct Event: Encodable, Equatable {
        var type: String
        var stream: String
        var position: Int64
    }

    init(_ outcome: BatchPlan.Outcome) {
        commandID = outcome.commandID.uuidString.lowercased()
        status = outcome.status.rawValue
        errorCode = outcome.errorCode
        errorMessage = outcome.errorMessage
        self.outcome = outcome.status == .accepted
            ? Body(events: outcome.events.map { Event(type: $0.type, stream: $0.stream, position: $0.position) },
                   scheduled: outcome.scheduled)
            : nil
        eventPositions = outcome.positions
    }

    enum CodingKeys: String, CodingKey {
        case commandID = "command_id", status, errorCode = "error_code", errorMessage = "error_message", outcome
        case eventPositions = "event_positions"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(commandID, forKey: .commandID)
        try c.encode(status, forKey: .status)
        try c.encode(errorCode, forKey: .errorCode)  // Optional: null when absent
        try c.encode(errorMessage, forKey: .errorMessage)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(eventPositions, forKey: .eventPositions)
    }
}
