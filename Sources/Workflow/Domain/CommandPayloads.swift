import Foundation

/// Who may submit a command (the database's row-level security checks it).
public enum ActorKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// An agency clerk, for its own agency (`DomainCommand.agencyID`).
    case agency
    /// Board staff.
    case board
    /// The register keeper (the ICE list import, corrections, annotations).
    case register
    /// The daemon itself (timers).
    case system
}

// MARK: - Payloads. JSON keys are given in each property's doc comment.

/// `register_agreement`: one row of ICE's participating-agencies list.
public struct RegisterAgreement: Sendable, Hashable {
    /// `agency_name`: as ICE printed it (<= 500 chars).
    public var agencyName: String
    /// `agency_type`: `County`, `Municipality` or `State Agency`.
    public var agencyType: AgencyType
    /// `county`: optional; null/absent for ICE's `#N/A`.
    public var county: String?
    /// `model`: `TFM`, `WSO`, `JEM` (ICE's names accepted on input).
    public var model: Model
    /// `signed_on`: ICE's SIGNED date (countersignature = effective date).
    public var signedOn: FloridaDate
    /// `moa_url`: optional MOA PDF link (absent for `link pending`).
    public var moaURL: String?
    /// `source_edition`: ICE's edition, e.g. `2025-07-18pm`.
    public var sourceEdition: String

    public init(agencyName: String, agencyType: AgencyType, county: String?, model: Model,
                signedOn: FloridaDate, moaURL: String?, sourceEdition: String) {
        self.agencyName = agencyName
        self.agencyType = agencyType
        self.county = county
        self.model = model
        self.signedOn = signedOn
        self.moaURL = moaURL
        self.sourceEdition = sourceEdition
    }
}

/// `rename_agency`: the agency keeps its id; its name changes (and the new name's slug
/// becomes an alias, so later imports under the new name find the same agency).
public struct RenameAgency: Sendable, Hashable {
    /// `agency_id`
    public var agencyID: AgencyID
    /// `new_name` (<= 500 chars)
    public var newName: String
    /// `source_edition`: optional.
    public var sourceEdition: String?

    public init(agencyID: AgencyID, newName: String, sourceEdition: String? = nil) {
        self.agencyID = agencyID
        self.newName = newName
        self.sourceEdition = sourceEdition
    }
}

/// `correct_signed_date`: ICE re-dated a row, or the register had it wrong.
public struct CorrectSignedDate: Sendable, Hashable {
    /// `agreement_id`
    public var agreementID: AgreementID
    /// `signed_on`: the corrected date.
    public var signedOn: FloridaDate
    /// `source_edition`: optional.
    public var sourceEdition: String?
    /// `note`: optional (<= 4000 chars).
    public var note: String?

    public init(agreementID: AgreementID, signedOn: FloridaDate, sourceEdition: String? = nil, note: String? = nil) {
        self.agreementID = agreementID
        self.signedOn = signedOn
        self.sourceEdition = sourceEdition
        self.note = note
    }
}

/// `submit_termination_request`: an agency asks the Board to approve ending one agreement.
public struct SubmitTerminationRequest: Sendable, Hashable {
    /// `request_id`: a UUID chosen by the caller (keeps `decide` pure and idempotent).
    public var requestID: UUID
    /// `agency_id`: the filing agency.
    public var agencyID: AgencyID
    /// `model`: which of its agreements (`TFM`, `WSO`, `JEM`).
    public var model: Model
    /// `agreement_id`: optional; when given it must be that agency's agreement of that model.
    public var agreementID: AgreementID?
    /// `reason` (<= 4000 chars).
    public var reason: String
    /// `local_authorization`: e.g. the city commission's vote (<= 4000 chars).
    public var localAuthorization: String
    /// `filed_on`: the Florida date the request was filed.
    public var filedOn: FloridaDate

    public init(requestID: UUID, agencyID: AgencyID, model: Model, agreementID: AgreementID? = nil,
                reason: String, localAuthorization: String, filedOn: FloridaDate) {
        self.requestID = requestID
        self.agencyID = agencyID
        self.model = model
        self.agreementID = agreementID
        self.reason = reason
        self.localAuthorization = localAuthorization
        self.filedOn = filedOn
    }
}

/// `withdraw_termination_request`: the agency withdraws before the Board decides.
public struct WithdrawTerminationRequest: Sendable, Hashable {
    /// `request_id`
    public var requestID: UUID
    /// `agency_id`
    public var agencyID: AgencyID
    /// `withdrawn_on`
    public var withdrawnOn: FloridaDate
    /// `reason`: optional.
    public var reason: String?

    public init(requestID: UUID, agencyID: AgencyID, withdrawnOn: FloridaDate, reason: String? = nil) {
        self.requestID = requestID
        self.agencyID = agencyID
        self.withdrawnOn = withdrawnOn
        self.reason = reason
    }
}

/// `record_termination_notice`: ICE received the agency's termination notice.
public struct RecordTerminationNotice: Sendable, Hashable {
    /// `request_id`
    public var requestID: UUID
    /// `agency_id`
    public var agencyID: AgencyID
    /// `served_on`: optional, the date the notice was sent.
    public var servedOn: FloridaDate?
    /// `received_on`: the date ICE received it (the MOA's clock starts here).
    public var receivedOn: FloridaDate
    /// `stated_effective_on`: optional; the effective date ICE stated when it differs from
    /// the notice-effect policy entry's rule (e.g. the WSO template's "unless exigent
    /// circumstances involving public safety dictate otherwise"). Not before `received_on`.
    public var statedEffectiveOn: FloridaDate?
    /// `stated_effective_source`: where ICE stated it (letter, email, date); required with
    /// `stated_effective_on` (<= 4000 chars).
    public var statedEffectiveSource: String?

    public init(requestID: UUID, agencyID: AgencyID, servedOn: FloridaDate? = nil, receivedOn: FloridaDate,
                statedEffectiveOn: FloridaDate? = nil, statedEffectiveSource: String? = nil) {
        self.requestID = requestID
        self.agencyID = agencyID
        self.servedOn = servedOn
        self.receivedOn = receivedOn
        self.statedEffectiveOn = statedEffectiveOn
        self.statedEffectiveSource = statedEffectiveSource
    }
}

/// `schedule_review`: board staff put a request on a meeting's agenda (rescheduling allowed).
public struct ScheduleReview: Sendable, Hashable {
    /// `request_id`
    public var requestID: UUID
    /// `meeting_date`
    public var meetingDate: FloridaDate
    /// `scheduled_on`: optional; the day Board staff scheduled it (the event's legal date):
    /// not after `meeting_date`, not before the request was filed nor the latest legal date
    /// already recorded for its agreement. Absent (older clients): that latest legal date,
    /// the earliest the scheduling can have happened. `sbie schedule` sends `--on`, default
    /// today (or the meeting date when the meeting is past).
    public var scheduledOn: FloridaDate?

    public init(requestID: UUID, meetingDate: FloridaDate, scheduledOn: FloridaDate? = nil) {
        self.requestID = requestID
        self.meetingDate = meetingDate
        self.scheduledOn = scheduledOn
    }

    /// The `scheduled_on` the CLI (`sbie schedule` without `--on`), the API and the web form
    /// send when none is given: Florida's date `today`, or the meeting date when the meeting
    /// is earlier (a past meeting's scheduling is recorded late). A record-keeping default,
    /// not law; each says which date it used.
    public static func defaultScheduledOn(meeting: FloridaDate, today: FloridaDate) -> FloridaDate {
        min(today, meeting)
    }
}

/// `record_board_vote`: each seat's vote at the meeting.
public struct RecordBoardVote: Sendable, Hashable {
    /// `request_id`
    public var requestID: UUID
    /// `meeting_date`
    public var meetingDate: FloridaDate
    /// `votes`: object seat -> ballot, e.g. `{"governor": "yes", "attorney_general": "no"}`;
    /// exactly the seats filled on the meeting date.
    public var votes: [BoardSeat: Ballot]

    public init(requestID: UUID, meetingDate: FloridaDate, votes: [BoardSeat: Ballot]) {
        self.requestID = requestID
        self.meetingDate = meetingDate
        self.votes = votes
    }
}

/// `fill_board_seat`: from `effective_on`, `member` holds `seat`.
public struct FillBoardSeat: Sendable, Hashable {
    /// `seat`: `governor`, `attorney_general`, `chief_financial_officer`, `commissioner_of_agriculture`.
    public var seat: BoardSeat
    /// `member` (<= 500 chars)
    public var member: String
    /// `effective_on`
    public var effectiveOn: FloridaDate
    /// `date_uncertain`: optional boolean, default false.
    public var dateUncertain: Bool
    /// `note`: optional.
    public var note: String?
    /// `sources`: optional list of citations/URLs (<= 20).
    public var sources: [String]
    /// `replaces_entry_on`: optional; corrects the seat's entry effective that day.
    public var replacesEntryOn: FloridaDate?

    public init(seat: BoardSeat, member: String, effectiveOn: FloridaDate, dateUncertain: Bool = false,
                note: String? = nil, sources: [String] = [], replacesEntryOn: FloridaDate? = nil) {
        self.seat = seat
        self.member = member
        self.effectiveOn = effectiveOn
        self.dateUncertain = dateUncertain
        self.note = note
        self.sources = sources
        self.replacesEntryOn = replacesEntryOn
    }
}

/// `vacate_board_seat`: from `effective_on`, `seat` is vacant.
public struct VacateBoardSeat: Sendable, Hashable {
    /// `seat`
    public var seat: BoardSeat
    /// `effective_on`
    public var effectiveOn: FloridaDate
    /// `date_uncertain`: optional boolean, default false.
    public var dateUncertain: Bool
    /// `note`: optional.
    public var note: String?
    /// `sources`: optional list.
    public var sources: [String]
    /// `replaces_entry_on`: optional correction, as for `FillBoardSeat`.
    public var replacesEntryOn: FloridaDate?

    public init(seat: BoardSeat, effectiveOn: FloridaDate, dateUncertain: Bool = false,
                note: String? = nil, sources: [String] = [], replacesEntryOn: FloridaDate? = nil) {
        self.seat = seat
        self.effectiveOn = effectiveOn
        self.dateUncertain = dateUncertain
        self.note = note
        self.sources = sources
        self.replacesEntryOn = replacesEntryOn
    }
}

/// `record_local_government_vote`: an annotation on an agreement (DESIGN.md rule 8);
/// e.g. Key West's commission declared its agreement void on 2025-06-30 and reversed
/// on 2025-07-08. It changes no agreement's state.
public struct RecordLocalGovernmentVote: Sendable, Hashable {
    /// `agreement_id`
    public var agreementID: AgreementID
    /// `body`: e.g. "Key West City Commission".
    public var body: String
    /// `voted_on`
    public var votedOn: FloridaDate
    /// `motion` (<= 4000 chars)
    public var motion: String
    /// `tally`: e.g. "6-1" (<= 500 chars).
    public var tally: String
    /// `sources`: optional list.
    public var sources: [String]

    public init(agreementID: AgreementID, body: String, votedOn: FloridaDate, motion: String,
                tally: String, sources: [String] = []) {
        self.agreementID = agreementID
        self.body = body
        self.votedOn = votedOn
        self.motion = motion
        self.tally = tally
        self.sources = sources
    }
}

/// `adopt_policy_entry`: a registrar adopts a policy entry (see `PolicyEntry`; the payload's
/// keys are the entry's: `entry_id`, `topic`, `reading`, `effective_on`, `basis`, `text`,
/// `source`, `note`). From `effective_on` it decides its topic; decisions already recorded
/// keep the entry they applied.
public struct AdoptPolicyEntry: Sendable, Hashable {
    public var entry: PolicyEntry

    public init(entry: PolicyEntry) { self.entry = entry }
}

/// `end_agreement`: the system timer that ends a WSO agreement 90 days after ICE
/// received the notice. Scheduled by `decide`; never submitted by people.
public struct EndAgreement: Sendable, Hashable {
    /// `agreement_id`
    public var agreementID: AgreementID
    /// `request_id`
    public var requestID: UUID
    /// `effective_on`: the end date fixed when the notice was recorded.
    public var effectiveOn: FloridaDate

    public init(agreementID: AgreementID, requestID: UUID, effectiveOn: FloridaDate) {
        self.agreementID = agreementID
        self.requestID = requestID
        self.effectiveOn = effectiveOn
    }
}

/// The command types, each named once: the stored snake_case name (raw value), who may
/// submit it and the payload keys it accepts. Every list of command types in Swift
/// derives from this one; SQL's `command_actor_kind` mirrors `actorKind` (a test
/// compares the two for every type).
public enum CommandType: String, Sendable, Hashable, CaseIterable {
    case registerAgreement = "register_agreement"
    case renameAgency = "rename_agency"
    case correctSignedDate = "correct_signed_date"
    case submitTerminationRequest = "submit_termination_request"
    case withdrawTerminationRequest = "withdraw_termination_request"
    case recordTerminationNotice = "record_termination_notice"
    case scheduleReview = "schedule_review"
    case recordBoardVote = "record_board_vote"
    case fillBoardSeat = "fill_board_seat"
    case vacateBoardSeat = "vacate_board_seat"
    case recordLocalGovernmentVote = "record_local_government_vote"
    case endAgreement = "end_agreement"
    case recordEdition = "record_edition"
    case changeAgreementHolder = "change_agreement_holder"
    case recordResignedAgreement = "record_resigned_agreement"
    case markDuplicateAgreement = "mark_duplicate_agreement"
    case adoptPolicyEntry = "adopt_policy_entry"

    /// Who may submit commands of this type.
    public var actorKind: ActorKind {
        switch self {
        case .submitTerminationRequest, .withdrawTerminationRequest, .recordTerminationNotice: return .agency
        case .scheduleReview, .recordBoardVote, .fillBoardSeat, .vacateBoardSeat: return .board
        case .registerAgreement, .renameAgency, .correctSignedDate, .recordLocalGovernmentVote,
             .recordEdition, .changeAgreementHolder, .recordResignedAgreement, .markDuplicateAgreement,
             .adoptPolicyEntry:
            return .register
        case .endAgreement: return .system
        }
    }

    /// The JSON keys the payload may hold (required and optional).
    public var allowedKeys: Set<String> {
        switch self {
        case .registerAgreement:
            return ["agency_name", "agency_type", "county", "model", "signed_on", "moa_url", "source_edition"]
        case .renameAgency:
            return ["agency_id", "new_name", "source_edition"]
        case .correctSignedDate:
            return ["agreement_id", "signed_on", "source_edition", "note"]
        case .submitTerminationRequest:
            return ["request_id", "agency_id", "model", "agreement_id", "reason", "local_authorization", "filed_on"]
        case .withdrawTerminationRequest:
            return ["request_id", "agency_id", "withdrawn_on", "reason"]
        case .recordTerminationNotice:
            return ["request_id", "agency_id", "served_on", "received_on",
            "stated_effective_on", "stated_effective_source"]
        case .scheduleReview:
            return ["request_id", "meeting_date", "scheduled_on"]
        case .recordBoardVote:
            return ["request_id", "meeting_date", "votes"]
        case .fillBoardSeat:
            return ["seat", "member", "effective_on", "date_uncertain", "note", "sources", "replaces_entry_on"]
        case .vacateBoardSeat:
            return ["seat", "effective_on", "date_uncertain", "note", "sources", "replaces_entry_on"]
        case .recordLocalGovernmentVote:
            return ["agreement_id", "body", "voted_on", "motion", "tally", "sources"]
        case .endAgreement:
            return ["agreement_id", "request_id", "effective_on"]
        case .recordEdition:
            return ["edition", "source_edition", "rows", "not_listed", "listed_again"]
        case .changeAgreementHolder:
            return ["agreement_id", "agency_name", "edition", "source_edition", "note"]
        case .recordResignedAgreement:
            return ["agreement_id", "signed_on", "moa_url", "edition", "source_edition"]
        case .markDuplicateAgreement:
            return ["agreement_id", "duplicate_of", "edition", "note"]
        case .adoptPolicyEntry:
            return ["entry_id", "topic", "reading", "effective_on", "basis", "text", "source", "note"]
        }
    }
}

/// A request to change the register, decided by `decide(_:state:context:)`.
/// Wire form: `commandType` plus a JSON object payload (`payloadJSON()`), parsed back
/// strictly by `DomainCommand.parse(type:payload:)`.
public enum DomainCommand: Sendable, Hashable {
    case registerAgreement(RegisterAgreement)
    case renameAgency(RenameAgency)
    case correctSignedDate(CorrectSignedDate)
    case submitTerminationRequest(SubmitTerminationRequest)
    case withdrawTerminationRequest(WithdrawTerminationRequest)
    case recordTerminationNotice(RecordTerminationNotice)
    case scheduleReview(ScheduleReview)
    case recordBoardVote(RecordBoardVote)
    case fillBoardSeat(FillBoardSeat)
    case vacateBoardSeat(VacateBoardSeat)
    case recordLocalGovernmentVote(RecordLocalGovernmentVote)
    case endAgreement(EndAgreement)
    // Editions of ICE's list (Editions.swift).
    case recordEdition(RecordEdition)
    case changeAgreementHolder(ChangeAgreementHolder)
    case recordResignedAgreement(RecordResignedAgreement)
    case markDuplicateAgreement(MarkDuplicateAgreement)
    case adoptPolicyEntry(AdoptPolicyEntry)

    /// Every command type, in declaration order.
    public static let commandTypes: [String] = CommandType.allCases.map(\.rawValue)

    /// Payloads larger than this many bytes are `payload_too_large`.
    public static let maxPayloadBytes = 65_536

    /// The command's type.
    public var type: CommandType {
        switch self {
        case .registerAgreement: return .registerAgreement
        case .renameAgency: return .renameAgency
        case .correctSignedDate: return .correctSignedDate
        case .submitTerminationRequest: return .submitTerminationRequest
        case .withdrawTerminationRequest: return .withdrawTerminationRequest
        case .recordTerminationNotice: return .recordTerminationNotice
        case .scheduleReview: return .scheduleReview
        case .recordBoardVote: return .recordBoardVote
        case .fillBoardSeat: return .fillBoardSeat
        case .vacateBoardSeat: return .vacateBoardSeat
        case .recordLocalGovernmentVote: return .recordLocalGovernmentVote
        case .endAgreement: return .endAgreement
        case .recordEdition: return .recordEdition
        case .changeAgreementHolder: return .changeAgreementHolder
        case .recordResignedAgreement: return .recordResignedAgreement
        case .markDuplicateAgreement: return .markDuplicateAgreement
        case .adoptPolicyEntry: return .adoptPolicyEntry
        }
    }

    /// The stable snake_case type name stored in the queue.
    public var commandType: String { type.rawValue }

    /// Who may submit this command.
    public var actorKind: ActorKind { DomainCommand.actorKind(ofType: commandType) ?? .register }

    /// Who may submit commands of `type`; nil for an unknown type.
    public static func actorKind(ofType type: String) -> ActorKind? { CommandType(rawValue: type)?.actorKind }

    /// The filing agency, for agency commands (payload `agency_id`); nil otherwise.
    public var agencyID: AgencyID? {
        switch self {
        case .submitTerminationRequest(let p): return p.agencyID
        case .withdrawTerminationRequest(let p): return p.agencyID
        case .recordTerminationNotice(let p): return p.agencyID
        default: return nil
        }
    }

    /// Strict validation of a queued command, before the domain sees it. Rejection codes:
    /// `unknown_command_type`, `payload_too_large`, `malformed_payload`, `unknown_field`,
    /// `missing_field`, `invalid_field_type`, `invalid_field_value`, `invalid_date`,
    /// `field_too_long`; each names the field.
    public static func parse(type: String, payload: Data) -> Result<DomainCommand, Rejection> {
        guard let kind = CommandType(rawValue: type) else {
            return .failure(Rejection(.unknownCommandType, "unknown command type '\(type.prefix(80))'; known types: \(commandTypes.joined(separator: ", "))"))
        }
        guard payload.count <= maxPayloadBytes else {
            return .failure(Rejection(.payloadTooLarge, "payload is \(payload.count) bytes; the limit is \(maxPayloadBytes)"))
        }
        do throws(Rejection) {
            let r = try PayloadReader(data: payload, allowed: kind.allowedKeys)
            return .success(try read(kind, r))
        } catch {
            return .failure(error)
        }
    }

    /// The canonical JSON payload (sorted keys; absent optionals omitted).
    /// `parse(type: c.commandType, payload: c.payloadJSON()) == .success(c)`.
    public func payloadJSON() -> Data { canonicalJSON(payloadValue) }

    /// The payload as a JSON object (what `payloadJSON()` encodes), for embedding in a
    /// larger document encoded by `CanonicalJSON` (the daemon's timer rows).
    public var payloadValue: JSONValue {
        var w = PayloadWriter()
        switch self {
        case .registerAgreement(let p):
            w.set("agency_name", p.agencyName)
            w.set("agency_type", p.agencyType.rawValue)
            w.set("county", p.county)
            w.set("model", p.model.rawValue)
            w.set("signed_on", describing: p.signedOn)
            w.set("moa_url", p.moaURL)
            w.set("source_edition", p.sourceEdition)
        case .renameAgency(let p):
            w.set("agency_id", describing: p.agencyID)
            w.set("new_name", p.newName)
            w.set("source_edition", p.sourceEdition)
        case .correctSignedDate(let p):
            w.set("agreement_id", describing: p.agreementID)
            w.set("signed_on", describing: p.signedOn)
            w.set("source_edition", p.sourceEdition)
            w.set("note", p.note)
        case .submitTerminationRequest(let p):
            w.set("request_id", uuid: p.requestID)
            w.set("agency_id", describing: p.agencyID)
            w.set("model", p.model.rawValue)
            w.set("agreement_id", describing: p.agreementID)
            w.set("reason", p.reason)
            w.set("local_authorization", p.localAuthorization)
            w.set("filed_on", describing: p.filedOn)
        case .withdrawTerminationRequest(let p):
            w.set("request_id", uuid: p.requestID)
            w.set("agency_id", describing: p.agencyID)
            w.set("withdrawn_on", describing: p.withdrawnOn)
            w.set("reason", p.reason)
        case .recordTerminationNotice(let p):
            w.set("request_id", uuid: p.requestID)
            w.set("agency_id", describing: p.agencyID)
            w.set("served_on", describing: p.servedOn)
            w.set("received_on", describing: p.receivedOn)
            w.set("stated_effective_on", describing: p.statedEffectiveOn)
            w.set("stated_effective_source", p.statedEffectiveSource)
        case .scheduleReview(let p):
            w.set("request_id", uuid: p.requestID)
            w.set("meeting_date", describing: p.meetingDate)
            w.set("scheduled_on", describing: p.scheduledOn)
        case .recordBoardVote(let p):
            w.set("request_id", uuid: p.requestID)
            w.set("meeting_date", describing: p.meetingDate)
            w.set("votes", object: Dictionary(uniqueKeysWithValues: p.votes.map { ($0.key.rawValue, JSONValue.string($0.value.rawValue)) }))
        case .fillBoardSeat(let p):
            w.set("seat", p.seat.rawValue)
            w.set("member", p.member)
            w.set("effective_on", describing: p.effectiveOn)
            w.set("date_uncertain", flag: p.dateUncertain)
            w.set("note", p.note)
            w.set("sources", p.sources)
            w.set("replaces_entry_on", describing: p.replacesEntryOn)
        case .vacateBoardSeat(let p):
            w.set("seat", p.seat.rawValue)
            w.set("effective_on", describing: p.effectiveOn)
            w.set("date_uncertain", flag: p.dateUncertain)
            w.set("note", p.note)
            w.set("sources", p.sources)
            w.set("replaces_entry_on", describing: p.replacesEntryOn)
        case .recordLocalGovernmentVote(let p):
            w.set("agreement_id", describing: p.agreementID)
            w.set("body", p.body)
            w.set("voted_on", describing: p.votedOn)
            w.set("motion", p.motion)
            w.set("tally", p.tally)
            w.set("sources", p.sources)
        case .endAgreement(let p):
            w.set("agreement_id", describing: p.agreementID)
            w.set("request_id", uuid: p.requestID)
            w.set("effective_on", describing: p.effectiveOn)
        case .recordEdition(let p):
            w.set("edition", describing: p.edition)
            w.set("source_edition", p.sourceEdition)
            w.set("rows", count: p.rows)
            w.set("not_listed", p.notListed.map(\.description))
            w.set("listed_again", p.listedAgain.map(\.description))
        case .changeAgreementHolder(let p):
            w.set("agreement_id", describing: p.agreementID)
            w.set("agency_name", p.agencyName)
            w.set("edition", describing: p.edition)
            w.set("source_edition", p.sourceEdition)
            w.set("note", p.note)
        case .recordResignedAgreement(let p):
            w.set("agreement_id", describing: p.agreementID)
            w.set("signed_on", describing: p.signedOn)
            w.set("moa_url", p.moaURL)
            w.set("edition", describing: p.edition)
            w.set("source_edition", p.sourceEdition)
        case .markDuplicateAgreement(let p):
            w.set("agreement_id", describing: p.agreementID)
            w.set("duplicate_of", describing: p.duplicateOf)
            w.set("edition", describing: p.edition)
            w.set("note", p.note)
        case .adoptPolicyEntry(let p):
            w.set("entry_id", p.entry.entryID)
            w.set("topic", p.entry.topic.rawValue)
            w.set("reading", p.entry.reading.rawValue)
            w.set("effective_on", describing: p.entry.effectiveOn)
            w.set("basis", p.entry.basis.rawValue)
            w.set("text", p.entry.text)
            w.set("source", p.entry.source)
            w.set("note", p.entry.note)
        }
        return .object(w.object)
    }

    /// JSON keys each command type accepts (required and optional), by type name.
    public static let allowedKeys: [String: Set<String>] = Dictionary(
        uniqueKeysWithValues: CommandType.allCases.map { ($0.rawValue, $0.allowedKeys) })

    /// Agreement ids in `record_edition`'s lists, at most.
    public static let maxEditionListItems = 1_000

    private static func read(_ type: CommandType, _ r: PayloadReader) throws(Rejection) -> DomainCommand {
        let model = { () throws(Rejection) -> Model in try r.mapped("model", "a model (TFM, WSO, JEM)") { Model(codeOrName: $0) } }
        let seat = { () throws(Rejection) -> BoardSeat in
            try r.mapped("seat", "a Board seat (\(BoardSeat.allCases.map(\.rawValue).joined(separator: ", ")))") { BoardSeat(rawValue: $0) }
        }
        let sources = { () throws(Rejection) -> [String] in try r.stringList("sources", maxItems: FieldLimit.listItems, maxLength: FieldLimit.url) }
        switch type {
        case .registerAgreement:
            let name = try r.agencyName("agency_name")
            return .registerAgreement(RegisterAgreement(
                agencyName: name,
                agencyType: try r.mapped("agency_type", "an agency type (County, Municipality, State Agency)") { AgencyType(rawValue: $0) },
                county: try r.optionalName("county"),
                model: try model(),
                signedOn: try r.date("signed_on"),
                moaURL: try r.optionalString("moa_url", max: FieldLimit.url),
                sourceEdition: try r.string("source_edition", max: FieldLimit.name)))
        case .renameAgency:
            let agency = try r.agencyID("agency_id")
            let name = try r.agencyName("new_name")
            return .renameAgency(RenameAgency(agencyID: agency, newName: name,
                                              sourceEdition: try r.optionalString("source_edition", max: FieldLimit.name)))
        case .correctSignedDate:
            return .correctSignedDate(CorrectSignedDate(
                agreementID: try r.agreementID("agreement_id"), signedOn: try r.date("signed_on"),
                sourceEdition: try r.optionalString("source_edition", max: FieldLimit.name),
                note: try r.optionalString("note", max: FieldLimit.text)))
        case .submitTerminationRequest:
            return .submitTerminationRequest(SubmitTerminationRequest(
                requestID: try r.uuid("request_id"), agencyID: try r.agencyID("agency_id"), model: try model(),
                agreementID: try r.optionalMapped("agreement_id", "an agreement id") { AgreementID($0) },
                reason: try r.string("reason", max: FieldLimit.text),
                localAuthorization: try r.string("local_authorization", max: FieldLimit.text),
                filedOn: try r.date("filed_on")))
        case .withdrawTerminationRequest:
            return .withdrawTerminationRequest(WithdrawTerminationRequest(
                requestID: try r.uuid("request_id"), agencyID: try r.agencyID("agency_id"),
                withdrawnOn: try r.date("withdrawn_on"), reason: try r.optionalString("reason", max: FieldLimit.text)))
        case .recordTerminationNotice:
            return .recordTerminationNotice(RecordTerminationNotice(
                requestID: try r.uuid("request_id"), agencyID: try r.agencyID("agency_id"),
                servedOn: try r.optionalDate("served_on"), receivedOn: try r.date("received_on"),
                statedEffectiveOn: try r.optionalDate("stated_effective_on"),
                statedEffectiveSource: try r.optionalString("stated_effective_source", max: FieldLimit.text)))
        case .scheduleReview:
            return .scheduleReview(ScheduleReview(requestID: try r.uuid("request_id"), meetingDate: try r.date("meeting_date"),
                                                  scheduledOn: try r.optionalDate("scheduled_on")))
        case .adoptPolicyEntry:
            let id = try r.mapped("entry_id", "an entry id (letters, digits, '.', '-', '_')") { text in
                text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || ".-_".unicodeScalars.contains($0)) }
                    ? text : nil
            }
            let topic = try r.mapped("topic", "a policy topic (\(PolicyTopic.allCases.map(\.rawValue).joined(separator: ", ")))") { PolicyTopic(rawValue: $0) }
            let reading = try r.mapped("reading", "a reading of \(topic.rawValue) (\(topic.readings.map(\.rawValue).joined(separator: ", ")))") {
                PolicyReading(rawValue: $0).flatMap { topic.readings.contains($0) ? $0 : nil }
            }
            return .adoptPolicyEntry(AdoptPolicyEntry(entry: PolicyEntry(
                entryID: id, topic: topic, reading: reading, effectiveOn: try r.date("effective_on"),
                basis: try r.mapped("basis", "a basis (\(PolicyBasis.allCases.map(\.rawValue).joined(separator: ", ")))") { PolicyBasis(rawValue: $0) },
                text: try r.string("text", max: FieldLimit.text), source: try r.string("source", max: FieldLimit.text),
                note: try r.optionalString("note", max: FieldLimit.text))))
        case .recordBoardVote:
            let request = try r.uuid("request_id")
            let meeting = try r.date("meeting_date")
            let object = try r.object("votes")
            let nested = try PayloadReader(object: object, allowed: Set(BoardSeat.allCases.map(\.rawValue)), prefix: "votes.")
            var votes: [BoardSeat: Ballot] = [:]
            for seat in BoardSeat.allCases {
                if let ballot = try nested.optionalMapped(seat.rawValue, "a vote (yes, no, abstain, absent)", { Ballot(rawValue: $0) }) {
                    votes[seat] = ballot
                }
            }
            return .recordBoardVote(RecordBoardVote(requestID: request, meetingDate: meeting, votes: votes))
        case .fillBoardSeat:
            return .fillBoardSeat(FillBoardSeat(
                seat: try seat(), member: try r.name("member"),
                effectiveOn: try r.date("effective_on"), dateUncertain: try r.bool("date_uncertain", default: false),
                note: try r.optionalString("note", max: FieldLimit.text), sources: try sources(),
                replacesEntryOn: try r.optionalDate("replaces_entry_on")))
        case .vacateBoardSeat:
            return .vacateBoardSeat(VacateBoardSeat(
                seat: try seat(), effectiveOn: try r.date("effective_on"),
                dateUncertain: try r.bool("date_uncertain", default: false),
                note: try r.optionalString("note", max: FieldLimit.text), sources: try sources(),
                replacesEntryOn: try r.optionalDate("replaces_entry_on")))
        case .recordLocalGovernmentVote:
            return .recordLocalGovernmentVote(RecordLocalGovernmentVote(
                agreementID: try r.agreementID("agreement_id"), body: try r.name("body"),
                votedOn: try r.date("voted_on"), motion: try r.string("motion", max: FieldLimit.text),
                tally: try r.string("tally", max: FieldLimit.name), sources: try sources()))
        case .recordEdition:
            let ids = { (key: String) throws(Rejection) -> [AgreementID] in
                var result: [AgreementID] = []
                for (index, text) in try r.stringList(key, maxItems: maxEditionListItems, maxLength: FieldLimit.name).enumerated() {
                    guard let id = AgreementID(text) else {
                        throw Rejection(.invalidFieldValue, "field '\(key)[\(index)]' is not an agreement id: '\(text.prefix(80))'",
                                        field: "\(key)[\(index)]")
                    }
                    result.append(id)
                }
                return result
            }
            return .recordEdition(RecordEdition(
                edition: try r.date("edition"), sourceEdition: try r.string("source_edition", max: FieldLimit.name),
                rows: try r.count("rows", max: 1_000_000) ?? 0, notListed: try ids("not_listed"), listedAgain: try ids("listed_again")))
        case .changeAgreementHolder:
            let name = try r.agencyName("agency_name")
            return .changeAgreementHolder(ChangeAgreementHolder(
                agreementID: try r.agreementID("agreement_id"), agencyName: name, edition: try r.date("edition"),
                sourceEdition: try r.optionalString("source_edition", max: FieldLimit.name),
                note: try r.optionalString("note", max: FieldLimit.text)))
        case .recordResignedAgreement:
            return .recordResignedAgreement(RecordResignedAgreement(
                agreementID: try r.agreementID("agreement_id"), signedOn: try r.date("signed_on"),
                moaURL: try r.string("moa_url", max: FieldLimit.url), edition: try r.date("edition"),
                sourceEdition: try r.optionalString("source_edition", max: FieldLimit.name)))
        case .markDuplicateAgreement:
            return .markDuplicateAgreement(MarkDuplicateAgreement(
                agreementID: try r.agreementID("agreement_id"), duplicateOf: try r.agreementID("duplicate_of"),
                edition: try r.date("edition"), note: try r.optionalString("note", max: FieldLimit.text)))
        case .endAgreement:
            return .endAgreement(EndAgreement(
                agreementID: try r.agreementID("agreement_id"), requestID: try r.uuid("request_id"),
                effectiveOn: try r.date("effective_on")))
        }
    }
}
