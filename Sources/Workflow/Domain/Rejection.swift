import Foundation

/// A refused command: a stable snake_case `code` (see `RejectionCode`), a message for
/// people (rule rejections cite their legal source), and the payload field at fault,
/// when there is one (JSON key, dotted for nested keys: `votes.governor`).
public struct Rejection: Error, Equatable, Sendable, Codable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var field: String?

    public init(code: String, message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    /// A rejection whose message names its source: when `message` cites none (a statute
    /// "F.S.", an MOA clause, or a named "policy entry '...'"), `code.source` is put in front.
    init(_ code: RejectionCode, _ message: String, field: String? = nil) {
        self.init(code: code.rawValue, message: Rejection.namesSource(message) ? message : "\(code.source): \(message)", field: field)
    }

    /// True when `message` cites a statute (`F.S.`), an MOA clause (`MOA`) or a named
    /// policy entry (`policy entry '`): the test every rejection message passes.
    public static func namesSource(_ message: String) -> Bool {
        message.contains("F.S.") || message.contains("MOA") || message.contains("policy entry '")
    }

    public var description: String { "\(code): \(message)" }
}

/// Every rejection code, in one place. Raw values are the stable strings stored in
/// the command queue's `error_code`.
public enum RejectionCode: String, Sendable, CaseIterable, Codable {
    // MARK: Payload validation (before the domain; issue 7)
    /// The command type is not one of `DomainCommand.commandTypes`.
    case unknownCommandType = "unknown_command_type"
    /// Not JSON, or not a JSON object.
    case malformedPayload = "malformed_payload"
    /// The payload exceeds `DomainCommand.maxPayloadBytes`.
    case payloadTooLarge = "payload_too_large"
    /// A required field is absent or null.
    case missingField = "missing_field"
    /// A field has the wrong JSON type (e.g. a number where a string is due).
    case invalidFieldType = "invalid_field_type"
    /// A field has the right type but a value outside its domain (unknown model, seat,
    /// vote, agency type; malformed UUID or id; empty or NUL-containing string).
    case invalidFieldValue = "invalid_field_value"
    /// A date that is not a strict `YYYY-MM-DD` calendar date.
    case invalidDate = "invalid_date"
    /// A string or list longer than its limit.
    case fieldTooLong = "field_too_long"
    /// A key the command does not know.
    case unknownField = "unknown_field"

    // MARK: Register
    /// No agreement with that id.
    case agreementNotFound = "agreement_not_found"
    /// No agency with that id.
    case agencyNotFound = "agency_not_found"
    /// A rename to a name whose slug already identifies another agency.
    case agencyNameTaken = "agency_name_taken"
    /// An edition older than the newest in the register (issue 12: it changes no current fact).
    case editionOutOfOrder = "edition_out_of_order"
    /// The agency already holds a live agreement of that model (a holder change would make two).
    case agreementExists = "agreement_exists"

    // MARK: Requests (rules 1-3, 6, 7)
    /// Rule 1: the agency holds no active agreement of that model (e.g. South Miami PD).
    case noActiveAgreement = "no_active_agreement"
    /// Rule 1: the agreement is not `active` (termination already approved or pending).
    case agreementNotActive = "agreement_not_active"
    /// Rule 1: a payload names another agency than the clerk's own (SQLSTATE CQ003 at submission).
    /// `decide` no longer produces it: another agency's request or agreement is refused exactly
    /// as an unknown id (`request_not_found`, `agreement_not_found`), so that a clerk learns nothing
    /// about other agencies (issue 11 item 5).
    case agencyMismatch = "agency_mismatch"
    /// Rule 2: the agreement already has an open request.
    case requestAlreadyOpen = "request_already_open"
    /// Rule 3, s. 908.11(1), F.S.: a sheriff / county detention operator's last agreement.
    case mandatoryAgreement = "mandatory_agreement"
    /// A request id already used.
    case requestIDTaken = "request_id_taken"
    /// No request with that id.
    case requestNotFound = "request_not_found"
    /// The request is withdrawn, decided or closed for this action.
    case requestNotOpen = "request_not_open"
    /// Rule 5: a vote without a review scheduled.
    case reviewNotScheduled = "review_not_scheduled"
    /// Rule 5: a vote for a meeting date other than the scheduled one.
    case meetingMismatch = "meeting_mismatch"
    /// Rule 5: the tally does not name exactly the seats filled on the meeting date.
    case invalidTally = "invalid_tally"
    /// Rules 4, 6: notice or end without the Board's approval (denied or undecided).
    case notApproved = "not_approved"
    /// Rule 6: the notice was already recorded.
    case noticeAlreadyRecorded = "notice_already_recorded"
    /// Rule 7: a date before the request was filed.
    case dateBeforeSubmission = "date_before_submission"
    /// Rule 7: a date before the agreement was signed.
    case dateBeforeSigning = "date_before_signing"
    /// Rule 7: a notice dated before the approval.
    case noticeBeforeApproval = "notice_before_approval"
    /// Rule 7: ICE received the notice before it was served.
    case receivedBeforeServed = "received_before_served"
    /// Rule 7: a legal date after the processing date (`CommandContext.today`).
    case dateInFuture = "date_in_future"
    /// `terminated` is final: nothing more happens to the agreement.
    case agreementTerminated = "agreement_terminated"
    /// `end_agreement` with an effective date other than the one the notice fixed.
    case effectiveDateMismatch = "effective_date_mismatch"
    /// Rule 7 (policy entry `record.legal-time-monotone`): an event dated before the latest
    /// legal date already recorded on its clock (an agreement and its requests, an agency,
    /// a Board seat, a policy topic).
    case legalDateOutOfOrder = "legal_date_out_of_order"
    /// Rule 7: `scheduled_on` after the meeting it schedules.
    case scheduledAfterMeeting = "scheduled_after_meeting"
    /// `stated_effective_on` before ICE received the notice.
    case effectiveBeforeReceipt = "effective_before_receipt"

    // MARK: Policy entries (issue 13)
    /// `adopt_policy_entry` with an entry id already adopted with other content.
    case policyEntryConflict = "policy_entry_conflict"

    // MARK: Board seats (rule 5: composition as data)
    /// Filling a seat with the member who already holds it on that date.
    case seatAlreadyFilled = "seat_already_filled"
    /// Vacating a seat already vacant on that date.
    case seatAlreadyVacant = "seat_already_vacant"
    /// Another entry for the seat already takes effect that day (use `replaces_entry_on`).
    case seatEntryConflict = "seat_entry_conflict"
    /// `replaces_entry_on` names no entry of that seat.
    case seatEntryNotFound = "seat_entry_not_found"
    /// A seat change or correction that would change who held a seat on the meeting date
    /// of a Board decision already recorded (that decision was tallied over the seats then filled).
    case seatChangeContradictsVote = "seat_change_contradicts_vote"
}

extension RejectionCode {
    /// The source a rejection of this code rests on, cited in its message when the
    /// message names no more specific one (a statute, an MOA clause or a named policy entry).
    public var source: String {
        switch self {
        case .unknownCommandType, .malformedPayload, .payloadTooLarge, .missingField, .invalidFieldType,
             .invalidFieldValue, .invalidDate, .fieldTooLong, .unknownField:
            return RecordRule.commandSchema.citation
        case .agreementNotFound, .agencyNotFound, .agencyNameTaken, .requestIDTaken, .requestNotFound:
            return RecordRule.identity.citation
        case .noActiveAgreement, .agreementNotActive, .agencyMismatch:
            return "s. 908.11(1), F.S. (the termination of an agency's own 287(g) agreement)"
        case .requestAlreadyOpen:
            return RecordRule.oneOpenRequest.citation
        case .mandatoryAgreement:
            return "s. 908.11(1), F.S."
        case .requestNotOpen, .noticeAlreadyRecorded:
            return RecordRule.requestLifecycle.citation
        case .reviewNotScheduled, .meetingMismatch, .invalidTally:
            return "s. 908.1031, F.S."
        case .notApproved:
            return "s. 908.11(1), F.S. as read by the approval-scope policy entry"
        case .dateBeforeSubmission, .dateBeforeSigning, .receivedBeforeServed, .scheduledAfterMeeting:
            return RecordRule.datesInOrder.citation
        case .noticeBeforeApproval:
            return "s. 908.11(1), F.S. (the Board's approval comes before the termination)"
        case .dateInFuture:
            return RecordRule.noFutureDates.citation
        case .agreementTerminated:
            return "287(g) MOA termination clause (a terminated agreement is final; rejoining is a new MOA)"
        case .effectiveDateMismatch, .effectiveBeforeReceipt:
            return "287(g) MOA termination clause, as read by the notice-effect policy entry"
        case .seatAlreadyFilled, .seatAlreadyVacant, .seatEntryConflict, .seatEntryNotFound:
            return RecordRule.seatHistory.citation
        case .seatChangeContradictsVote:
            return "s. 908.1031, F.S. (a decision is tallied over the seats filled on its meeting date), with \(RecordRule.seatHistory.citation)"
        case .legalDateOutOfOrder:
            return RecordRule.legalTimeMonotone.citation
        case .policyEntryConflict:
            return RecordRule.policyEntries.citation
        case .editionOutOfOrder, .agreementExists:
            return RecordRule.editions.citation
        }
    }
}
