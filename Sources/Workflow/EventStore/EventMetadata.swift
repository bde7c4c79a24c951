import Foundation

/// The metadata the daemon writes on every event it appends, and the one way it is
/// read back (history, the agency timeline). JSON keys are snake_case.
///
/// Written by `BatchPlan` with keys in the order `actor`, `command_id`, `command_type`,
/// `agency_id` (omitted when the event concerns no agency) and the command id in lower
/// case; events are never rewritten and the hash chain covers the stored text, so the
/// reader accepts any key order and either case. Each field is read on its own: a field
/// of the wrong type (never written by the daemon; possible in events appended by hand)
/// reads as nil without losing the others.
public struct EventMetadata: Sendable, Equatable, Codable {
    /// The database login that submitted the command.
    public var actor: String?
    /// The command whose decision appended the event.
    public var commandID: UUID?
    /// That command's type (`CommandType`'s raw value).
    public var commandType: String?
    /// The agency the event concerns (its slug), when it concerns one.
    public var agencyID: String?

    public init(actor: String?, commandID: UUID?, commandType: String?, agencyID: String?) {
        self.actor = actor
        self.commandID = commandID
        self.commandType = commandType
        self.agencyID = agencyID
    }

    enum CodingKeys: String, CodingKey {
        case actor, commandID = "command_id", commandType = "command_type", agencyID = "agency_id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        actor = try? c.decodeIfPresent(String.self, forKey: .actor)
        commandID = (try? c.decodeIfPresent(String.self, forKey: .commandID)).flatMap { $0.flatMap(UUID.init(uuidString:)) }
        commandType = try? c.decodeIfPresent(String.self, forKey: .commandType)
        agencyID = try? c.decodeIfPresent(String.self, forKey: .agencyID)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(actor, forKey: .actor)
        try c.encodeIfPresent(commandID?.uuidString.lowercased(), forKey: .commandID)
        try c.encodeIfPresent(commandType, forKey: .commandType)
        try c.encodeIfPresent(agencyID, forKey: .agencyID)
    }

    /// The stored JSON text: a compact object, keys in declaration order, absent fields
    /// omitted, the command id in lower case. Written by hand (no encoder per event on
    /// the daemon's hot path); `init(json:)` and `Codable` read it back.
    public var json: String {
        var parts: [String] = []
        if let actor { parts.append("\"actor\":\(jsonString(actor))") }
        if let commandID { parts.append("\"command_id\":\"\(commandID.uuidString.lowercased())\"") }
        if let commandType { parts.append("\"command_type\":\(jsonString(commandType))") }
        if let agencyID { parts.append("\"agency_id\":\(jsonString(agencyID))") }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// Reads stored metadata; nil when the text is not a JSON object.
    /// - Parameter decoder: a plain `JSONDecoder` (default options); a loop over events reuses one.
    public init?(json text: String, using decoder: JSONDecoder = JSONDecoder()) {
        guard let value = try? decoder.decode(EventMetadata.self, from: Data(text.utf8)) else { return nil }
        self = value
    }
}
