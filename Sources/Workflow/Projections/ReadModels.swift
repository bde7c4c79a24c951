import Foundation

// Typed rows of the inline read models, for clients (the CLI's auditor commands).
// Each can be read from its table or computed from a `RegisterState` (a point in
// time), through the same column list the projections write, so both agree.

/// One row of `agreement_status`. JSON keys are the table's column names.
public struct AgreementStatusRow: Sendable, Hashable, Encodable {
    public var agreementID: String
    public var agencyID: String
    public var agencyName: String
    /// ICE's TYPE: `County`, `Municipality`, `State Agency`.
    public var agencyType: String
    public var county: String?
    /// `TFM`, `WSO`, `JEM`.
    public var model: String
    public var signedOn: String
    /// An `AgreementStatus` raw value, e.g. `termination_requested`.
    public var state: String
    /// s. 908.11(1), F.S.: the agency must keep a 287(g) agreement.
    public var mustKeep: Bool
    /// Lower-case UUID.
    public var openRequestID: String?
    public var endedOn: String?
    public var moaURL: String?
    public var sourceEdition: String?
    /// ICE's first and latest edition that listed it (issue 12).
    public var firstEdition: String?
    public var latestEdition: String?
    /// Set while ICE no longer lists it: the first edition without it.
    public var notListedSince: String?
    /// For state `duplicate`: the agreement it repeats.
    public var duplicateOf: String?

    enum CodingKeys: String, CodingKey {
        case agreementID = "agreement_id", agencyID = "agency_id", agencyName = "agency_name"
        case agencyType = "agency_type", county, model, signedOn = "signed_on", state, mustKeep = "must_keep"
        case openRequestID = "open_request_id", endedOn = "ended_on", moaURL = "moa_url", sourceEdition = "source_edition"
        case firstEdition = "first_edition", latestEdition = "latest_edition", notListedSince = "not_listed_since"
        case duplicateOf = "duplicate_of"
    }

    /// From a row selecting `Projections.agreementColumns`.
    init(row: Row) throws {
        agreementID = try row.decode("agreement_id")
        agencyID = try row.decode("agency_id")
        agencyName = try row.decode("agency_name")
        agencyType = try row.decode("agency_type")
        county = try row.decodeIfPresent("county")
        model = try row.decode("model")
        signedOn = try row.decode("signed_on")
        state = try row.decode("state")
        mustKeep = try row.decode("must_keep")
        openRequestID = try row.decodeIfPresent("open_request_id")
        endedOn = try row.decodeIfPresent("ended_on")
        moaURL = try row.decodeIfPresent("moa_url")
        sourceEdition = try row.decodeIfPresent("source_edition")
        firstEdition = try row.decodeIfPresent("first_edition")
        latestEdition = try row.decodeIfPresent("latest_edition")
        notListedSince = try row.decodeIfPresent("not_listed_since")
        duplicateOf = try row.decodeIfPresent("duplicate_of")
    }

    /// The rows `agreement_status` would hold for `state` (optionally one agency's), by agreement id.
    public static func rows(in state: RegisterState, agency: AgencyID? = nil) throws -> [AgreementStatusRow] {
        try state.agreements.values.filter { agency == nil || $0.agencyID == agency }.sorted { $0.id < $1.id }
            .map { try AgreementStatusRow(row: Row(columns: Projections.agreementColumns, values: Projections.agreementRow($0, state))) }
    }
}

/// One row of `termination_requests`. JSON keys are the table's column names.
public struct TerminationRequestRow: Sendable, Hashable, Encodable {
    /// Lower-case UUID.
    public var requestID: String
    public var agreementID: String
    public var agencyID: String
    /// A `RequestStatus` raw value, e.g. `under_review`.
    public var state: String
    public var filedOn: String
    public var reason: String
    public var localAuthorization: String
    public var meetingOn: String?
    public var decidedOn: String?
    /// The Board's tally, seat by seat (empty before the vote).
    public var votes: [SeatVote]
    public var noticeReceivedOn: String?
    public var effectiveOn: String?

    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", agreementID = "agreement_id", agencyID = "agency_id", state
        case filedOn = "filed_on", reason, localAuthorization = "local_authorization", meetingOn = "meeting_on"
        case decidedOn = "decided_on", votes, noticeReceivedOn = "notice_received_on", effectiveOn = "effective_on"
    }

    /// From a row selecting `Projections.requestColumns`.
    init(row: Row) throws {
        requestID = try row.decode("request_id")
        agreementID = try row.decode("agreement_id")
        agencyID = try row.decode("agency_id")
        state = try row.decode("state")
        filedOn = try row.decode("filed_on")
        reason = try row.decode("reason")
        localAuthorization = try row.decode("local_authorization")
        meetingOn = try row.decodeIfPresent("meeting_on")
        decidedOn = try row.decodeIfPresent("decided_on")
        votes = try row.decodeIfPresent("votes", as: String.self)
            .map { try JSONDecoder().decode([SeatVote].self, from: Data($0.utf8)) } ?? []
        noticeReceivedOn = try row.decodeIfPresent("notice_received_on")
        effectiveOn = try row.decodeIfPresent("effective_on")
    }

    /// The rows `termination_requests` would hold for `state` (optionally one agency's), by filing date.
    public static func rows(in state: RegisterState, agency: AgencyID? = nil) throws -> [TerminationRequestRow] {
        try state.requests.values.filter { agency == nil || $0.agencyID == agency }
            .sorted { ($0.filedOn, $0.id.uuidString) < ($1.filedOn, $1.id.uuidString) }
            .map { try TerminationRequestRow(row: Row(columns: Projections.requestColumns, values: Projections.requestRow($0))) }
    }
}

/// One row of `board_docket`: an open request, in review order.
public struct DocketRow: Sendable, Hashable, Encodable {
    /// Lower-case UUID.
    public var requestID: String
    public var agreementID: String
    public var agencyID: String
    public var agencyName: String
    public var model: String
    public var state: String
    public var filedOn: String
    public var meetingOn: String?

    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", agreementID = "agreement_id", agencyID = "agency_id", agencyName = "agency_name"
        case model, state, filedOn = "filed_on", meetingOn = "meeting_on"
    }

    init(row: Row) throws {
        requestID = try row.decode("request_id")
        agreementID = try row.decode("agreement_id")
        agencyID = try row.decode("agency_id")
        agencyName = try row.decode("agency_name")
        model = try row.decode("model")
        state = try row.decode("state")
        filedOn = try row.decode("filed_on")
        meetingOn = try row.decodeIfPresent("meeting_on")
    }
}

/// The inline projections as tables: `agreement_status`, `termination_requests`,
/// `board_docket`, and lookups over them.
public enum ReadModels {
    private static func select(_ columns: [String], from table: String, where condition: String = "true",
                        orderBy: String, _ parameters: [any PostgresEncodable] = [], on connection: isolated Connection) throws -> [Row] {
        try connection.query("SELECT \(columns.joined(separator: ", ")) FROM \(table) WHERE \(condition) ORDER BY \(orderBy)",
                  parameters, name: "read \(table)").rows
    }

    /// `agreement_status`, all agreements or one agency's, by agreement id.
    public static func agreementStatusRows(
        agency: AgencyID? = nil, on connection: isolated Connection
    ) throws -> [AgreementStatusRow] {
        try select(Projections.agreementColumns, from: "agreement_status", where: "$1::text IS NULL OR agency_id = $1",
                   orderBy: "agreement_id", [agency?.slug], on: connection).map(AgreementStatusRow.init(row:))
    }

    /// One row of `agreement_status`.
    public static func agreementStatusRow(
        _ id: AgreementID, on connection: isolated Connection
    ) throws -> AgreementStatusRow? {
        try select(Projections.agreementColumns, from: "agreement_status", where: "agreement_id = $1",
                   orderBy: "agreement_id", [id.description], on: connection).first.map(AgreementStatusRow.init(row:))
    }

    /// `termination_requests`, all or one agency's, by filing date.
    public static func terminationRequestRows(
        agency: AgencyID? = nil, on connection: isolated Connection
    ) throws -> [TerminationRequestRow] {
        try select(Projections.requestColumns, from: "termination_requests", where: "$1::text IS NULL OR agency_id = $1",
                   orderBy: "filed_on, request_id", [agency?.slug], on: connection).map(TerminationRequestRow.init(row:))
    }

    /// One row of `termination_requests`.
    public static func terminationRequestRow(
        _ id: UUID, on connection: isolated Connection
    ) throws -> TerminationRequestRow? {
        try select(Projections.requestColumns, from: "termination_requests", where: "request_id = $1",
                   orderBy: "request_id", [id], on: connection).first.map(TerminationRequestRow.init(row:))
    }

    /// `board_docket` in review order: scheduled meetings first (earliest first), then by filing date.
    public static func docketRows(on connection: isolated Connection) throws -> [DocketRow] {
        try select(Projections.docketColumns, from: "board_docket",
                   orderBy: "meeting_on NULLS LAST, filed_on, request_id", on: connection).map(DocketRow.init(row:))
    }

    /// The agency a user means by a name or an id: an agency in `agreement_status` whose
    /// id is the text's slug, or whose current name has the same slug. Nil when none.
    public static func resolveAgency(_ nameOrID: String, on connection: isolated Connection) throws -> AgencyID? {
        let slug = AgencyID.slug(of: nameOrID)
        guard !slug.isEmpty else { return nil }
        let agencies = try connection.query("SELECT DISTINCT agency_id, agency_name FROM agreement_status ORDER BY agency_id",
                                 name: "agencies").rows
        for row in agencies {
            let id: String = try row.decode(0)
            let name: String = try row.decode(1)
            if id == slug || AgencyID.slug(of: name) == slug { return AgencyID(slug: id) }
        }
        return nil
    }

    /// The payload of a queued command as stored (JSON text), nil when not visible.
    public static func commandPayload(_ id: UUID, on connection: isolated Connection) throws -> String? {
        try connection.query("SELECT payload::text FROM commands WHERE command_id = $1", [id], name: "command payload")
            .rows.first?.decode(0)
    }
}
