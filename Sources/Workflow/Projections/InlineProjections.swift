import Foundation

/// The inline read models: `agreement_status`, `termination_requests` and
/// `board_docket`, written from the register state in the same transaction as the
/// events that changed it, and rebuilt from position 0 on demand.
///
/// Each row is a pure function of `RegisterState`, so an inline write and a
/// rebuild produce the same rows by construction; `checkRebuild` proves it
/// against the live tables.
public enum Projections {
    /// One inline projection's table: its name and its columns, in the order the row
    /// functions (`agreementRow`, `requestRow`, `docketRow`) give values; the first
    /// column is the key.
    struct Table: Sendable {
        let name: String
        let columns: [String]
    }

    static let agreementStatus = Table(name: "agreement_status", columns: agreementColumns)
    static let terminationRequests = Table(name: "termination_requests", columns: requestColumns)
    static let boardDocket = Table(name: "board_docket", columns: docketColumns)

    /// The inline projections' tables, in rebuild order.
    static let tables = [agreementStatus, terminationRequests, boardDocket]

    /// The inline projections' table names, in rebuild order.
    public static let inlineTables = tables.map(\.name)

    static let agreementColumns = [
        "agreement_id", "agency_id", "agency_name", "agency_type", "county", "model", "signed_on", "state",
        "must_keep", "open_request_id", "ended_on", "moa_url", "source_edition",
        "first_edition", "latest_edition", "not_listed_since", "duplicate_of",
    ]
    static let requestColumns = [
        "request_id", "agreement_id", "agency_id", "state", "filed_on", "reason", "local_authorization",
        "meeting_on", "decided_on", "votes", "notice_received_on", "effective_on",
    ]
    static let docketColumns = [
        "request_id", "agreement_id", "agency_id", "agency_name", "model", "state", "filed_on", "meeting_on",
    ]

    /// - Parameter mustKeep: `state.mandatoryReason(for: a.agencyID) != nil` when the caller
    ///   knows it already (it is the agency's, not the agreement's).
    static func agreementRow(_ a: Agreement, _ state: RegisterState, mustKeep: Bool? = nil) -> [String?] {
        [
            a.id.description, a.agencyID.slug, state.agencies[a.agencyID]?.name ?? a.agencyID.slug,
            a.agencyType.rawValue, a.county, a.model.rawValue, a.signedOn.description, a.status.rawValue,
            (mustKeep ?? (state.mandatoryReason(for: a.agencyID) != nil)) ? "t" : "f",
            a.currentRequest.map { $0.uuidString.lowercased() }, a.terminatedOn?.description, a.moaURL,
            a.sourceEdition,
            a.firstEdition.isEmpty ? nil : a.firstEdition, a.latestEdition.isEmpty ? nil : a.latestEdition,
            a.notListedSince, a.duplicateOf?.description,
        ]
    }

    static func requestRow(_ r: TerminationRequest) -> [String?] {
        let votes = r.votes.isEmpty ? nil : (try? CanonicalJSON.encode(r.votes)).map { String(decoding: $0, as: UTF8.self) }
        return [
            r.id.uuidString.lowercased(), r.agreementID.description, r.agencyID.slug, r.status.rawValue,
            r.filedOn.description, r.reason, r.localAuthorization, r.meetingDate?.description,
            r.decidedOn?.description, votes, r.noticeReceivedOn?.description, r.effectiveOn?.description,
        ]
    }

    static func docketRow(_ r: TerminationRequest, _ state: RegisterState) -> [String?]? {
        guard r.status.isOpen else { return nil }
        return [
            r.id.uuidString.lowercased(), r.agreementID.description, r.agencyID.slug,
            state.agencies[r.agencyID]?.name ?? r.agencyID.slug, r.model.rawValue, r.status.rawValue,
            r.filedOn.description, r.meetingDate?.description,
        ]
    }

    /// Rows as a JSON array of objects keyed by column; `votes` is JSON already.
    static func jsonRows(_ columns: [String], _ rows: [[String?]]) -> String {
        "[" + rows.map { row in
            "{" + zip(columns, row).map { column, value in
                let json = value.map { column == "votes" ? $0 : jsonString($0) } ?? "null"
                return "\(jsonString(column)):\(json)"
            }.joined(separator: ",") + "}"
        }.joined(separator: ",") + "]"
    }

    /// One statement that inserts or updates every given row of a table.
    static func upsert(_ table: Table, _ rows: [[String?]]) -> Statement {
        let columns = table.columns
        let updates = columns.dropFirst().map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
        return Statement(
            "INSERT INTO \(table.name) (\(columns.joined(separator: ", "))) SELECT \(columns.joined(separator: ", ")) "
                + "FROM json_populate_recordset(NULL::\(table.name), $1::json) "
                + "ON CONFLICT (\(columns[0])) DO UPDATE SET \(updates)", [jsonRows(columns, rows)])
    }

    /// The statements that bring the inline projections up to date for the given
    /// agreements and requests (whose state changed in this transaction): at most
    /// one per table, whatever the number of rows.
    static func upserts(agreements: Set<AgreementID>, requests: Set<UUID>, in state: RegisterState) -> [Statement] {
        var statements: [Statement] = []
        let agreementRows = agreements.sorted().compactMap { state.agreements[$0].map { agreementRow($0, state) } }
        if !agreementRows.isEmpty { statements.append(upsert(agreementStatus, agreementRows)) }
        let changed = requests.sorted { $0.uuidString < $1.uuidString }.compactMap { state.requests[$0] }
        if !changed.isEmpty {
            statements.append(upsert(terminationRequests, changed.map(requestRow)))
            let open = changed.compactMap { docketRow($0, state) }
            if !open.isEmpty { statements.append(upsert(boardDocket, open)) }
            let closed = changed.filter { !$0.status.isOpen }.map(\.id)
            if !closed.isEmpty {
                statements.append(Statement("DELETE FROM board_docket WHERE request_id = ANY ($1::uuid[])",
                                            [PostgresArray(closed)]))
            }
        }
        return statements
    }

    /// Which projection rows an event changes.
    static func touched(by event: DomainEvent, agreements: inout Set<AgreementID>, requests: inout Set<UUID>) {
        switch event {
        case .agreementRegistered(let e): agreements.insert(e.agreementID)
        case .agreementDetailsUpdated(let e): agreements.insert(e.agreementID)
        case .agencyRenamed: break  // every row showing the name: see touched(by:in:…)
        case .signedDateCorrected(let e): agreements.insert(e.agreementID)
        case .terminationRequestSubmitted(let e): agreements.insert(e.agreementID); requests.insert(e.requestID)
        case .terminationRequestWithdrawn(let e): agreements.insert(e.agreementID); requests.insert(e.requestID)
        case .reviewScheduled(let e): agreements.insert(e.agreementID); requests.insert(e.requestID)
        case .boardVoteRecorded(let e): agreements.insert(e.agreementID); requests.insert(e.requestID)
        case .terminationApproved(let e), .terminationDenied(let e):
            agreements.insert(e.agreementID); requests.insert(e.requestID)
        case .terminationNoticeReceived(let e): agreements.insert(e.agreementID); requests.insert(e.requestID)
        case .agreementTerminated(let e): agreements.insert(e.agreementID); requests.insert(e.requestID)
        case .boardSeatFilled, .boardSeatVacated, .policyEntryAdopted: break
        case .localGovernmentVoteRecorded(let e): agreements.insert(e.agreementID)
        case .editionRecorded: break  // every listed agreement's latest edition: see touched(by:in:…)
        case .agreementNotListed(let e): agreements.insert(e.agreementID)
        case .agreementListedAgain(let e): agreements.insert(e.agreementID)
        case .agreementHolderChanged(let e): agreements.insert(e.agreementID)
        case .agreementResigned(let e): agreements.insert(e.agreementID)
        case .agreementMarkedDuplicate(let e): agreements.insert(e.agreementID)
        }
    }

    /// Like `touched(by:…)`, also expanding an agency rename to every row that shows the name.
    static func touched(by event: DomainEvent, in state: RegisterState,
                        agreements: inout Set<AgreementID>, requests: inout Set<UUID>) {
        if case .agencyRenamed(let e) = event {
            for a in state.agreements(of: e.agencyID) { agreements.insert(a.id) }
            for r in state.requests.values where r.agencyID == e.agencyID { requests.insert(r.id) }
        } else if case .editionRecorded = event {
            for a in state.agreements.values where a.isLive { agreements.insert(a.id) }
        } else if case .agreementHolderChanged(let e) = event {
            // Both holders' rows: must_keep follows the agreements an agency holds.
            for a in state.agreements(of: e.fromAgencyID) + state.agreements(of: e.toAgencyID) { agreements.insert(a.id) }
        } else if case .agreementMarkedDuplicate(let e) = event {
            for a in state.agreements(of: state.agreements[e.agreementID]?.agencyID ?? e.agreementID.agency) {
                agreements.insert(a.id)
            }
        } else {
            touched(by: event, agreements: &agreements, requests: &requests)
        }
    }

    /// The agency an event concerns (recorded in its metadata), if any.
    public static func agencyID(of event: DomainEvent, stream: String, in state: RegisterState) -> AgencyID? {
        switch event {
        case .agreementRegistered(let e): return e.agencyID
        case .agencyRenamed(let e): return e.agencyID
        case .terminationRequestSubmitted(let e): return e.agencyID
        case .boardSeatFilled, .boardSeatVacated, .policyEntryAdopted: return nil
        case .agreementDetailsUpdated(let e): return e.agreementID.agency
        case .signedDateCorrected(let e): return e.agreementID.agency
        case .terminationRequestWithdrawn(let e): return state.agreements[e.agreementID]?.agencyID ?? e.agreementID.agency
        case .reviewScheduled(let e): return state.agreements[e.agreementID]?.agencyID ?? e.agreementID.agency
        case .boardVoteRecorded(let e): return state.agreements[e.agreementID]?.agencyID ?? e.agreementID.agency
        case .terminationApproved(let e), .terminationDenied(let e):
            return state.agreements[e.agreementID]?.agencyID ?? e.agreementID.agency
        case .terminationNoticeReceived(let e): return state.agreements[e.agreementID]?.agencyID ?? e.agreementID.agency
        case .agreementTerminated(let e): return state.agreements[e.agreementID]?.agencyID ?? e.agreementID.agency
        case .localGovernmentVoteRecorded(let e): return state.agreements[e.agreementID]?.agencyID ?? e.agreementID.agency
        case .editionRecorded: return nil
        case .agreementNotListed(let e): return state.agreements[e.agreementID]?.agencyID ?? e.agreementID.agency
        case .agreementListedAgain(let e): return state.agreements[e.agreementID]?.agencyID ?? e.agreementID.agency
        case .agreementHolderChanged(let e): return e.toAgencyID
        case .agreementResigned(let e): return state.agreements[e.agreementID]?.agencyID ?? e.agreementID.agency
        case .agreementMarkedDuplicate(let e): return state.agreements[e.agreementID]?.agencyID ?? e.agreementID.agency
        }
    }

    // MARK: Rebuild

    /// The result of comparing a rebuild with the live tables.
    public struct RebuildCheck: Sendable, Equatable, Codable {
        /// Events replayed.
        public var events: Int
        /// Per table: rows live, rows rebuilt, rows that differ (in either direction).
        public var tables: [String: [Int]]
        public var matches: Bool { tables.values.allSatisfy { $0[2] == 0 } }
    }

    /// Every row of every inline projection for a state, in no particular order (a check
    /// compares multisets; a rebuild sorts what it writes).
    static func allRows(_ state: RegisterState) -> [String: [[String?]]] {
        // must_keep once per agency, not per agreement.
        var mustKeep: [AgencyID: Bool] = [:]
        var agreements: [[String?]] = []
        agreements.reserveCapacity(state.agreements.count)
        for a in state.agreements.values {
            let keep: Bool
            if let known = mustKeep[a.agencyID] {
                keep = known
            } else {
                keep = state.mandatoryReason(for: a.agencyID) != nil
                mustKeep[a.agencyID] = keep
            }
            agreements.append(agreementRow(a, state, mustKeep: keep))
        }
        let requests = state.requests.values
        return [
            agreementStatus.name: agreements,
            terminationRequests.name: requests.map(requestRow),
            boardDocket.name: requests.compactMap { docketRow($0, state) },
        ]
    }
}

extension Projections {
    /// Where a fold starts: the state after the events up to `position` (a snapshot,
    /// `Snapshots`), instead of the empty register at position 0.
    public struct FoldStart: Sendable {
        /// The folded state (for a legal-time fold: only the events before the instant).
        public var state: RegisterState
        /// Every event up to `position`, to date later events by their clocks (a legal-time
        /// fold only; ignored otherwise).
        public var full: RegisterState
        /// The last position already folded.
        public var position: Int64
        /// How many events `state` holds.
        public var events: Int

        public init(state: RegisterState, full: RegisterState, position: Int64, events: Int) {
            self.state = state
            self.full = full
            self.position = position
            self.events = events
        }
    }

    /// Folds the whole log (or up to `position`) into a register state, from position 0 or
    /// from `start` (then only the events after `start.position` are read).
    /// - Throws: `PostgresError`; a decoding error when an event's data does not match its type.
    public static func foldLog(
        upTo position: Int64? = nil, occurredBefore: Timestamp? = nil, view: EventLogView = .events,
        from start: FoldStart? = nil, on connection: isolated Connection
    ) throws -> (state: RegisterState, position: Int64, events: Int) {
        var state = start?.state ?? RegisterState()
        var full = start?.full ?? RegisterState()  // every event, to date older events by their clocks
        var after: Int64 = start?.position ?? 0
        var count = start?.events ?? 0
        let decoder = JSONDecoder()  // one for the whole fold (a decoder per event cost ~10% of a rebuild)
        // Only the columns a fold uses (no metadata, no hashes), read in place from libpq's
        // buffer, page after page; the next page is on its way while this one is decoded.
        let pageSize = 10_000, last = position ?? Int64.max
        let sql = """
            SELECT global_position, stream_id, event_type, data::text, occurred_at FROM \(view.rawValue)
            WHERE global_position > $1 AND global_position <= $2 ORDER BY global_position LIMIT $3
            """
        try connection.readPages(
            sql, name: "fold log", first: [after, last, pageSize],
            next: { rows in
                guard rows.count == pageSize, let end = PostgresText.integer(rows.bytes(rows.count - 1, 0), as: Int64.self)
                else { return nil }
                return [end, last, pageSize]
            }
        ) { rows in
            for row in 0..<rows.count {
                if row & 255 == 255 { rows.absorbInput() }
                guard let globalPosition = PostgresText.integer(rows.bytes(row, 0), as: Int64.self) else {
                    throw PostgresDecodingError(column: "global_position", expectedType: "Int64", reason: "not an integer")
                }
                after = globalPosition
                let stream = rows.string(row, 1), type = rows.string(row, 2), data = rows.bytes(row, 3)
                // The JSON is decoded straight from libpq's buffer (valid for this closure).
                let decoded = try RecordedEvent.domainEvent(
                    at: globalPosition, type: type,
                    data: data.baseAddress.map { Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: $0), count: data.count, deallocator: .none) } ?? Data(),
                    using: decoder)
                if let occurredBefore {
                    guard let occurredAt = Timestamp(parsing: rows.bytes(row, 4)) else {
                        throw PostgresDecodingError(column: "occurred_at", expectedType: "Timestamp", reason: "not an ISO timestamp")
                    }
                    // Legal time (issue 13): the date the event carries, else the latest legal
                    // date on its clock (older events without the field), else occurred_at.
                    let legal = full.legalDate(of: decoded).map { Timestamp($0.startInstant) } ?? occurredAt
                    full.apply(decoded, stream: stream)
                    if legal >= occurredBefore { continue }
                }
                state.apply(decoded, stream: stream)
                count += 1
            }
            return true
        }
        return (state, after, count)
    }

    /// Replays the log from position 0 and compares the rows it gives with the live tables;
    /// unless `checkOnly`, swaps them in atomically. A rebuild holds the writer's lock
    /// meanwhile, so no event is appended between the replay and the swap (only the owner
    /// and the daemon may take it). A check takes no lock: it reads one REPEATABLE READ
    /// snapshot, in which the log and the inline tables agree because the daemon commits them
    /// together, so any login that may read both (an auditor) can run it.
    ///
    /// What is compared, per table: the rows as text, column by column, as multisets (what
    /// `live EXCEPT ALL rebuilt` plus `rebuilt EXCEPT ALL live` count). A check first compares
    /// in memory (`compareInMemory`: the live table copied out, no temporary table); a table
    /// that differs there, and every table of a rebuild, is compared on the server
    /// (`compareOnServer`), whose counts are then the result.
    /// - Returns: per table, the live row count, the rebuilt row count and the number
    ///   of rows that differ between them (before the swap).
    /// - Throws: `PostgresError`; `UnreadableEvent` or a decoding error when an event cannot be folded.
    public static func rebuild(checkOnly: Bool, on connection: isolated Connection) throws -> Projections.RebuildCheck {
        try connection.transaction(checkOnly ? "ISOLATION LEVEL REPEATABLE READ" : "") { c in
            if !checkOnly { try c.query("SELECT 1 FROM writer_lock_acquire(0)", name: "writer lock") }
            let (state, _, events) = try Projections.foldLog(on: c)
            let rows = Projections.allRows(state)
            var tables: [String: [Int]] = [:]
            for inline in Projections.tables {
                let rebuilt = rows[inline.name] ?? []
                if checkOnly, let counts = try compareInMemory(inline, rebuilt: rebuilt, on: c) {
                    tables[inline.name] = counts
                } else {
                    tables[inline.name] = try compareOnServer(inline, rebuilt: rebuilt, replace: !checkOnly, on: c)
                }
            }
            return Projections.RebuildCheck(events: events, tables: tables)
        }
    }

    /// Compares a table's live rows with `rebuilt` without writing anything: the live rows
    /// are copied out (`COPY … TO STDOUT`, text format, one round trip) and compared with the
    /// same rows in the same form (`CopyText`) as sorted multisets of lines.
    ///
    /// Sound, not complete. Equal lines mean equal rows: a line is an injective encoding of
    /// its columns' text, a live line holds PostgreSQL's output text of each value, and the
    /// server reads its own output text of a date, uuid, boolean, text or json value back as
    /// that very value; so a rebuilt row whose line equals a live row's would, copied in, be
    /// that row, and when every line has its twin `compareOnServer` would count no difference
    /// either. A line without a twin may be the same value written in another form (a date
    /// in another DateStyle, say), so then the answer is nil and the caller asks the server
    /// (`compareOnServer`), whose counts are exact.
    /// - Returns: `[live rows, rebuilt rows, 0]` when the multisets are equal, else nil.
    /// - Throws: `PostgresError` when the COPY fails.
    static func compareInMemory(_ table: Table, rebuilt: [[String?]], on c: isolated Connection) throws -> [Int]? {
        let live = CopyText.Lines(copyOutput: try c.copyOut(
            "COPY (SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name)) TO STDOUT"))
        let ours = CopyText.Lines(rows: rebuilt)
        guard CopyText.differing(live, ours) == 0 else { return nil }
        return [live.count, ours.count, 0]
    }

    /// Compares a table's live rows with `rebuilt` on the server: `rebuilt` is copied into a
    /// temporary table (dropped at commit) and both are compared as text, column by column;
    /// with `replace`, the live table's rows are then replaced by the rebuilt ones.
    /// - Returns: `[live rows, rebuilt rows, rows that differ as multisets]`.
    /// - Throws: `PostgresError` (e.g. a value the column's type does not accept).
    static func compareOnServer(_ inline: Table, rebuilt: [[String?]], replace: Bool, on c: isolated Connection) throws -> [Int] {
        let table = inline.name, columns = inline.columns
        let fresh = "rebuild_\(table)"
        try c.executeScript("CREATE TEMP TABLE \(fresh) (LIKE \(table)) ON COMMIT DROP")
        // In key order when they will be written (a table rebuilt twice is laid out the same).
        let ordered = replace ? rebuilt.sorted { ($0.first.flatMap { $0 } ?? "") < ($1.first.flatMap { $0 } ?? "") } : rebuilt
        try c.copyIn("COPY \(fresh) (\(columns.joined(separator: ", "))) FROM STDIN", rows: ordered)
        // Compared as text, column by column: rows that differ in any column count, in
        // either direction, as a multiset (what `live EXCEPT ALL rebuilt` plus `rebuilt
        // EXCEPT ALL live` count), in one pass: each distinct row's copies on either side,
        // grouped (NULLs group together, as EXCEPT treats them), summed as |live - rebuilt|.
        // (Two EXCEPT ALLs sorted each table twice: a second of a 1M-event check.)
        let text = columns.enumerated().map { "\($1)::text AS c\($0)" }.joined(separator: ", ")
        let groups = columns.indices.map { "c\($0)" }.joined(separator: ", ")
        let counts = try c.query(
            """
            SELECT coalesce(sum(live), 0)::bigint, coalesce(sum(rebuilt), 0)::bigint,
                   coalesce(sum(abs(live - rebuilt)), 0)::bigint
            FROM (SELECT count(*) FILTER (WHERE side = 0) AS live, count(*) FILTER (WHERE side = 1) AS rebuilt
                  FROM (SELECT 0 AS side, \(text) FROM \(table) UNION ALL SELECT 1, \(text) FROM \(fresh)) u
                  GROUP BY \(groups)) g
            """
        ).rows[0]
        if replace {
            try c.executeScript("DELETE FROM \(table); INSERT INTO \(table) SELECT * FROM \(fresh)")
        }
        return [try counts.decode(0), try counts.decode(1), try counts.decode(2)]
    }
}
