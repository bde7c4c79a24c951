/// An error reported by PostgreSQL or by libpq.
///
/// `description` names the SQLSTATE, the server's message and the statement's
/// label; it never contains parameter values or connection passwords (parameters
/// travel separately from the SQL text, the label is the caller's or the SQL text
/// with its `$n` placeholders, and the server's `detail`, which may quote the
/// offending values, is kept in its own property and left out of `description`).
public struct PostgresError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Where the failure happened.
    public enum Kind: String, Sendable {
        /// Could not connect, or the connection was lost.
        case connection
        /// The server rejected a statement; `sqlState` says why.
        case statement
        /// libpq or the server answered something this layer did not expect.
        case protocolViolation
    }

    public var kind: Kind
    /// Five-character SQLSTATE (e.g. `23505` unique violation), when the server sent one.
    public var sqlState: String?
    /// The server's (or libpq's) primary message, without a trailing newline.
    public var message: String
    public var detail: String?
    public var hint: String?
    /// The constraint that failed, for integrity violations.
    public var constraint: String?
    /// A label for the statement: the caller's name for it, or the start of its SQL text.
    public var statement: String?

    public init(
        kind: Kind, sqlState: String? = nil, message: String, detail: String? = nil,
        hint: String? = nil, constraint: String? = nil, statement: String? = nil
    ) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.statement = statement
    }

    public var description: String {
        var text = "PostgreSQL \(kind.rawValue) error"
        if let sqlState { text += " \(sqlState)" }
        text += ": \(message)"
        if let statement { text += " [statement: \(statement)]" }
        return text
    }

    /// Well-known SQLSTATEs used by this project: PostgreSQL's own (Appendix A of its
    /// manual) and the project's custom codes raised by its SQL functions (`ES` event
    /// store, `CQ` command queue, `CP` checkpoints). The client-visible ones are also
    /// in `Refusal.all` and docs/security.md's refusal table.
    public enum State {
        public static let uniqueViolation = "23505"
        public static let serializationFailure = "40001"
        public static let deadlockDetected = "40P01"
        public static let insufficientPrivilege = "42501"
        public static let checkViolation = "23514"
        public static let raiseException = "P0001"
        public static let duplicateObject = "42710"
        public static let dependentObjectsStillExist = "2BP01"
        public static let objectInUse = "55006"
        public static let lockNotAvailable = "55P03"

        /// `append_events`: the stream is not at the expected version.
        public static let wrongExpectedVersion = "ES001"
        /// `append_events`: some event ids are stored, but not as exactly this append.
        public static let idempotencyConflict = "ES002"
        /// `record_checkpoint`: the head is not in the log.
        public static let checkpointHeadNotInLog = "CP001"
        /// `record_checkpoint`: the signing time is not the database's.
        public static let checkpointTimeNotNow = "CP002"
        /// `submit_command` (0024): the login's idempotency key already names another command.
        public static let idempotencyKeyReused = "CQ007"
    }
}
