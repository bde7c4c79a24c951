import Foundation

/// A command as the API returns it: the same keys and forms as `sbie commands --json`
/// (snake_case, ISO 8601 UTC times, the outcome as JSON).
struct CommandResource: Encodable, Sendable {
    var commandID: String
    var commandType: String
    var status: String
    var submittedBy: String
    var idempotencyKey: String
    var agencyID: String?
    var submittedAt: String
    var availableAt: String
    var attempts: Int
    var outcome: JSONValue?
    var errorCode: String?
    var errorMessage: String?
    var processedAt: String?
    var eventPositions: [Int64]
    /// `/v1/commands/{command_id}`.
    var url: String

    enum CodingKeys: String, CodingKey {
        case commandID = "command_id", commandType = "command_type", status, submittedBy = "submitted_by"
        case idempotencyKey = "idempotency_key", agencyID = "agency_id", submittedAt = "submitted_at"
        case availableAt = "available_at", attempts, outcome, errorCode = "error_code", errorMessage = "error_message"
        case processedAt = "processed_at", eventPositions = "event_positions", url
    }

    init(_ r: CommandRecord) {
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
        url = "/v1/commands/\(commandID)"
    }
}
