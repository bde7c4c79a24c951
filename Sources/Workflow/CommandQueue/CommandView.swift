import Foundation

/// A command record as clients see it: `sbie commands --json`, the CLI's `--json` after a
/// submission, and the HTTP API's command resource all print this one shape.
///
/// Keys are snake_case; times are ISO 8601 in UTC (`Timestamp.iso8601`); `outcome` is the
/// stored outcome JSON (nil when it is not readable JSON); `url` is the API's
/// `/v1/commands/{command_id}`, omitted by the CLI.
public struct CommandView: Encodable, Sendable {
    public var commandID: String
    public var commandType: String
    public var status: String
    public var submittedBy: String
    public var idempotencyKey: String
    public var agencyID: String?
    public var submittedAt: String
    public var availableAt: String
    public var attempts: Int
    public var outcome: JSONValue?
    public var errorCode: String?
    public var errorMessage: String?
    public var processedAt: String?
    public var eventPositions: [Int64]
    /// `/v1/commands/{command_id}` in the HTTP API; nil (and not encoded) elsewhere.
    public var url: String?

    enum CodingKeys: String, CodingKey {
        case commandID = "command_id", commandType = "command_type", status, submittedBy = "submitted_by"
        case idempotencyKey = "idempotency_key", agencyID = "agency_id", submittedAt = "submitted_at"
        case availableAt = "available_at", attempts, outcome, errorCode = "error_code", errorMessage = "error_message"
        case processedAt = "processed_at", eventPositions = "event_positions", url
    }

    /// - Parameter withURL: adds the API's `url` for the command.
    public init(_ r: CommandRecord, withURL: Bool = false) {
        commandID = r.commandID.uuidString.lowercased()
        commandType = r.commandType
        status = r.status.rawValue
        submittedBy = r.submittedBy
        idempotencyKey = r.idempotencyKey
        agencyID = r.agencyID
        submittedAt = r.submittedAt.iso8601
        availableAt = r.availableAt.iso8601
        attempts = r.attempts
        outcome = r.outcome.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        errorCode = r.errorCode
        errorMessage = r.errorMessage
        processedAt = r.processedAt?.iso8601
        eventPositions = r.eventPositions
        url = withURL ? "/v1/commands/\(commandID)" : nil
    }
}
