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
    /// One line for people, e.g. "review scheduled for the Board meeting of 2025-09-16".
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

/// Event metadata written by the daemon (`BatchPlan`): who, through which command.
struct EventMetadata: Decodable {
    var actor: String?
    var commandID: UUID?
    var commandType: String?
    enum CodingKeys: String, CodingKey { case actor, commandID = "command_id", commandType = "command_type" }
}

/// Human-readable one-line descriptions of events.
public enum EventSummary {
    /// One line describing `event`; `name` gives an agency's display name.
    public static func line(_ event: DomainEvent, name: (AgencyID) -> String) -> String {
        func votes(_ tally: [SeatVote]) -> String {
            tally.map { "\($0.seat.title) \($0.member): \($0.vote.rawValue)" }.joined(separator: ", ")
        }
        switch event {
        case .agreementRegistered(let e):
            return "\(e.agencyName) registered: \(e.model.iceName) agreement signed \(e.signedOn) (ICE list \(e.sourceEdition))"
        case .agreementDetailsUpdated(let e):
            return "details of \(e.agreementID) updated from ICE list \(e.sourceEdition)"
        case .agencyRenamed(let e):
            return "renamed from \"\(e.oldName)\" to \"\(e.newName)\""
        case .signedDateCorrected(let e):
            return "signed date of \(e.agreementID) corrected from \(e.oldSignedOn) to \(e.signedOn)"
        case .terminationRequestSubmitted(let e):
            return "\(name(e.agencyID)) asks to end its \(e.model.iceName) agreement (filed \(e.filedOn)): \(e.reason)"
        case .terminationRequestWithdrawn(let e):
            return "request withdrawn on \(e.withdrawnOn)" + (e.reason.map { ": \($0)" } ?? "")
        case .reviewScheduled(let e):
            return "review scheduled for the Board meeting of \(e.meetingDate)"
                + (e.previousMeetingDate.map { " (was \($0))" } ?? "")
        case .boardVoteRecorded(let e):
            let vacant = e.vacantSeats.isEmpty ? "" : "; vacant: " + e.vacantSeats.map(\.title).joined(separator: ", ")
            return "Board vote of \(e.meetingDate): \(votes(e.tally))\(vacant)"
        case .terminationApproved(let e):
            return "approved by the Board on \(e.decidedOn), unanimously (s. 908.1031, F.S.)"
        case .terminationDenied(let e):
            let against = e.votes.filter { $0.vote != .yes }.map { "\($0.member) \($0.vote.rawValue)" }
            return "denied by the Board on \(e.decidedOn): not unanimous (\(against.joined(separator: ", ")))"
        case .terminationNoticeReceived(let e):
            return "ICE received the termination notice on \(e.receivedOn)"
                + (e.servedOn.map { " (served \($0))" } ?? "") + "; the agreement ends on \(e.effectiveOn)"
        case .agreementTerminated(let e):
            return "agreement \(e.agreementID) terminated, effective \(e.effectiveOn)"
        case .boardSeatFilled(let e):
            return "\(e.member ?? "?") holds the \(e.seat.title) seat from \(e.effectiveOn)"
                + (e.dateUncertain ? " (date uncertain)" : "")
        case .boardSeatVacated(let e):
            return "the \(e.seat.title) seat is vacant from \(e.effectiveOn)" + (e.dateUncertain ? " (date uncertain)" : "")
        case .localGovernmentVoteRecorded(let e):
            return "\(e.body) voted \(e.tally) on \(e.votedOn): \(e.motion) (annotation only)"
        }
    }
}

extension Connection {
    /// Every event about an agency (metadata `agency_id`), in log order.
    public func history(agency: AgencyID) throws -> [HistoryEntry] {
        try history(where: "metadata->>'agency_id' = $1", [agency.slug])
    }

    /// Every event of a termination request (its stream, and the agreement's end it caused), in log order.
    public func history(request: UUID) throws -> [HistoryEntry] {
        // Event data spells UUIDs in upper case (Foundation's Codable form); stream ids in lower case.
        try history(where: "stream_id = $1 OR lower(data->>'request_id') = $2",
                    [StreamName.request(request), request.uuidString.lowercased()])
    }

    /// The events at these global positions (e.g. a command's), in log order.
    public func history(positions: [Int64]) throws -> [HistoryEntry] {
        guard !positions.isEmpty else { return [] }
        return try history(where: "global_position = ANY($1::bigint[])",
                           ["{" + positions.map(String.init).joined(separator: ",") + "}"])
    }

    private func history(where condition: String, _ parameters: [any PostgresEncodable]) throws -> [HistoryEntry] {
        let events = try decodeEvents(query(
            "SELECT \(Self.eventColumns) FROM events WHERE \(condition) ORDER BY global_position",
            parameters, name: "history"))
        let names = try agencyNames()
        let decoder = JSONDecoder()
        return try events.map { event in
            let domain = try DomainEvent.decode(type: event.type, data: Data(event.data.utf8))
            let metadata = try? decoder.decode(EventMetadata.self, from: Data(event.metadata.utf8))
            return HistoryEntry(
                position: event.globalPosition, streamID: event.streamID, streamVersion: event.streamVersion,
                eventType: event.type, occurredAt: event.occurredAt, recordedAt: event.recordedAt,
                actor: metadata?.actor, commandID: metadata?.commandID, commandType: metadata?.commandType,
                summary: EventSummary.line(domain, name: { names[$0.slug] ?? $0.slug }),
                data: try decoder.decode(JSONValue.self, from: Data(event.data.utf8)))
        }
    }

    /// Agency id -> current name, from `agreement_status`.
    func agencyNames() throws -> [String: String] {
        var names: [String: String] = [:]
        for row in try query("SELECT DISTINCT agency_id, agency_name FROM agreement_status", name: "agency names").rows {
            names[try row.decode(0)] = try row.decode(1)
        }
        return names
    }
}
