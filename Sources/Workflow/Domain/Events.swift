import Foundation

/// Event data spells UUIDs in lower case, like stream ids, metadata and payloads. The
/// synthesized `Codable` conformances in this file pick this overload over the generic
/// `encode(_:forKey:)`; Foundation's own spelling is upper case. Events stored before
/// this rule keep their upper-case text (events are never rewritten, and the hash chain
/// covers the stored text); readers accept both, as `UUID(uuidString:)` does.
fileprivate extension KeyedEncodingContainer {
    mutating func encode(_ value: UUID, forKey key: Key) throws {
        try encode(value.uuidString.lowercased(), forKey: key)
    }

    mutating func encodeIfPresent(_ value: UUID?, forKey key: Key) throws {
        try encodeIfPresent(value?.uuidString.lowercased(), forKey: key)
    }
}

// MARK: - Event payloads. JSON keys are snake_case (see each CodingKeys); dates are "YYYY-MM-DD".

/// `AgreementRegistered` (stream `agreement-<id>`): a row of ICE's list entered the register.
public struct AgreementRegistered: Sendable, Hashable, Codable {
    public var agreementID: AgreementID
    public var agencyID: AgencyID
    public var agencyName: String
    public var agencyType: AgencyType
    public var county: String?
    public var model: Model
    public var signedOn: FloridaDate
    public var moaURL: String?
    public var sourceEdition: String
    enum CodingKeys: String, CodingKey {
        case agreementID = "agreement_id", agencyID = "agency_id", agencyName = "agency_name", agencyType = "agency_type"
        case county, model, signedOn = "signed_on", moaURL = "moa_url", sourceEdition = "source_edition"
    }
}

/// `AgreementDetailsUpdated` (stream `agreement-<id>`): a later edition printed another
/// TYPE, COUNTY or MOA link for the same agreement.
public struct AgreementDetailsUpdated: Sendable, Hashable, Codable {
    public var agreementID: AgreementID
    public var agencyType: AgencyType
    public var county: String?
    public var moaURL: String?
    public var sourceEdition: String
    enum CodingKeys: String, CodingKey {
        case agreementID = "agreement_id", agencyType = "agency_type", county, moaURL = "moa_url", sourceEdition = "source_edition"
    }
}

/// `AgencyRenamed` (stream `agency-<id>`): the agency keeps its id; its name changes.
public struct AgencyRenamed: Sendable, Hashable, Codable {
    public var agencyID: AgencyID
    public var oldName: String
    public var newName: String
    public var sourceEdition: String?
    enum CodingKeys: String, CodingKey {
        case agencyID = "agency_id", oldName = "old_name", newName = "new_name", sourceEdition = "source_edition"
    }
}

/// `SignedDateCorrected` (stream `agreement-<id>`): the id keeps the first date.
public struct SignedDateCorrected: Sendable, Hashable, Codable {
    public var agreementID: AgreementID
    public var oldSignedOn: FloridaDate
    public var signedOn: FloridaDate
    public var sourceEdition: String?
    public var note: String?
    enum CodingKeys: String, CodingKey {
        case agreementID = "agreement_id", oldSignedOn = "old_signed_on", signedOn = "signed_on"
        case sourceEdition = "source_edition", note
    }
}

/// `TerminationRequestSubmitted` (stream `request-<uuid>`).
public struct TerminationRequestSubmitted: Sendable, Hashable, Codable {
    public var requestID: UUID
    public var agreementID: AgreementID
    public var agencyID: AgencyID
    public var model: Model
    public var reason: String
    public var localAuthorization: String
    public var filedOn: FloridaDate
    /// `policy_entries`: the policy entries applied in accepting it (the mandatory-agreement
    /// entry in force on `filed_on`); absent in events written before policy entries existed.
    public var policyEntries: [String]?
    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", agreementID = "agreement_id", agencyID = "agency_id", model, reason
        case localAuthorization = "local_authorization", filedOn = "filed_on", policyEntries = "policy_entries"
    }
}

/// `TerminationRequestWithdrawn` (stream `request-<uuid>`): the agreement is `active` again.
public struct TerminationRequestWithdrawn: Sendable, Hashable, Codable {
    public var requestID: UUID
    public var agreementID: AgreementID
    public var withdrawnOn: FloridaDate
    public var reason: String?
    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", agreementID = "agreement_id", withdrawnOn = "withdrawn_on", reason
    }
}

/// `ReviewScheduled` (stream `request-<uuid>`): on the agenda of `meeting_date`, scheduled
/// by Board staff on `scheduled_on` (its legal date, never after the meeting).
public struct ReviewScheduled: Sendable, Hashable, Codable {
    public var requestID: UUID
    public var agreementID: AgreementID
    public var meetingDate: FloridaDate
    /// Set when this reschedules an earlier meeting.
    public var previousMeetingDate: FloridaDate?
    /// `scheduled_on`: the day the review was scheduled. Nil only in events written before
    /// the field existed; those are dated by `RegisterState.legalDate(of:)` (the latest legal
    /// date already recorded for the agreement and its requests, so never out of order).
    public var scheduledOn: FloridaDate?
    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", agreementID = "agreement_id", meetingDate = "meeting_date"
        case previousMeetingDate = "previous_meeting_date", scheduledOn = "scheduled_on"
    }
}

/// `BoardVoteRecorded` (stream `request-<uuid>`): the tally seat by seat, with members'
/// names, and the seats vacant that day.
public struct BoardVoteRecorded: Sendable, Hashable, Codable {
    public var requestID: UUID
    public var agreementID: AgreementID
    public var meetingDate: FloridaDate
    public var tally: [SeatVote]
    public var vacantSeats: [BoardSeat]
    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", agreementID = "agreement_id", meetingDate = "meeting_date"
        case tally, vacantSeats = "vacant_seats"
    }
}

/// `TerminationApproved` / `TerminationDenied` (stream `request-<uuid>`): the Board's
/// decision, naming who voted how (s. 908.1031, F.S.: unanimity of the sitting members).
public struct TerminationDecided: Sendable, Hashable, Codable {
    public var requestID: UUID
    public var agreementID: AgreementID
    public var decidedOn: FloridaDate
    public var votes: [SeatVote]
    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", agreementID = "agreement_id", decidedOn = "decided_on", votes
    }

    /// Members who voted `ballot`, in seat order.
    public func members(voting ballot: Ballot) -> [String] { votes.filter { $0.vote == ballot }.map(\.member) }
}

/// `TerminationNoticeReceived` (stream `request-<uuid>`): ICE received the notice on
/// `received_on`; the agreement ends on `effective_on`: by the notice-effect policy entry
/// (WSO: 90 days after receipt, MOA text; TFM/JEM: on receipt, an inference), or on the
/// date ICE stated (`stated_effective_source` then says where ICE stated it).
public struct TerminationNoticeReceived: Sendable, Hashable, Codable {
    public var requestID: UUID
    public var agreementID: AgreementID
    public var model: Model
    public var servedOn: FloridaDate?
    public var receivedOn: FloridaDate
    public var effectiveOn: FloridaDate
    /// `stated_effective_source`: set when `effective_on` is ICE's stated date (e.g. the WSO
    /// template's exigent-circumstances exception), not the policy entry's rule.
    public var statedEffectiveSource: String?
    /// `policy_entries`: the approval-scope and notice-effect entries applied (absent in
    /// events written before policy entries existed: the catalog defaults applied then).
    public var policyEntries: [String]?
    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", agreementID = "agreement_id", model, servedOn = "served_on"
        case receivedOn = "received_on", effectiveOn = "effective_on"
        case statedEffectiveSource = "stated_effective_source", policyEntries = "policy_entries"
    }
}

/// `AgreementTerminated` (stream `agreement-<id>`): final; `effective_on` is the Florida date it ended.
public struct AgreementTerminated: Sendable, Hashable, Codable {
    public var agreementID: AgreementID
    public var requestID: UUID
    public var effectiveOn: FloridaDate
    enum CodingKeys: String, CodingKey {
        case agreementID = "agreement_id", requestID = "request_id", effectiveOn = "effective_on"
    }
}

/// `BoardSeatFilled` / `BoardSeatVacated` (stream `board`): `member` is nil for a vacancy.
public struct BoardSeatChanged: Sendable, Hashable, Codable {
    public var seat: BoardSeat
    public var member: String?
    public var effectiveOn: FloridaDate
    public var dateUncertain: Bool
    public var note: String?
    public var sources: [String]
    public var replacesEntryOn: FloridaDate?
    enum CodingKeys: String, CodingKey {
        case seat, member, effectiveOn = "effective_on", dateUncertain = "date_uncertain", note, sources
        case replacesEntryOn = "replaces_entry_on"
    }

    var entry: SeatEntry {
        SeatEntry(effectiveOn: effectiveOn, member: member, dateUncertain: dateUncertain, note: note, sources: sources)
    }
}

/// `LocalGovernmentVoteRecorded` (stream `agreement-<id>`): an annotation only.
public struct LocalGovernmentVoteRecorded: Sendable, Hashable, Codable {
    public var agreementID: AgreementID
    public var body: String
    public var votedOn: FloridaDate
    public var motion: String
    public var tally: String
    public var sources: [String]
    enum CodingKeys: String, CodingKey {
        case agreementID = "agreement_id", body, votedOn = "voted_on", motion, tally, sources
    }
}

/// Something that happened, in the past tense. Stored as `eventType` + `encodedData()`.
public enum DomainEvent: Sendable, Hashable {
    case agreementRegistered(AgreementRegistered)
    case agreementDetailsUpdated(AgreementDetailsUpdated)
    case agencyRenamed(AgencyRenamed)
    case signedDateCorrected(SignedDateCorrected)
    case terminationRequestSubmitted(TerminationRequestSubmitted)
    case terminationRequestWithdrawn(TerminationRequestWithdrawn)
    case reviewScheduled(ReviewScheduled)
    case boardVoteRecorded(BoardVoteRecorded)
    case terminationApproved(TerminationDecided)
    case terminationDenied(TerminationDecided)
    case terminationNoticeReceived(TerminationNoticeReceived)
    case agreementTerminated(AgreementTerminated)
    case boardSeatFilled(BoardSeatChanged)
    case boardSeatVacated(BoardSeatChanged)
    case localGovernmentVoteRecorded(LocalGovernmentVoteRecorded)
    // Editions of ICE's list (Editions.swift).
    case editionRecorded(EditionRecorded)
    case agreementNotListed(AgreementNotListed)
    case agreementListedAgain(AgreementListedAgain)
    case agreementHolderChanged(AgreementHolderChanged)
    case agreementResigned(AgreementResigned)
    case agreementMarkedDuplicate(AgreementMarkedDuplicate)
    /// `PolicyEntryAdopted` (stream `policy`): a registrar adopted a policy entry.
    case policyEntryAdopted(PolicyEntry)

    /// Every event type.
    public static let eventTypes: [String] = [
        "AgreementRegistered", "AgreementDetailsUpdated", "AgencyRenamed", "SignedDateCorrected",
        "TerminationRequestSubmitted", "TerminationRequestWithdrawn", "ReviewScheduled", "BoardVoteRecorded",
        "TerminationApproved", "TerminationDenied", "TerminationNoticeReceived", "AgreementTerminated",
        "BoardSeatFilled", "BoardSeatVacated", "LocalGovernmentVoteRecorded",
        "EditionRecorded", "AgreementNotListed", "AgreementListedAgain", "AgreementHolderChanged",
        "AgreementResigned", "AgreementMarkedDuplicate", "PolicyEntryAdopted",
    ]

    /// The stored `event_type`, past tense, e.g. `TerminationRequestSubmitted`.
    public var eventType: String {
        switch self {
        case .agreementRegistered: return "AgreementRegistered"
        case .agreementDetailsUpdated: return "AgreementDetailsUpdated"
        case .agencyRenamed: return "AgencyRenamed"
        case .signedDateCorrected: return "SignedDateCorrected"
        case .terminationRequestSubmitted: return "TerminationRequestSubmitted"
        case .terminationRequestWithdrawn: return "TerminationRequestWithdrawn"
        case .reviewScheduled: return "ReviewScheduled"
        case .boardVoteRecorded: return "BoardVoteRecorded"
        case .terminationApproved: return "TerminationApproved"
        case .terminationDenied: return "TerminationDenied"
        case .terminationNoticeReceived: return "TerminationNoticeReceived"
        case .agreementTerminated: return "AgreementTerminated"
        case .boardSeatFilled: return "BoardSeatFilled"
        case .boardSeatVacated: return "BoardSeatVacated"
        case .localGovernmentVoteRecorded: return "LocalGovernmentVoteRecorded"
        case .editionRecorded: return "EditionRecorded"
        case .agreementNotListed: return "AgreementNotListed"
        case .agreementListedAgain: return "AgreementListedAgain"
        case .agreementHolderChanged: return "AgreementHolderChanged"
        case .agreementResigned: return "AgreementResigned"
        case .agreementMarkedDuplicate: return "AgreementMarkedDuplicate"
        case .policyEntryAdopted: return "PolicyEntryAdopted"
        }
    }

    /// The legal (Florida) date the event carries: signing, filing, withdrawal, scheduling,
    /// meeting, receipt, effective date, vote date, a policy entry's effective date. For a
    /// seat correction, the earlier of its date and the date of the entry it corrects (so
    /// "as of a date" applies the correction wherever the corrected entry applied).
    /// Nil when the payload carries none (renames, detail updates and date corrections
    /// without an edition date; `ReviewScheduled` written before `scheduled_on` existed):
    /// `RegisterState.legalDate(of:)` dates those.
    public var occurredOn: FloridaDate? {
        switch self {
        case .agreementRegistered(let e): return e.signedOn
        case .agreementDetailsUpdated, .agencyRenamed, .signedDateCorrected: return nil
        case .reviewScheduled(let e): return e.scheduledOn
        case .terminationRequestSubmitted(let e): return e.filedOn
        case .terminationRequestWithdrawn(let e): return e.withdrawnOn
        case .boardVoteRecorded(let e): return e.meetingDate
        case .terminationApproved(let e), .terminationDenied(let e): return e.decidedOn
        case .terminationNoticeReceived(let e): return e.receivedOn
        case .agreementTerminated(let e): return e.effectiveOn
        case .boardSeatFilled(let e), .boardSeatVacated(let e): return e.replacesEntryOn.map { min($0, e.effectiveOn) } ?? e.effectiveOn
        case .localGovernmentVoteRecorded(let e): return e.votedOn
        // The edition's date: when ICE's list showed the change (issue 12 / issue 13 convention).
        case .editionRecorded(let e): return e.edition
        case .agreementNotListed(let e): return e.edition
        case .agreementListedAgain(let e): return e.edition
        case .agreementHolderChanged(let e): return e.edition
        case .agreementResigned(let e): return e.edition
        case .agreementMarkedDuplicate(let e): return e.edition
        case .policyEntryAdopted(let e): return e.effectiveOn
        }
    }

    /// For an event derived from an ICE edition that carries no date of its own (a rename,
    /// a detail update, a date correction), the date of the edition in its `source_edition`
    /// (when that is a valid label): the day ICE's list showed the change. A reader's rule
    /// (docs/architecture.md, "Editions"), so events written before it are dated the same
    /// way: `RegisterState.legalDate(of:)` dates such an event by this date, or by the latest
    /// legal date on its clock when that is later (legal time stays monotone).
    public var editionDate: FloridaDate? {
        switch self {
        case .agencyRenamed(let e): return e.sourceEdition.flatMap { EditionLabel.date(of: $0) }
        case .agreementDetailsUpdated(let e): return EditionLabel.date(of: e.sourceEdition)
        case .signedDateCorrected(let e): return e.sourceEdition.flatMap { EditionLabel.date(of: $0) }
        default: return nil
        }
    }

    /// Whose legal clock the event reads and advances (DESIGN.md rule 7, policy entry
    /// `record.legal-time-monotone`): an agreement together with its requests (a request
    /// moves its agreement's state, so they share one clock), an agency (renames), a Board
    /// seat, a policy topic. Nil for a local government's vote: an annotation, dated by the
    /// vote it records (which may precede the agreement), it changes no state (rule 8).
    public var legalClock: LegalClock? {
        switch self {
        case .agreementRegistered(let e): return .agreement(e.agreementID)
        case .agreementDetailsUpdated(let e): return .agreement(e.agreementID)
        case .signedDateCorrected(let e): return .agreement(e.agreementID)
        case .agencyRenamed(let e): return .agency(e.agencyID)
        case .terminationRequestSubmitted(let e): return .agreement(e.agreementID)
        case .terminationRequestWithdrawn(let e): return .agreement(e.agreementID)
        case .reviewScheduled(let e): return .agreement(e.agreementID)
        case .boardVoteRecorded(let e): return .agreement(e.agreementID)
        case .terminationApproved(let e), .terminationDenied(let e): return .agreement(e.agreementID)
        case .terminationNoticeReceived(let e): return .agreement(e.agreementID)
        case .agreementTerminated(let e): return .agreement(e.agreementID)
        case .boardSeatFilled(let e), .boardSeatVacated(let e): return .seat(e.seat)
        case .localGovernmentVoteRecorded: return nil
        case .policyEntryAdopted(let e): return .policy(e.topic)
        // What ICE's list showed in an edition: dated by the edition, which may be imported
        // after requests filed later than it (or before requests filed earlier), so, like an
        // annotation, it reads and advances no clock (an interpretation of rule 7; edition
        // order itself is enforced by `edition_out_of_order` and claim_edition).
        case .editionRecorded, .agreementNotListed, .agreementListedAgain, .agreementHolderChanged,
             .agreementResigned, .agreementMarkedDuplicate: return nil
        }
    }

    /// True when `decide` checks the event against its clock. A seat correction
    /// (`replaces_entry_on`) is exempt: it says explicitly which earlier entry it corrects,
    /// and the log keeps both.
    var checksLegalClock: Bool {
        switch self {
        case .boardSeatFilled(let e), .boardSeatVacated(let e): return e.replacesEntryOn == nil
        case .localGovernmentVoteRecorded: return false
        default: return true
        }
    }

    /// The policy entries the decision that produced this event applied (`policy_entries`).
    public var policyEntriesApplied: [String] {
        switch self {
        case .terminationRequestSubmitted(let e): return e.policyEntries ?? []
        case .terminationNoticeReceived(let e): return e.policyEntries ?? []
        default: return []
        }
    }

    /// The command payload field that gave the legal date, for rejections.
    var legalDateField: String {
        switch self {
        case .agreementRegistered, .signedDateCorrected: return "signed_on"
        case .terminationRequestSubmitted: return "filed_on"
        case .terminationRequestWithdrawn: return "withdrawn_on"
        case .reviewScheduled: return "scheduled_on"
        case .boardVoteRecorded, .terminationApproved, .terminationDenied: return "meeting_date"
        case .terminationNoticeReceived: return "received_on"
        case .localGovernmentVoteRecorded: return "voted_on"
        case .agreementDetailsUpdated, .agencyRenamed: return "source_edition"
        case .agreementTerminated, .boardSeatFilled, .boardSeatVacated, .policyEntryAdopted: return "effective_on"
        case .editionRecorded, .agreementNotListed, .agreementListedAgain, .agreementHolderChanged,
             .agreementResigned, .agreementMarkedDuplicate: return "edition"
        }
    }

    /// The event's JSON data: deterministic (sorted keys, no escaped slashes), so the
    /// same event always hashes the same.
    public func encodedData() -> Data {
        switch self {
        case .agreementRegistered(let e): return canonicalJSON(e)
        case .agreementDetailsUpdated(let e): return canonicalJSON(e)
        case .agencyRenamed(let e): return canonicalJSON(e)
        case .signedDateCorrected(let e): return canonicalJSON(e)
        case .terminationRequestSubmitted(let e): return canonicalJSON(e)
        case .terminationRequestWithdrawn(let e): return canonicalJSON(e)
        case .reviewScheduled(let e): return canonicalJSON(e)
        case .boardVoteRecorded(let e): return canonicalJSON(e)
        case .terminationApproved(let e), .terminationDenied(let e): return canonicalJSON(e)
        case .terminationNoticeReceived(let e): return canonicalJSON(e)
        case .agreementTerminated(let e): return canonicalJSON(e)
        case .boardSeatFilled(let e), .boardSeatVacated(let e): return canonicalJSON(e)
        case .localGovernmentVoteRecorded(let e): return canonicalJSON(e)
        case .editionRecorded(let e): return canonicalJSON(e)
        case .agreementNotListed(let e): return canonicalJSON(e)
        case .agreementListedAgain(let e): return canonicalJSON(e)
        case .agreementHolderChanged(let e): return canonicalJSON(e)
        case .agreementResigned(let e): return canonicalJSON(e)
        case .agreementMarkedDuplicate(let e): return canonicalJSON(e)
        case .policyEntryAdopted(let e): return canonicalJSON(e)
        }
    }

    /// Decodes stored data; throws `UnknownEventType` or a `DecodingError`.
    /// `decoder`: a plain `JSONDecoder` (default options); a fold passes one for all its events.
    public static func decode(type: String, data: Data, using decoder: JSONDecoder = JSONDecoder()) throws -> DomainEvent {
        func d<T: Decodable>(_: T.Type) throws -> T { try decoder.decode(T.self, from: data) }
        switch type {
        case "AgreementRegistered":
            // The commonest events try the fast path first (`FlatJSON`: the same value or nil).
            if let e = data.withUnsafeBytes({ AgreementRegistered(flatJSON: $0) }) { return .agreementRegistered(e) }
            return .agreementRegistered(try d(AgreementRegistered.self))
        case "AgreementDetailsUpdated":
            if let e = data.withUnsafeBytes({ AgreementDetailsUpdated(flatJSON: $0) }) { return .agreementDetailsUpdated(e) }
            return .agreementDetailsUpdated(try d(AgreementDetailsUpdated.self))
        case "AgencyRenamed": return .agencyRenamed(try d(AgencyRenamed.self))
        case "SignedDateCorrected": return .signedDateCorrected(try d(SignedDateCorrected.self))
        case "TerminationRequestSubmitted": return .terminationRequestSubmitted(try d(TerminationRequestSubmitted.self))
        case "TerminationRequestWithdrawn": return .terminationRequestWithdrawn(try d(TerminationRequestWithdrawn.self))
        case "ReviewScheduled": return .reviewScheduled(try d(ReviewScheduled.self))
        case "BoardVoteRecorded": return .boardVoteRecorded(try d(BoardVoteRecorded.self))
        case "TerminationApproved": return .terminationApproved(try d(TerminationDecided.self))
        case "TerminationDenied": return .terminationDenied(try d(TerminationDecided.self))
        case "TerminationNoticeReceived": return .terminationNoticeReceived(try d(TerminationNoticeReceived.self))
        case "AgreementTerminated": return .agreementTerminated(try d(AgreementTerminated.self))
        case "BoardSeatFilled": return .boardSeatFilled(try d(BoardSeatChanged.self))
        case "BoardSeatVacated": return .boardSeatVacated(try d(BoardSeatChanged.self))
        case "LocalGovernmentVoteRecorded": return .localGovernmentVoteRecorded(try d(LocalGovernmentVoteRecorded.self))
        case "EditionRecorded": return .editionRecorded(try d(EditionRecorded.self))
        case "AgreementNotListed": return .agreementNotListed(try d(AgreementNotListed.self))
        case "AgreementListedAgain": return .agreementListedAgain(try d(AgreementListedAgain.self))
        case "AgreementHolderChanged": return .agreementHolderChanged(try d(AgreementHolderChanged.self))
        case "AgreementResigned": return .agreementResigned(try d(AgreementResigned.self))
        case "AgreementMarkedDuplicate": return .agreementMarkedDuplicate(try d(AgreementMarkedDuplicate.self))
        case "PolicyEntryAdopted": return .policyEntryAdopted(try d(PolicyEntry.self))
        default: throw UnknownEventType(type: type)
        }
    }
}

/// `DomainEvent.decode` was given an event type it does not know.
public struct UnknownEventType: Error, Equatable, Sendable {
    public var type: String
}

/// A legal clock: what an event's legal date is ordered against (`DomainEvent.legalClock`).
public enum LegalClock: Sendable, Hashable, Codable, CustomStringConvertible {
    /// An agreement and every request about it.
    case agreement(AgreementID)
    /// An agency (renames).
    case agency(AgencyID)
    /// One seat of the Board.
    case seat(BoardSeat)
    /// One policy topic.
    case policy(PolicyTopic)

    public var description: String {
        switch self {
        case .agreement(let id): return "agreement \(id) and its requests"
        case .agency(let id): return "agency \(id)"
        case .seat(let seat): return "the \(seat.title) seat"
        case .policy(let topic): return "policy topic \(topic.rawValue)"
        }
    }
}
