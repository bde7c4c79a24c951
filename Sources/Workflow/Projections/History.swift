import Foundation

/// One event of an agency's or a request's history, as auditors read it.
public struct HistoryEntry: Sendable, Equatable, Encodable {
    public var position: Int64
    public var streamID: String
    public var streamVersion: Int
    public var eventType: String
    /// Legal time (the date the actor gave, midnight Eastern), or the submission time.
    public var occurredAt: Timestamp
    /// Log time: the database clock at append.
    public var recordedAt: Timestamp
    /// The database login that submitted the command (event metadata `actor`).
    public var actor: String?
    public var commandID: UUID?
    public var commandType: String?
    /// One sentence for people (`AgencyTimeline.summary(of:)`).
    public var summary: String
    /// The event's data, as stored.
    public var data: JSONValue

    enum CodingKeys: String, CodingKey {
        case position = "global_position", streamID = "stream_id", streamVersion = "stream_version"
        case eventType = "event_type", occurredAt = "occurred_at", recordedAt = "recorded_at", actor
        case commandID = "command_id", commandType = "command_type", summary, data
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(position, forKey: .position)
        try c.encode(streamID, forKey: .streamID)
        try c.encode(streamVersion, forKey: .streamVersion)
        try c.encode(eventType, forKey: .eventType)
        try c.encode(occurredAt.iso8601, forKey: .occurredAt)
        try c.encode(recordedAt.iso8601, forKey: .recordedAt)
        try c.encode(actor, forKey: .actor)
        try c.encode(commandID.map { $0.uuidString.lowercased() }, forKey: .commandID)
        try c.encode(commandType, forKey: .commandType)
        try c.encode(summary, forKey: .summary)
        try c.encode(data, forKey: .data)
    }
}

/// An agency's or a request's history, or the events at given positions, read from the log
/// with their metadata (who, which command).
public enum EventHistory {
    /// Every event about an agency (metadata `agency_id`), in log order.
    public static func entries(agency: AgencyID, on connection: isolated Connection) throws -> [HistoryEntry] {
        try EventHistory.entries(where: "metadata->>'agency_id' = $1", [agency.slug], on: connection)
    }

    /// Every event of a termination request (its stream, and the agreement's end it caused), in log order.
    public static func entries(request: UUID, on connection: isolated Connection) throws -> [HistoryEntry] {
        // Event data spells UUIDs in upper case (Foundation's Codable form); stream ids in lower case.
        try EventHistory.entries(where: "stream_id = $1 OR lower(data->>'request_id') = $2",
                    [StreamName.request(request), request.uuidString.lowercased()], on: connection)
    }

    /// The events at these global positions (e.g. a command's), in log order.
    public static func entries(positions: [Int64], on connection: isolated Connection) throws -> [HistoryEntry] {
        guard !positions.isEmpty else { return [] }
        return try EventHistory.entries(where: "global_position = ANY($1::bigint[])",
                           [PostgresArray(positions)], on: connection)
    }

    private static func entries(
        where condition: String, _ parameters: [any PostgresEncodable], on connection: isolated Connection
    ) throws -> [HistoryEntry] {
        let events = try EventStore.decodeEvents(connection.query(
            "SELECT \(EventStore.eventColumns) FROM events WHERE \(condition) ORDER BY global_position",
            parameters, name: "history"))
        let decoder = JSONDecoder()
        return try events.map { event in
            let domain = try event.domainEvent()
            let metadata = EventMetadata(json: event.metadata)
            return HistoryEntry(
                position: event.globalPosition, streamID: event.streamID, streamVersion: event.streamVersion,
                eventType: event.type, occurredAt: event.occurredAt, recordedAt: event.recordedAt,
                actor: metadata?.actor, commandID: metadata?.commandID, commandType: metadata?.commandType,
                summary: AgencyTimeline.summary(of: domain),
                data: try decoder.decode(JSONValue.self, from: Data(event.data.utf8)))
        }
    }
}
