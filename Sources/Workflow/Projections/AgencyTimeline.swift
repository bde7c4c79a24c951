import Foundation

/// `agency_timeline`: a catch-up projection with one human-readable row per event
/// that concerns an agency, following `global_position` from its checkpoint in
/// `projection_checkpoints`. Rows and checkpoint are written in one transaction,
/// so the projection is exactly the log's prefix up to the checkpoint, with no
/// duplicates after a crash. Concurrent runners take turns on the checkpoint row.
public enum AgencyTimeline {
    public static let name = "agency_timeline"

    /// Brings the projection up to the end of the log, `batchSize` events per transaction.
    /// - Returns: the number of events read (rows are written only for agency events).
    /// - Throws: `PostgresError`; a decoding error for an event whose data does not match its type.
    @discardableResult
    public static func catchUp(on db: Connection, batchSize: Int = 2_000) async throws -> Int {
        var total = 0
        while true {
            let read = try await db.transaction { c in try step(c, batchSize: batchSize) }
            total += read
            if read < batchSize { return total }
        }
    }

    /// Empties the projection and replays it from position 0, in one transaction.
    public static func rebuild(on db: Connection) async throws -> Int {
        try await db.transaction { c in
            try c.executeScript("DELETE FROM agency_timeline")
            try c.query(
                "INSERT INTO projection_checkpoints (projection, position) VALUES ($1, 0) "
                    + "ON CONFLICT (projection) DO UPDATE SET position = 0", [name])
            var total = 0
            while true {
                let read = try step(c, batchSize: 10_000)
                total += read
                if read < 10_000 { return total }
            }
        }
    }

    private static func step(_ c: isolated Connection, batchSize: Int) throws -> Int {
        try c.query("INSERT INTO projection_checkpoints (projection, position) VALUES ($1, 0) ON CONFLICT DO NOTHING", [name])
        guard let checkpoint = try c.query(
            "SELECT position FROM projection_checkpoints WHERE projection = $1 FOR UPDATE", [name]).rows.first
        else {
            throw PostgresError(kind: .protocolViolation, message: "the \(name) checkpoint row is not readable")
        }
        let position: Int64 = try checkpoint.decode(0)
        let events = try EventStore.readAll(after: position, limit: batchSize, on: c)
        guard let last = events.last else { return 0 }
        var rows: [[String?]] = []
        let decoder = JSONDecoder()  // one for the batch
        for event in events {
            let metadata = EventMetadata(json: event.metadata, using: decoder)
            guard let agency = metadata?.agencyID else { continue }
            let decoded = try event.domainEvent(using: decoder)
            rows.append([
                String(event.globalPosition), agency, event.occurredAt.iso8601, event.recordedAt.iso8601, event.type,
                event.streamID, metadata?.actor, summary(of: decoded),
            ])
        }
        if !rows.isEmpty {
            // COPY FROM is refused on a table under row-level security (the daemon's login is), so
            // COPY into a session-local staging table and move the rows with one INSERT.
            try c.executeScript(
                "CREATE TEMP TABLE IF NOT EXISTS agency_timeline_staging (LIKE agency_timeline) ON COMMIT DELETE ROWS")
            try c.copyIn(
                "COPY agency_timeline_staging (global_position, agency_id, occurred_at, recorded_at, event_type, "
                    + "stream_id, actor, summary) FROM STDIN", rows: rows)
            try c.query("WITH moved AS (DELETE FROM agency_timeline_staging RETURNING *) "
                        + "INSERT INTO agency_timeline SELECT * FROM moved")
        }
        try c.query("UPDATE projection_checkpoints SET position = $2 WHERE projection = $1", [name, last.globalPosition])
        return events.count
    }

    /// One sentence saying what an event records, for people reading a history.
    public static func summary(of event: DomainEvent) -> String {
        func votes(_ list: [SeatVote]) -> String {
            list.map { "\($0.seat.title) \($0.member): \($0.vote.rawValue)" }.joined(separator: "; ")
        }
        switch event {
        case .agreementRegistered(let e):
            return "\(e.model.iceName) agreement signed \(e.signedOn) registered from ICE's list (edition \(e.sourceEdition))"
        case .agreementDetailsUpdated(let e):
            return "agreement details updated from ICE's list (edition \(e.sourceEdition))"
        case .agencyRenamed(let e):
            return "agency renamed from \"\(e.oldName)\" to \"\(e.newName)\""
        case .signedDateCorrected(let e):
            return "signed date corrected from \(e.oldSignedOn) to \(e.signedOn)"
        case .terminationRequestSubmitted(let e):
            return "requested termination of its \(e.model.iceName) agreement, filed \(e.filedOn): \(e.reason)"
        case .terminationRequestWithdrawn(let e):
            return "termination request withdrawn on \(e.withdrawnOn)"
        case .reviewScheduled(let e):
            return "State Board of Immigration Enforcement review scheduled for \(e.meetingDate)"
                + (e.scheduledOn.map { " (scheduled on \($0))" } ?? "")
        case .boardVoteRecorded(let e):
            return "Board vote at the \(e.meetingDate) meeting: \(votes(e.tally))"
        case .terminationApproved(let e):
            return "termination approved by unanimous vote on \(e.decidedOn) (s. 908.1031, F.S.)"
        case .terminationDenied(let e):
            return "termination denied on \(e.decidedOn): approval needs a yes from every sitting member (s. 908.1031, F.S.)"
        case .terminationNoticeReceived(let e):
            return "ICE received the termination notice on \(e.receivedOn); the agreement ends on \(e.effectiveOn)"
                + (e.statedEffectiveSource.map { " (the date ICE stated: \($0))" } ?? "")
                + (e.policyEntries.map { " (policy entries applied: \($0.joined(separator: ", ")))" } ?? "")
        case .agreementTerminated(let e):
            return "agreement ended on \(e.effectiveOn)"
        case .boardSeatFilled(let e):
            return "\(e.seat.title) seat filled by \(e.member ?? "?") from \(e.effectiveOn)"
                + (e.replacesEntryOn.map { "; corrects the entry effective \($0)" } ?? "")
        case .boardSeatVacated(let e):
            return "\(e.seat.title) seat vacant from \(e.effectiveOn)"
                + (e.replacesEntryOn.map { "; corrects the entry effective \($0)" } ?? "")
        case .localGovernmentVoteRecorded(let e):
            return "\(e.body) voted on \(e.votedOn): \(e.motion) (\(e.tally)); an annotation, it changes no agreement"
        case .editionRecorded(let e):
            return "ICE's edition \(e.sourceEdition) recorded (\(e.rows) Florida rows)"
        case .agreementNotListed(let e):
            return "\(e.agreementID) not listed in ICE's edition \(e.sourceEdition); not a termination"
        case .agreementListedAgain(let e):
            return "\(e.agreementID) listed again in ICE's edition \(e.sourceEdition) (not listed since \(e.notListedSince))"
        case .agreementHolderChanged(let e):
            return "\(e.agreementID) now held by \"\(e.toAgencyName)\" (was \(e.fromAgencyID)), per ICE's edition \(e.sourceEdition ?? e.edition.description)"
        case .agreementResigned(let e):
            return "agreement re-signed on \(e.signedOn) (was \(e.oldSignedOn)) with a new MOA file"
        case .agreementMarkedDuplicate(let e):
            return "\(e.agreementID) recorded as a duplicate listing of \(e.duplicateOf); not a termination"
        case .policyEntryAdopted(let e):
            return "policy entry '\(e.entryID)' adopted: \(e.topic.rawValue) = \(e.reading.rawValue) from \(e.effectiveOn) (\(e.basis.label): \(e.source))"
        }
    }
}
