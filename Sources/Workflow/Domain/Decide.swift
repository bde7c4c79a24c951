import Foundation

/// What the daemon knows about a command besides its payload.
public struct CommandContext: Sendable, Equatable {
    /// The database login that submitted it (recorded in event metadata by the daemon).
    public var submittedBy: String
    public var commandID: UUID
    /// The Florida date on which the daemon processes it: legal dates may not be later.
    public var today: FloridaDate

    public init(submittedBy: String, commandID: UUID, today: FloridaDate) {
        self.submittedBy = submittedBy
        self.commandID = commandID
        self.today = today
    }
}

/// A command to run later (a durable timer): the daemon enqueues `command` with
/// `available_at = due.startInstant` (midnight Eastern of the due Florida date).
public struct ScheduledCommand: Sendable, Hashable {
    public var command: DomainCommand
    public var due: FloridaDate

    public init(command: DomainCommand, due: FloridaDate) {
        self.command = command
        self.due = due
    }
}

/// An accepted command's outcome: events in append order, each with its stream, and
/// commands to schedule. Zero events is an accepted no-op (e.g. a re-import).
public struct Decision: Sendable, Equatable {
    public var events: [(stream: String, event: DomainEvent)]
    public var scheduled: [ScheduledCommand]

    public init(events: [(stream: String, event: DomainEvent)] = [], scheduled: [ScheduledCommand] = []) {
        self.events = events
        self.scheduled = scheduled
    }

    public static func == (lhs: Decision, rhs: Decision) -> Bool {
        lhs.scheduled == rhs.scheduled && lhs.events.count == rhs.events.count
            && zip(lhs.events, rhs.events).allSatisfy { $0.stream == $1.stream && $0.event == $1.event }
    }
}

/// Legal sources quoted in rejection messages: a statute, an MOA clause, or a named policy
/// entry (`PolicyCatalog`, `RecordRule`). Every `RejectionCode` also has a `source`.
enum Source {
    static let rule1 = "s. 908.11, F.S."
    static let rule2 = RecordRule.oneOpenRequest.citation
    static let mandatory = "s. 908.11(1), F.S."
    static let board = "s. 908.1031, F.S."
    static let dates = RecordRule.datesInOrder.citation
    static let future = RecordRule.noFutureDates.citation
    static let moa = "the 287(g) MOA's termination clause"
    static let final = "287(g) MOA: a terminated agreement is final; rejoining is a new agreement"
}

/// Decide: the events a command produces against `state`, or the rule it breaks.
/// Pure: the same inputs always give the same result.
public func decide(_ command: DomainCommand, state: RegisterState, context: CommandContext) -> Result<Decision, Rejection> {
    do throws(Rejection) {
        let decision = try Decider(state: state, today: context.today).decide(command)
        try checkLegalTime(decision, state: state)
        return .success(decision)
    } catch {
        return .failure(error)
    }
}

/// DESIGN.md rule 7 (policy entry `record.legal-time-monotone`): no event may carry a legal
/// date earlier than the latest legal date already recorded on its clock (an agreement
/// with its requests, an agency, a Board seat, a policy topic; see `DomainEvent.legalClock`).
/// So, reading the log "as of a date" (events whose legal date is on or before it, in log
/// order) yields, for every clock, a prefix of its events: a state it actually passed
/// through. Seat corrections and local votes are exempt (`DomainEvent.checksLegalClock`).
/// - Throws: `legal_date_out_of_order`, naming the field that gave the date.
func checkLegalTime(_ decision: Decision, state: RegisterState) throws(Rejection) {
    var clocks: [LegalClock: FloridaDate] = [:]
    for (stream, event) in decision.events {
        guard let clock = event.legalClock else { continue }
        let latest = [clocks[clock], state.legalClocks[clock]].compactMap { $0 }.max()
        guard let date = event.occurredOn ?? event.editionDate.map({ edition in latest.map { max($0, edition) } ?? edition }) ?? latest
        else { continue }
        if event.checksLegalClock, !restatesPolicy(event, state), let latest, date < latest {
            throw Rejection(.legalDateOutOfOrder, "\(RecordRule.legalTimeMonotone.citation): \(event.eventType) (stream \(stream)) would be dated \(date), before \(latest), the latest legal date already recorded for \(clock)", field: event.legalDateField)
        }
        clocks[clock] = max(latest ?? date, date)
    }
}

/// True for a policy adoption whose reading is already the one in force on its effective
/// date: it changes the reading of no date (entries apply until the topic's next entry),
/// so no decision already recorded reads differently; it may be dated in the past (e.g.
/// `sbie policy load` of the defaults on a register that has already applied them).
func restatesPolicy(_ event: DomainEvent, _ state: RegisterState) -> Bool {
    guard case .policyEntryAdopted(let e) = event else { return false }
    return state.policy.entry(e.topic, on: e.effectiveOn).reading == e.reading
}

private struct Decider {
    let state: RegisterState
    let today: FloridaDate

    func decide(_ command: DomainCommand) throws(Rejection) -> Decision {
        switch command {
        case .registerAgreement(let p): return try register(p)
        case .renameAgency(let p): return try rename(p)
        case .correctSignedDate(let p): return try correct(p)
        case .submitTerminationRequest(let p): return try submit(p)
        case .withdrawTerminationRequest(let p): return try withdraw(p)
        case .scheduleReview(let p): return try schedule(p)
        case .recordBoardVote(let p): return try vote(p)
        case .recordTerminationNotice(let p): return try notice(p)
        case .endAgreement(let p): return try end(p)
        case .fillBoardSeat(let p):
            return try seat(BoardSeatChanged(seat: p.seat, member: p.member, effectiveOn: p.effectiveOn, dateUncertain: p.dateUncertain,
                                             note: p.note, sources: p.sources, replacesEntryOn: p.replacesEntryOn))
        case .vacateBoardSeat(let p):
            return try seat(BoardSeatChanged(seat: p.seat, member: nil, effectiveOn: p.effectiveOn, dateUncertain: p.dateUncertain,
                                             note: p.note, sources: p.sources, replacesEntryOn: p.replacesEntryOn))
        case .recordLocalGovernmentVote(let p): return try localVote(p)
        case .recordEdition(let p): return try EditionRules.recordEdition(p, state: state, today: today)
        case .changeAgreementHolder(let p): return try EditionRules.changeHolder(p, state: state, today: today)
        case .recordResignedAgreement(let p): return try EditionRules.resign(p, state: state, today: today)
        case .markDuplicateAgreement(let p): return try EditionRules.markDuplicate(p, state: state, today: today)
        case .adoptPolicyEntry(let p): return try adopt(p.entry)
        }
    }

    // MARK: checks

    func notFuture(_ date: FloridaDate, _ field: String) throws(Rejection) {
        guard date <= today else {
            throw Rejection(.dateInFuture, "\(Source.future): \(field) \(date) is after today (\(today))", field: field)
        }
    }

    func agreement(_ id: AgreementID, field: String = "agreement_id") throws(Rejection) -> Agreement {
        guard let agreement = state.agreements[id] else {
            throw Self.noSuchAgreement(id, field: field)
        }
        return agreement
    }

    func request(_ id: UUID) throws(Rejection) -> TerminationRequest {
        guard let request = state.requests[id] else {
            throw Self.noSuchRequest(id)
        }
        return request
    }

    /// An agency's own request, or the same rejection as for an unknown id: an agency (a
    /// clerk) learns nothing about another agency's requests, not even that an id exists
    /// (issue 11 item 5; rule 1 is enforced all the same).
    func ownRequest(_ id: UUID, of agency: AgencyID) throws(Rejection) -> TerminationRequest {
        guard let request = state.requests[id], request.agencyID == agency else {
            throw Self.noSuchRequest(id)
        }
        return request
    }

    static func noSuchRequest(_ id: UUID) -> Rejection {
        Rejection(.requestNotFound, "no termination request \(id.uuidString.lowercased())", field: "request_id")
    }

    static func noSuchAgreement(_ id: AgreementID, field: String = "agreement_id") -> Rejection {
        Rejection(.agreementNotFound, "no agreement \(id) in the register", field: field)
    }

    func name(_ agency: AgencyID) -> String { state.agencies[agency]?.name ?? agency.slug }

    // MARK: register

    func register(_ p: RegisterAgreement) throws(Rejection) -> Decision {
        guard let agencyID = state.agencyID(forName: p.agencyName) else {
            throw Rejection(.invalidFieldValue, "agency_name has no letter or digit", field: "agency_name")
        }
        try notFuture(p.signedOn, "signed_on")
        if EditionLabel.isValid(p.sourceEdition) {
            try EditionRules.notOlder(p.sourceEdition, date: p.signedOn, state: state, field: "source_edition")
        }
        var events: [(stream: String, event: DomainEvent)] = []
        if let agency = state.agencies[agencyID], agency.name != p.agencyName {
            events.append((StreamName.agency(agencyID), .agencyRenamed(AgencyRenamed(
                agencyID: agencyID, oldName: agency.name, newName: p.agencyName, sourceEdition: p.sourceEdition))))
        }
        let id = AgreementID(agency: agencyID, model: p.model, signedOn: p.signedOn)
        if let existing = state.agreements[id] ?? state.liveAgreement(of: agencyID, model: p.model) {
            // The same agreement (ICE may re-date a row): never a new one while it lives.
            guard existing.isLive else { return Decision(events: events) }
            let stream = StreamName.agreement(existing.id)
            if existing.id != id, existing.signedOn != p.signedOn {
                events.append((stream, .signedDateCorrected(SignedDateCorrected(
                    agreementID: existing.id, oldSignedOn: existing.signedOn, signedOn: p.signedOn,
                    sourceEdition: p.sourceEdition, note: "re-dated in ICE's list"))))
            }
            let moaURL = p.moaURL ?? existing.moaURL
            if existing.agencyType != p.agencyType || existing.county != p.county || existing.moaURL != moaURL {
                events.append((stream, .agreementDetailsUpdated(AgreementDetailsUpdated(
                    agreementID: existing.id, agencyType: p.agencyType, county: p.county, moaURL: moaURL,
                    sourceEdition: p.sourceEdition))))
            }
            return Decision(events: events)
        }
        events.append((StreamName.agreement(id), .agreementRegistered(AgreementRegistered(
            agreementID: id, agencyID: agencyID, agencyName: p.agencyName, agencyType: p.agencyType, county: p.county,
            model: p.model, signedOn: p.signedOn, moaURL: p.moaURL, sourceEdition: p.sourceEdition))))
        return Decision(events: events)
    }

    func rename(_ p: RenameAgency) throws(Rejection) -> Decision {
        guard let agency = state.agencies[p.agencyID] else {
            throw Rejection(.agencyNotFound, "no agency \(p.agencyID) in the register", field: "agency_id")
        }
        guard agency.name != p.newName else { return Decision() }
        if let edition = p.sourceEdition, EditionLabel.isValid(edition) {
            try EditionRules.notOlder(edition, date: today, state: state, field: "source_edition")
        }
        if let other = state.agencyID(forName: p.newName), other != p.agencyID, state.agencies[other] != nil {
            throw Rejection(.agencyNameTaken, "the name '\(p.newName)' designates another agency (\(other))", field: "new_name")
        }
        return Decision(events: [(StreamName.agency(p.agencyID), .agencyRenamed(AgencyRenamed(
            agencyID: p.agencyID, oldName: agency.name, newName: p.newName, sourceEdition: p.sourceEdition)))])
    }

    func correct(_ p: CorrectSignedDate) throws(Rejection) -> Decision {
        let agreement = try agreement(p.agreementID)
        guard agreement.status != .terminated else {
            throw Rejection(.agreementTerminated, "\(Source.final): \(agreement.id) ended on \(agreement.terminatedOn?.description ?? "?")", field: "agreement_id")
        }
        try notFuture(p.signedOn, "signed_on")
        if let edition = p.sourceEdition, EditionLabel.isValid(edition) {
            try EditionRules.notOlder(edition, date: today, state: state, field: "source_edition")
        }
        guard agreement.signedOn != p.signedOn else { return Decision() }
        return Decision(events: [(StreamName.agreement(agreement.id), .signedDateCorrected(SignedDateCorrected(
            agreementID: agreement.id, oldSignedOn: agreement.signedOn, signedOn: p.signedOn,
            sourceEdition: p.sourceEdition, note: p.note)))])
    }

    // MARK: requests

    /// Rules 1, 2, 3 and 7.
    func submit(_ p: SubmitTerminationRequest) throws(Rejection) -> Decision {
        guard state.requests[p.requestID] == nil else {
            throw Rejection(.requestIDTaken, "request id \(p.requestID.uuidString.lowercased()) is already used", field: "request_id")
        }
        try notFuture(p.filedOn, "filed_on")
        let target: Agreement
        if let id = p.agreementID {
            // Another agency's agreement is refused exactly as an unknown one (issue 11 item 5).
            guard let own = state.agreements[id], own.agencyID == p.agencyID else { throw Self.noSuchAgreement(id) }
            target = own
            guard target.model == p.model else {
                throw Rejection(.invalidFieldValue, "agreement \(id) is a \(target.model.iceName) agreement, not \(p.model.iceName)", field: "model")
            }
        } else {
            guard let live = state.liveAgreement(of: p.agencyID, model: p.model) else {
                throw Rejection(.noActiveAgreement, "\(Source.rule1): a termination request must name an active 287(g) agreement; \(name(p.agencyID)) holds no active \(p.model.iceName) agreement in ICE's list", field: "model")
            }
            target = live
        }
        switch target.status {
        case .active: break
        case .terminationRequested:
            throw Rejection(.requestAlreadyOpen, "\(Source.rule2): agreement \(target.id) already has an open request (\(target.currentRequest?.uuidString.lowercased() ?? "?"))", field: "model")
        case .terminationApproved, .terminationPending:
            throw Rejection(.agreementNotActive, "\(Source.rule1): agreement \(target.id) is \(target.status.rawValue), not active", field: "model")
        case .terminated:
            throw Rejection(.agreementTerminated, "\(Source.final): \(target.id) ended on \(target.terminatedOn?.description ?? "?")", field: "model")
        case .duplicate:
            throw Rejection(.agreementNotActive, "agreement \(target.id) is a duplicate listing of \(target.duplicateOf?.description ?? "?"), not an agreement of its own", field: "model")
        }
        guard p.filedOn >= target.signedOn else {
            throw Rejection(.dateBeforeSigning, "\(Source.dates): filed_on \(p.filedOn) is before the agreement was signed (\(target.signedOn))", field: "filed_on")
        }
        let mandatory = state.policy.entry(.mandatoryAgreement, on: p.filedOn)
        if mandatory.reading == .sheriffsAndCountyJails, let reason = state.mandatoryReason(for: p.agencyID),
           !state.agreements(of: p.agencyID).contains(where: { $0.id != target.id && $0.status == .active }) {
            let who: String
            switch reason {
            case .sheriffsOffice: who = "a sheriff"
            case .countyCorrections, .countyCommissionJail: who = "the operator of a county detention facility"
            }
            throw Rejection(.mandatoryAgreement, "\(Source.mandatory): \(who) must maintain a 287(g) agreement with ICE; \(name(p.agencyID)) may not request the termination of its last active agreement (\(target.id)); applied \(mandatory.citation)", field: "model")
        }
        return Decision(events: [(StreamName.request(p.requestID), .terminationRequestSubmitted(TerminationRequestSubmitted(
            requestID: p.requestID, agreementID: target.id, agencyID: p.agencyID, model: target.model,
            reason: p.reason, localAuthorization: p.localAuthorization, filedOn: p.filedOn,
            policyEntries: [mandatory.entryID])))])
    }

    func withdraw(_ p: WithdrawTerminationRequest) throws(Rejection) -> Decision {
        let request = try ownRequest(p.requestID, of: p.agencyID)
        guard request.status.isOpen else {
            throw Rejection(.requestNotOpen, "\(RecordRule.requestLifecycle.citation): a request may be withdrawn only before the Board acts on it (s. 908.1031, F.S.: the Board acts by its vote, and a recorded decision is not undone); request \(request.id.uuidString.lowercased()) is \(request.status.rawValue)", field: "request_id")
        }
        guard p.withdrawnOn >= request.filedOn else {
            throw Rejection(.dateBeforeSubmission, "\(Source.dates): withdrawn_on \(p.withdrawnOn) is before the request was filed (\(request.filedOn))", field: "withdrawn_on")
        }
        try notFuture(p.withdrawnOn, "withdrawn_on")
        return Decision(events: [(StreamName.request(request.id), .terminationRequestWithdrawn(TerminationRequestWithdrawn(
            requestID: request.id, agreementID: request.agreementID, withdrawnOn: p.withdrawnOn, reason: p.reason)))])
    }

    /// Rule 5: a review scheduled for a meeting date (rescheduling an open request is allowed).
    func schedule(_ p: ScheduleReview) throws(Rejection) -> Decision {
        let request = try request(p.requestID)
        guard request.status.isOpen else {
            throw Rejection(.requestNotOpen, "\(Source.board): only an open request can be reviewed; request \(request.id.uuidString.lowercased()) is \(request.status.rawValue)", field: "request_id")
        }
        guard p.meetingDate >= request.filedOn else {
            throw Rejection(.dateBeforeSubmission, "\(Source.dates): meeting_date \(p.meetingDate) is before the request was filed (\(request.filedOn))", field: "meeting_date")
        }
        guard request.meetingDate != p.meetingDate else { return Decision() }
        // Absent scheduled_on (older clients): the earliest date it can have had, the latest
        // legal date already recorded for the agreement and its requests (the CLI sends today).
        let scheduledOn = p.scheduledOn ?? max(request.filedOn, state.legalClocks[.agreement(request.agreementID)] ?? request.filedOn)
        guard scheduledOn <= p.meetingDate else {
            throw Rejection(.scheduledAfterMeeting, "\(Source.dates): scheduled_on \(scheduledOn) is after the meeting it schedules (\(p.meetingDate))", field: "scheduled_on")
        }
        guard scheduledOn >= request.filedOn else {
            throw Rejection(.dateBeforeSubmission, "\(Source.dates): scheduled_on \(scheduledOn) is before the request was filed (\(request.filedOn))", field: "scheduled_on")
        }
        try notFuture(scheduledOn, "scheduled_on")
        return Decision(events: [(StreamName.request(request.id), .reviewScheduled(ReviewScheduled(
            requestID: request.id, agreementID: request.agreementID, meetingDate: p.meetingDate,
            previousMeetingDate: request.meetingDate, scheduledOn: scheduledOn)))])
    }

    /// Rule 5: approval is a yes from every seat filled on the meeting date
    /// (s. 908.1031, F.S.: "All board action shall be by unanimous vote"); anything else denies.
    func vote(_ p: RecordBoardVote) throws(Rejection) -> Decision {
        let request = try request(p.requestID)
        switch request.status {
        case .submitted:
            throw Rejection(.reviewNotScheduled, "\(Source.board): a vote needs a review scheduled for that meeting; request \(request.id.uuidString.lowercased()) has none", field: "request_id")
        case .underReview: break
        default:
            throw Rejection(.requestNotOpen, "\(Source.board): no vote on a \(request.status.rawValue) request", field: "request_id")
        }
        guard request.meetingDate == p.meetingDate else {
            throw Rejection(.meetingMismatch, "\(Source.board): request \(request.id.uuidString.lowercased()) is scheduled for \(request.meetingDate?.description ?? "no meeting"), not \(p.meetingDate)", field: "meeting_date")
        }
        try notFuture(p.meetingDate, "meeting_date")
        let filled = state.board.filledSeats(on: p.meetingDate)
        for seat in BoardSeat.allCases where p.votes[seat] != nil && state.board.member(of: seat, on: p.meetingDate) == nil {
            throw Rejection(.invalidTally, "\(Source.board): the \(seat.title) seat was vacant on \(p.meetingDate) and cannot vote", field: "votes.\(seat.rawValue)")
        }
        guard !filled.isEmpty else {
            throw Rejection(.invalidTally, "\(Source.board): no Board seat was filled on \(p.meetingDate)", field: "votes")
        }
        var tally: [SeatVote] = []
        for (seat, member) in filled {
            guard let ballot = p.votes[seat] else {
                throw Rejection(.invalidTally, "\(Source.board): the tally omits the \(seat.title) (\(member)), who held the seat on \(p.meetingDate)", field: "votes.\(seat.rawValue)")
            }
            tally.append(SeatVote(seat: seat, member: member, vote: ballot))
        }
        let vacant = BoardSeat.allCases.filter { state.board.member(of: $0, on: p.meetingDate) == nil }
        let decided = TerminationDecided(requestID: request.id, agreementID: request.agreementID, decidedOn: p.meetingDate, votes: tally)
        let stream = StreamName.request(request.id)
        let unanimous = tally.allSatisfy { $0.vote == .yes }
        return Decision(events: [
            (stream, .boardVoteRecorded(BoardVoteRecorded(requestID: request.id, agreementID: request.agreementID,
                                                          meetingDate: p.meetingDate, tally: tally, vacantSeats: vacant))),
            (stream, unanimous ? .terminationApproved(decided) : .terminationDenied(decided)),
        ])
    }

    /// Rules 4, 6, 7: notice only after the Board's approval, where the approval-scope
    /// policy entry in force on `received_on` requires it (broad reading, the default: every
    /// agreement; the statute's text: sheriffs' and county jail operators' agreements). The
    /// agreement ends on the date the notice-effect policy entry gives (WSO: 90 days after
    /// receipt, MOA text; TFM/JEM: on receipt, an inference), or on ICE's stated date.
    func notice(_ p: RecordTerminationNotice) throws(Rejection) -> Decision {
        let request = try ownRequest(p.requestID, of: p.agencyID)
        let agreement = try agreement(request.agreementID, field: "request_id")
        guard agreement.status != .terminated else {
            throw Rejection(.agreementTerminated, "\(Source.final): \(agreement.id) ended on \(agreement.terminatedOn?.description ?? "?")", field: "request_id")
        }
        let scope = state.policy.entry(.approvalScope, on: p.receivedOn)
        let needsApproval = scope.reading == .allAgencies || state.mandatoryReason(for: request.agencyID) != nil
        let id = request.id.uuidString.lowercased()
        switch request.status {
        case .approved: break
        case .submitted, .underReview:
            guard !needsApproval else {
                throw Rejection(.notApproved, "\(scope.citation): request \(id) has not been approved by the State Board of Immigration Enforcement", field: "request_id")
            }
        case .denied:
            throw Rejection(.notApproved, "\(scope.citation): the Board denied request \(id) on \(request.decidedOn?.description ?? "?"); no notice may be served", field: "request_id")
        case .withdrawn:
            throw Rejection(.requestNotOpen, "\(RecordRule.requestLifecycle.citation): request \(id) was withdrawn", field: "request_id")
        case .noticeServed, .effective:
            throw Rejection(.noticeAlreadyRecorded, "\(RecordRule.requestLifecycle.citation): the notice for request \(id) was already recorded (received \(request.noticeReceivedOn?.description ?? "?"))", field: "request_id")
        }
        let approvedOn = request.decidedOn ?? request.filedOn
        let after = request.decidedOn == nil ? "the request was filed" : "the Board's approval"
        if let served = p.servedOn, served < approvedOn {
            throw Rejection(request.decidedOn == nil ? .dateBeforeSubmission : .noticeBeforeApproval, "\(Source.dates): served_on \(served) is before \(after) (\(approvedOn))", field: "served_on")
        }
        guard p.receivedOn >= approvedOn else {
            throw Rejection(request.decidedOn == nil ? .dateBeforeSubmission : .noticeBeforeApproval, "\(Source.dates): received_on \(p.receivedOn) is before \(after) (\(approvedOn))", field: "received_on")
        }
        if let served = p.servedOn, p.receivedOn < served {
            throw Rejection(.receivedBeforeServed, "\(Source.dates): received_on \(p.receivedOn) is before served_on \(served)", field: "received_on")
        }
        try notFuture(p.receivedOn, "received_on")
        let effect = state.policy.entry(agreement.model == .warrantServiceOfficer ? .noticeEffectWSO : .noticeEffectTFMJEM, on: p.receivedOn)
        let effective: FloridaDate
        if let stated = p.statedEffectiveOn {
            guard let source = p.statedEffectiveSource, !source.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw Rejection(.missingField, "\(effect.citation): stated_effective_on needs stated_effective_source (where ICE stated the date)", field: "stated_effective_source")
            }
            guard stated >= p.receivedOn else {
                throw Rejection(.effectiveBeforeReceipt, "\(effect.citation): stated_effective_on \(stated) is before ICE received the notice (\(p.receivedOn))", field: "stated_effective_on")
            }
            effective = stated
        } else {
            guard p.statedEffectiveSource == nil else {
                throw Rejection(.invalidFieldValue, "\(effect.citation): stated_effective_source without stated_effective_on", field: "stated_effective_source")
            }
            effective = effect.reading == .ninetyDaysAfterReceipt ? p.receivedOn.adding(days: 90) : p.receivedOn
        }
        var decision = Decision(events: [(StreamName.request(request.id), .terminationNoticeReceived(TerminationNoticeReceived(
            requestID: request.id, agreementID: agreement.id, model: agreement.model, servedOn: p.servedOn,
            receivedOn: p.receivedOn, effectiveOn: effective,
            statedEffectiveSource: p.statedEffectiveSource,
            policyEntries: [scope.entryID, effect.entryID])))])
        if effective > p.receivedOn {
            decision.scheduled.append(ScheduledCommand(
                command: .endAgreement(EndAgreement(agreementID: agreement.id, requestID: request.id, effectiveOn: effective)),
                due: effective))
        } else {
            decision.events.append((StreamName.agreement(agreement.id), .agreementTerminated(AgreementTerminated(
                agreementID: agreement.id, requestID: request.id, effectiveOn: effective))))
        }
        return decision
    }

    /// The WSO timer: ends the agreement on the date fixed by the notice (not the processing date).
    func end(_ p: EndAgreement) throws(Rejection) -> Decision {
        let agreement = try agreement(p.agreementID)
        guard agreement.status != .terminated else {
            throw Rejection(.agreementTerminated, "\(Source.final): \(agreement.id) ended on \(agreement.terminatedOn?.description ?? "?")", field: "agreement_id")
        }
        let request = try request(p.requestID)
        guard request.agreementID == agreement.id else {
            throw Rejection(.requestNotFound, "\(RecordRule.identity.citation): request \(request.id.uuidString.lowercased()) is not about \(agreement.id)", field: "request_id")
        }
        guard request.status == .noticeServed, let effective = request.effectiveOn else {
            throw Rejection(.notApproved, "\(state.policy.entry(.approvalScope, on: p.effectiveOn).citation): request \(request.id.uuidString.lowercased()) is \(request.status.rawValue); no approved notice ends \(agreement.id)", field: "request_id")
        }
        guard effective == p.effectiveOn else {
            throw Rejection(.effectiveDateMismatch, "\(Source.moa): \(agreement.id) ends on \(effective), not \(p.effectiveOn)", field: "effective_on")
        }
        try notFuture(p.effectiveOn, "effective_on")
        return Decision(events: [(StreamName.agreement(agreement.id), .agreementTerminated(AgreementTerminated(
            agreementID: agreement.id, requestID: request.id, effectiveOn: effective)))])
    }

    // MARK: board seats and annotations

    /// Rule 5: the Board's composition is data with effective dates.
    func seat(_ change: BoardSeatChanged) throws(Rejection) -> Decision {
        let history = state.board.history[change.seat, default: []]
        if let replaced = change.replacesEntryOn, !history.contains(where: { $0.effectiveOn == replaced }) {
            throw Rejection(.seatEntryNotFound, "the \(change.seat.title) seat has no entry effective on \(replaced) to replace", field: "replaces_entry_on")
        }
        if change.replacesEntryOn == nil, history.contains(change.entry) { return Decision() }
        if history.contains(where: { $0.effectiveOn == change.effectiveOn }), change.replacesEntryOn != change.effectiveOn {
            throw Rejection(.seatEntryConflict, "the \(change.seat.title) seat already has an entry effective on \(change.effectiveOn); correct it with replaces_entry_on", field: "effective_on")
        }
        if change.replacesEntryOn == nil, let current = state.board.entry(of: change.seat, on: change.effectiveOn) {
            if let member = change.member, current.member == member {
                throw Rejection(.seatAlreadyFilled, "\(member) already holds the \(change.seat.title) seat on \(change.effectiveOn) (since \(current.effectiveOn))", field: "member")
            }
            if change.member == nil, current.member == nil {
                throw Rejection(.seatAlreadyVacant, "the \(change.seat.title) seat is already vacant on \(change.effectiveOn) (since \(current.effectiveOn))", field: "effective_on")
            }
        }
        try keepsRecordedVotes(change)
        let event: DomainEvent = change.member == nil ? .boardSeatVacated(change) : .boardSeatFilled(change)
        return Decision(events: [(StreamName.board, event)])
    }

    /// A seat change or correction may not change who held the seat on the meeting date of
    /// a Board decision already recorded: the decision was tallied over the seats then
    /// filled (s. 908.1031, F.S., text: "All board action shall be by unanimous vote"; which
    /// seats a vote counts is this register's reading, record rule `record.seat-history`).
    /// - Throws: `seat_change_contradicts_vote`, naming the decision's request and date.
    private func keepsRecordedVotes(_ change: BoardSeatChanged) throws(Rejection) {
        var after = state.board
        after.record(change.entry, seat: change.seat, replacing: change.replacesEntryOn)
        let decided = state.requests.values.compactMap { r in r.decidedOn.map { (request: r, on: $0) } }
            .sorted { ($0.on, $0.request.id.uuidString) < ($1.on, $1.request.id.uuidString) }
        for (request, on) in decided {
            let before = state.board.member(of: change.seat, on: on), now = after.member(of: change.seat, on: on)
            guard before != now else { continue }
            let field = change.replacesEntryOn != nil && change.effectiveOn > on ? "replaces_entry_on" : "effective_on"
            throw Rejection(.seatChangeContradictsVote, "\(Source.board) and \(RecordRule.seatHistory.citation): the Board's decision on request \(request.id.uuidString.lowercased()) (\(request.status.rawValue) on \(on)) was tallied with the \(change.seat.title) seat \(before.map { "held by \($0)" } ?? "vacant"); this change would make it \(now.map { "held by \($0)" } ?? "vacant") on that date. A recorded decision is not re-tallied; date the change after \(on)", field: field)
        }
    }

    // MARK: policy

    /// Adopts a policy entry (policy entry `record.policy-entries`): re-adopting the same
    /// entry is an accepted no-op; the same id with other content is `policy_entry_conflict`.
    /// Its effective date is checked against the topic's legal clock like any event, so a
    /// change of reading never reaches back before an entry already in force.
    func adopt(_ entry: PolicyEntry) throws(Rejection) -> Decision {
        if let existing = state.policy.byID[entry.entryID] {
            guard existing != entry else { return Decision() }
            throw Rejection(.policyEntryConflict, "\(RecordRule.policyEntries.citation): entry '\(entry.entryID)' was adopted with other content (\(existing.topic.rawValue) = \(existing.reading.rawValue) from \(existing.effectiveOn)); adopt a new entry id", field: "entry_id")
        }
        if let shipped = PolicyCatalog.shipped.first(where: { $0.entryID == entry.entryID }),
           shipped.topic != entry.topic || shipped.reading != entry.reading {
            throw Rejection(.policyEntryConflict, "\(RecordRule.policyEntries.citation): entry '\(entry.entryID)' is shipped as \(shipped.topic.rawValue) = \(shipped.reading.rawValue); adopt a new entry id", field: "entry_id")
        }
        return Decision(events: [(StreamName.policy, .policyEntryAdopted(entry))])
    }

    /// Rule 8: an annotation; changes no agreement's state (allowed in any state).
    func localVote(_ p: RecordLocalGovernmentVote) throws(Rejection) -> Decision {
        let agreement = try agreement(p.agreementID)
        try notFuture(p.votedOn, "voted_on")
        let recorded = LocalGovernmentVoteRecorded(agreementID: agreement.id, body: p.body, votedOn: p.votedOn,
                                                   motion: p.motion, tally: p.tally, sources: p.sources)
        guard !agreement.localVotes.contains(recorded) else { return Decision() }
        return Decision(events: [(StreamName.agreement(agreement.id), .localGovernmentVoteRecorded(recorded))])
    }
}
