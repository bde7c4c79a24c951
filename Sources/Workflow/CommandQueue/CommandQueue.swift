import Foundation

/// A command's row in the queue, as a client sees it.
public struct CommandRecord: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        /// Waiting for the daemon (or for its `availableAt`, or for a retry after a failure).
        case pending
        /// Decided; its events are appended (possibly none, e.g. an unchanged re-import).
        case accepted
        /// Refused by a rule or by validation; `errorCode` says which. Nothing was appended.
        case rejected
        /// Failed unexpectedly `maxAttempts` times (dead letter); `sbie retry` puts it back.
        case failed
    }

    public var commandID: UUID
    public var commandType: String
    public var status: Status
    /// The database login that submitted it.
    public var submittedBy: String
    public var idempotencyKey: String
    /// The payload's `agency_id`, when it has one.
    public var agencyID: String?
    public var submittedAt: Timestamp
    public var availableAt: Timestamp
    public var attempts: Int
    /// For accepted commands: `{"events": [{"type", "stream", "position"}], "summary"}`.
    public var outcome: String?
    public var errorCode: String?
    public var errorMessage: String?
    public var processedAt: Timestamp?
    public var eventPositions: [Int64]

    public var isFinal: Bool { status != .pending }
}

/// One failed attempt at deciding a command (`command_attempts`).
public struct CommandAttempt: Sendable, Equatable, Codable {
    /// 1, 2, 3 … over the command's life (a retried command continues the count).
    public var attempt: Int
    public var failedAt: Timestamp
    /// `internal_error` for an unexpected failure.
    public var errorCode: String
    public var errorMessage: String
    /// `login/host:pid` of the daemon that failed.
    public var daemonID: String
    /// Whether this attempt moved the command to `failed`.
    public var deadLetter: Bool
}

/// An error from `submit_command` before anything was enqueued.
public struct SubmissionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `payload_too_large`, `malformed_payload`, `permission_denied`, `agency_mismatch`,
    /// `available_at_not_allowed`, `timestamp_out_of_range`, `invalid_submission` or
    /// `invalid_timestamp` (docs/security.md's refusal table, `Refusal.all`); or
    /// `idempotency_key_reused` (`SubmissionError.keyReusedCode`): refused by `submit_command`
    /// (CQ007, 0024) or found by the client library's stricter comparison (`ignoringField`).
    public var code: String
    public var message: String
    /// For `idempotency_key_reused`: the first command, which the key already names.
    public var commandID: UUID? = nil
    public var description: String { "\(code): \(message)" }

    /// The code of a submission whose idempotency key already names a command with another
    /// command type or payload: nothing new is queued, and the first command is not the
    /// caller's answer (CLI exit 1, HTTP 409).
    public static let keyReusedCode = "idempotency_key_reused"
}

/// The command queue as a client sees it: submit through `submit_command`, read, wait for
/// the daemon's outcome, retry failed commands, read failed attempts.
public enum CommandQueue {
    static let commandColumns = """
        command_id, command_type, status, submitted_by, idempotency_key, agency_id, submitted_at, available_at,
        attempts, outcome::text, error_code, error_message, processed_at, array_to_string(event_positions, ',')
        """

    /// Enqueues a command through the `submit_command` SQL function.
    ///
    /// - Parameters:
    ///   - type: e.g. `submit_termination_request`.
    ///   - payload: a JSON object (text), at most 64 KiB.
    ///   - idempotencyKey: unique per submitting login; resubmitting returns the first command.
    ///   - availableAt: not processed before this instant (nil: now).
    ///   - ignoringField: a top-level payload field a retry may legitimately change (the CLI's
    ///     generated `request_id`), left out when comparing with the first command.
    /// - Returns: the command as stored (a resubmission of the same command type and payload,
    ///   compared as `jsonb`, returns the original, possibly already decided).
    /// - Throws: `SubmissionError` when the database refuses it (size, shape, permission), or
    ///   with code `idempotency_key_reused` (and `commandID`, the first command) when the key
    ///   already names a command of another type or payload (nothing new is queued; the
    ///   database refuses it too, CQ007, for any caller of `submit_command`);
    ///   `PostgresError` for other failures.
    public static func submit(
        type: String, payload: String, idempotencyKey: String, availableAt: Timestamp? = nil,
        ignoringField: String? = nil, on connection: isolated Connection
    ) throws -> CommandRecord {
        // One round trip (a pipeline, one implicit transaction) submits, then reads the command
        // back and compares. The key names at most one command per login (a unique index on
        // (submitted_by, idempotency_key)), so a command that was already there and differs in
        // type or payload means the key was used before for another command; a new insert is
        // this payload and compares equal. The read is a second statement so that it sees the
        // insert (a statement's snapshot precedes what the functions it calls write), under the
        // login's row-level security like any read. Each statement is planned once per session
        // (the comparison used to sit in the submission's statement, which PostgreSQL planned
        // afresh on every call). Both keys of the (submitted_by, idempotency_key) index are
        // used: `submitted_by` is in collation "C", as the login `name` is (0024;
        // `PlanStabilityTests`).
        let record: CommandRecord
        let same: Bool?
        do {
            let results = try connection.pipeline([
                Statement("SELECT command_id FROM submit_command($1, $2::text::json, $3, $4)",
                          [type, payload, idempotencyKey, availableAt]),
                Statement(
                    """
                    SELECT \(Self.commandColumns),
                           c.command_type = $1
                           AND CASE WHEN $4::text IS NULL THEN c.payload::jsonb = $2::text::jsonb
                                    ELSE (c.payload::jsonb - $4::text) = ($2::text::jsonb - $4::text) END
                    FROM commands c WHERE c.submitted_by = acting_login() AND c.idempotency_key = $3
                    """, [type, payload, idempotencyKey, ignoringField]),
            ])
            guard results.count == 2, results[0].rows.first != nil else {
                throw SubmissionError(code: "permission_denied", message: "submit_command returned no command")
            }
            guard let row = results[1].rows.first else {
                throw SubmissionError(code: "permission_denied", message: "the command was stored but is not visible to this login")
            }
            record = try Self.commandRecord(row)
            same = try row.decodeIfPresent(14)
        } catch let error as PostgresError {
            // The database found the key naming another command (0024): its message is the one
            // `keyReused` writes, and its DETAIL names the first command (`command_id=<uuid>`).
            // Nothing is read again: the caller's transaction, if any, is aborted now.
            if error.sqlState == PostgresError.State.idempotencyKeyReused {
                let prefix = SubmissionError.keyReusedCode + ": ", label = "command_id="
                let first = error.detail.flatMap { $0.hasPrefix(label) ? UUID(uuidString: String($0.dropFirst(label.count))) : nil }
                throw SubmissionError(
                    code: SubmissionError.keyReusedCode,
                    message: error.message.hasPrefix(prefix) ? String(error.message.dropFirst(prefix.count)) : error.message,
                    commandID: first)
            }
            // A refusal a submitter can act on: its code is the catalogue's (`Refusal.all`).
            if let state = error.sqlState, Refusal.submissionStates.contains(state), let refusal = Refusal.forSQLState(state) {
                throw SubmissionError(code: refusal.code, message: error.message)
            }
            throw error
        }
        if same == false { throw keyReused(idempotencyKey, first: record, type: type) }
        return record
    }

    /// `idempotency_key_reused`: the key already names `first`, of another type or payload.
    private static func keyReused(_ key: String, first record: CommandRecord, type: String) -> SubmissionError {
        let id = record.commandID
        return SubmissionError(
            code: SubmissionError.keyReusedCode,
            message: "idempotency key '\(key.prefix(200))' was already used for command \(id.uuidString.lowercased()) "
                + "(\(record.commandType), submitted \(record.submittedAt.iso8601), \(record.status.rawValue)) with a different "
                + (record.commandType != type ? "command type" : "payload")
                + "; nothing new was submitted: use a new key to submit this command",
            commandID: id)
    }

    /// One command, or nil when it does not exist or this login may not see it.
    public static func command(_ id: UUID, on connection: isolated Connection) throws -> CommandRecord? {
        try connection.query("SELECT \(Self.commandColumns) FROM commands WHERE command_id = $1", [id], name: "read command")
            .rows.first.map(Self.commandRecord)
    }

    /// Commands in submission order, newest last, optionally only one status.
    public static func commands(
        status: CommandRecord.Status? = nil, limit: Int = 100, on connection: isolated Connection
    ) throws -> [CommandRecord] {
        try connection.query(
            "SELECT \(Self.commandColumns) FROM (SELECT * FROM commands WHERE $1::text IS NULL OR status = $1 "
                + "ORDER BY seq DESC LIMIT $2) c ORDER BY seq", [status?.rawValue, limit], name: "list commands"
        ).rows.map(Self.commandRecord)
    }

    /// Waits until the daemon has decided the command (LISTEN on `sbie_outcomes`, once per
    /// session, re-reading the row on every wake-up and at least every 500 ms).
    /// - Returns: the command, final or still pending when `timeout` ran out.
    public static func waitForOutcome(
        _ id: UUID, timeout: Duration, on connection: isolated Connection
    ) throws -> CommandRecord? {
        try connection.listen(SharedNames.Channel.outcomes)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            // Notifications already received are older than the read below: drop them, so that
            // only an outcome announced after it wakes the wait (LISTEN stays on for the session).
            try connection.drainNotifications()
            let record = try command(id, on: connection)
            guard let record, !record.isFinal else { return record }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return record }
            _ = try connection.waitForNotification(timeout: min(remaining, .milliseconds(500)))
        }
    }

    /// Puts failed commands back in the queue (attempts reset, due now, at the end of the
    /// due commands). Their failed attempts stay in `command_attempts` (see `attempts`).
    /// - Parameter id: one command, or nil for every failed command.
    /// - Returns: how many were requeued.
    @discardableResult
    public static func retryFailed(_ id: UUID? = nil, on connection: isolated Connection) throws -> Int {
        try connection.execute(
            """
            UPDATE commands SET status = 'pending', attempts = 0, available_at = clock_timestamp(), retry_at = NULL,
                error_code = NULL, error_message = NULL, processed_at = NULL
            WHERE status = 'failed' AND ($1::uuid IS NULL OR command_id = $1)
            """, [id], name: "retry failed commands")
    }

    /// Every failed attempt at deciding a command, oldest first (kept across `retry`).
    public static func attempts(_ id: UUID, on connection: isolated Connection) throws -> [CommandAttempt] {
        try connection.query(
            """
            SELECT attempt, failed_at, error_code, error_message, daemon_id, dead_letter
            FROM command_attempts WHERE command_id = $1 ORDER BY attempt
            """, [id], name: "command attempts"
        ).rows.map {
            CommandAttempt(attempt: try $0.decode(0), failedAt: try $0.decode(1), errorCode: try $0.decode(2),
                           errorMessage: try $0.decode(3), daemonID: try $0.decode(4), deadLetter: try $0.decode(5))
        }
    }

    static func commandRecord(_ row: Row) throws -> CommandRecord {
        CommandRecord(
            commandID: try row.decode(0), commandType: try row.decode(1),
            status: CommandRecord.Status(rawValue: try row.decode(2)) ?? .pending,
            submittedBy: try row.decode(3), idempotencyKey: try row.decode(4), agencyID: try row.decodeIfPresent(5),
            submittedAt: try row.decode(6), availableAt: try row.decode(7), attempts: try row.decode(8),
            outcome: try row.decodeIfPresent(9), errorCode: try row.decodeIfPresent(10),
            errorMessage: try row.decodeIfPresent(11), processedAt: try row.decodeIfPresent(12),
            eventPositions: (try row.decode(13, as: String.self)).split(separator: ",").compactMap { Int64($0) })
    }
}
