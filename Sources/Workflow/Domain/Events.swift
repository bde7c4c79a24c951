import Foundation

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
    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", agreementID = "agreement_id", agencyID = "agency_id", model, reason
        case localAuthorization = "local_authorization", filedOn = "filed_on"
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

/// `ReviewScheduled` (stream `request-<uuid>`): on the agenda of `meeting_date`.
public struct ReviewScheduled: Sendable, Hashable, Codable {
    public var requestID: UUID
    public var agreementID: AgreementID
    public var meetingDate: FloridaDate
    /// Set when this reschedules an earlier meeting.
    public var previousMeetingDate: FloridaDate?
    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", agreementID = "agreement_id", meetingDate = "meeting_date"
        case previousMeetingDate = "previous_meeting_date"
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
/// `received_on`; the agreement ends on `effective_on` (receipt for TFM/JEM, +90 days for WSO).
public struct TerminationNoticeReceived: Sendable, Hashable, Codable {
    public var requestID: UUID
    public var agreementID: AgreementID
    public var model: Model
    public var servedOn: FloridaDate?
    public var receivedOn: FloridaDate
    public var effectiveOn: FloridaDate
    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", agreementID = "agreement_id", model, servedOn = "served_on"
        case receivedOn = "received_on", effectiveOn = "effective_on"
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

    /// Every event type.
    public static let eventTypes: [String] = [
        "AgreementRegistered", "AgreementDetailsUpdated", "AgencyRenamed", "SignedDateCorrected",
        "TerminationRequestSubmitted", "TerminationRequestWithdrawn", "ReviewScheduled", "BoardVoteRecorded",
        "TerminationApproved", "TerminationDenied", "TerminationNoticeReceived", "AgreementTerminated",
        "BoardSeatFilled", "BoardSeatVacated", "LocalGovernmentVoteRecorded",
        "EditionRecorded", "AgreementNotListed", "AgreementListedAgain", "AgreementHolderChanged",
        "AgreementResigned", "AgreementMarkedDuplicate",
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
        }
    }

    /// The legal (Florida) date of the event, where it has one: signing, filing,
    /// withdrawal, meeting, receipt, effective date, vote date. Nil for renames,
    /// corrections, detail updates and scheduling.
    public var occurredOn: FloridaDate? {
        switch self {
        case .agreementRegistered(let e): return e.signedOn
        case .agreementDetailsUpdated, .agencyRenamed, .signedDateCorrected, .reviewScheduled: return nil
        case .terminationRequestSubmitted(let e): return e.filedOn
        case .terminationRequestWithdrawn(let e): return e.withdrawnOn
        case .boardVoteRecorded(let e): return e.meetingDate
        case .terminationApproved(let e), .terminationDenied(let e): return e.decidedOn
        case .terminationNoticeReceived(let e): return e.receivedOn
        case .agreementTerminated(let e): return e.effectiveOn
        case .boardSeatFilled(let e), .boardSeatVacated(let e): return e.effectiveOn
        case .localGovernmentVoteRecorded(let e): return e.votedOn
        // The edition's date: when ICE's list showed the change (issue 12 / issue 13 convention).
        case .editionRecorded(let e): return e.edition
        case .agreementNotListed(let e): return e.edition
        case .agreementListedAgain(let e): return e.edition
        case .agreementHolderChanged(let e): return e.edition
        case .agreementResigned(let e): return e.edition
        case .agreementMarkedDuplicate(let e): return e.edition
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
        }
    }

    /// Decodes stored data; throws `UnknownEventType` or a `DecodingError`.
    public static func decode(type: String, data: Data) throws -> DomainEvent {
        let decoder = JSONDecoder()
        func d<T: Decodable>(_: T.Type) throws -> T { try decoder.decode(T.self, from: data) }
        switch type {
        case "AgreementRegistered": return .agreementRegistered(try d(AgreementRegistered.self))
        case "AgreementDetailsUpdated": return .agreementDetailsUpdated(try d(AgreementDetailsUpdated.self))
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
        default: throw UnknownEventType(type: type)
        }
    }
}

/// `DomainEvent.decode` was given an event type it does not know.
public struct UnknownEventType: Error, Equatable, Sendable {
    public var type: String
}
