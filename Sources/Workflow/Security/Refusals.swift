/// What a client is told when PostgreSQL refuses a statement: the SQLSTATE, a stable
/// snake_case code and one sentence saying what was wrong. Every entry is a row of the
/// refusal table in docs/security.md (a test keeps the two equal).
public struct Refusal: Sendable, Equatable {
    /// Five-character SQLSTATE, e.g. `42501`.
    public var sqlState: String
    /// Stable snake_case code, e.g. `permission_denied` (the `SubmissionError.code` for submissions).
    public var code: String
    /// One sentence for a person, naming what to change.
    public var explanation: String

    /// The catalogue: every SQLSTATE a client of this project can meet from our SQL, in
    /// the order of docs/security.md's table.
    public static let all: [Refusal] = [
        Refusal("42501", "permission_denied",
                "this login may not do that (its group may not submit this command type, read this table, or run this function)"),
        Refusal("CQ001", "payload_too_large", "the command's payload is over 64 KiB"),
        Refusal("CQ002", "malformed_payload", "the payload is not a JSON object, repeats a key (at any depth), or contains \\u0000"),
        Refusal("CQ003", "agency_mismatch", "a clerk may only submit for its own agency"),
        Refusal("CQ004", "available_at_not_allowed", "only the daemon's timers and the owner may set available_at"),
        Refusal("CQ005", "timestamp_out_of_range", "a timestamp is outside 1900-01-01 .. 2200-01-01 UTC"),
        Refusal("CQ006", "invalid_name", "a name (agency, county, Board member, local body) holds a control or format character (newline, tab, bidi control, zero-width or similar)"),
        Refusal("CQ007", "idempotency_key_reused",
                "this login already used the idempotency key for another command (another type or payload): nothing new was submitted; use a new key"),
        Refusal("23514", "check_violation", "a value is outside what the table allows (a CHECK constraint)"),
        Refusal("22P02", "malformed_payload", "the payload is not valid JSON (or a value is not of its column's type)"),
        Refusal("22P05", "malformed_payload", "the payload contains a Unicode escape that cannot be stored (\\u0000)"),
        Refusal("54001", "malformed_payload", "the payload is nested too deeply"),
        Refusal("22021", "malformed_payload", "the text sent is not valid UTF-8"),
        Refusal("22023", "invalid_submission",
                "a command type (1-100 characters) and an idempotency key (1-200 characters) are required"),
        Refusal("22007", "invalid_timestamp", "a date or timestamp is not written as one (use ISO 8601, e.g. 2025-08-01T09:00:00Z)"),
        Refusal("22008", "invalid_timestamp", "a date or timestamp is out of range"),
        Refusal("ES001", "wrong_expected_version", "the stream has moved on since it was read: read it again and retry"),
        Refusal("ES002", "idempotency_conflict", "some of these event ids are already stored, but not as exactly this append"),
        Refusal("ES003", "events_are_immutable", "the event log is append-only: no event is ever updated or deleted"),
        Refusal("SE001", "record_is_immutable",
                "a command's submission never changes, a decided command's outcome never changes, and no command is deleted"),
        Refusal("42883", "not_migrated_or_no_access",
                "a function of the schema was not found: the database is not migrated (sbie migrate) or this login lacks USAGE on schema sbie"),
        Refusal("42P01", "not_migrated_or_no_access",
                "a table of the schema was not found: the database is not migrated (sbie migrate) or this login lacks USAGE on schema sbie"),
        Refusal("57014", "canceled", "the statement was canceled (statement_timeout or an administrator): retry"),
        Refusal("40001", "retry", "a concurrent transaction conflicted (serialization failure): retry"),
        Refusal("40P01", "retry", "a deadlock was broken by aborting this transaction: retry"),
        Refusal("25006", "read_only", "the server is read-only (a standby): connect to the primary"),
        Refusal("53300", "too_many_connections", "the server has no free connection slot: retry later"),
    ]

    /// The SQLSTATEs `CommandQueue.submit` reports as a `SubmissionError` with the catalogue's
    /// code (the submission's own refusals: size, shape, permission, agency, timestamps);
    /// other errors pass through as `PostgresError`.
    /// 22P02 invalid JSON text, 22P05 an unconvertible \u0000 escape, 54001 nesting too
    /// deep, 22021 invalid UTF-8, 22007/22008 a timestamp that is not one or out of range.
    public static let submissionStates: Set<String> = [
        "CQ001", "CQ002", "CQ003", "CQ004", "CQ005", "CQ006", "CQ007", "22P02", "22P05", "54001", "22021", "22023", "22007", "22008",
        PostgresError.State.insufficientPrivilege,
    ]

    /// The refusal for a SQLSTATE, or nil when it is not one a client is expected to meet.
    public static func forSQLState(_ sqlState: String?) -> Refusal? {
        guard let sqlState else { return nil }
        return all.first { $0.sqlState == sqlState }
    }

    /// A line for a person: `code: explanation (SQLSTATE x: the server's message)`, or the
    /// error's own description when its SQLSTATE is not in the catalogue.
    public static func describe(_ error: PostgresError) -> String {
        guard let refusal = forSQLState(error.sqlState) else { return error.description }
        return "\(refusal.code): \(refusal.explanation) (SQLSTATE \(refusal.sqlState): \(error.message))"
    }

    init(_ sqlState: String, _ code: String, _ explanation: String) {
        self.sqlState = sqlState
        self.code = code
        self.explanation = explanation
    }
}
