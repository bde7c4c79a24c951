import Foundation

/// An agreement's state (DESIGN.md, Domain):
/// `active` -> `terminationRequested` -> `terminationApproved` -> (`terminationPending`,
/// WSO, 90 days) -> `terminated`; a denied or withdrawn request returns it to `active`.
/// `terminated` is final: rejoining is a new agreement.
public enum AgreementStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case active
    case terminationRequested = "termination_requested"
    case terminationApproved = "termination_approved"
    case terminationPending = "termination_pending"
    case terminated
    /// The registrar found it to be a second listing of another agreement (issue 12):
    /// not live, never terminated.
    case duplicate
}

/// A request's state: `submitted` -> `underReview` -> `approved` | `denied`;
/// `withdrawn` before a decision; after approval `noticeServed` -> `effective`.
public enum RequestStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case submitted
    case underReview = "under_review"
    case approved
    case denied
    case withdrawn
    case noticeServed = "notice_served"
    case effective

    /// Open: the Board has not decided and the agency has not withdrawn (rule 2 counts
    /// these); an approved request whose agreement has not ended also blocks a new one.
    public var isOpen: Bool { self == .submitted || self == .underReview }
}

/// A law enforcement agency in the register.
public struct Agency: Sendable, Hashable, Codable {
    public var id: AgencyID
    /// The name as ICE last printed it (or as last renamed).
    public var name: String
    /// Earlier names, oldest first.
    public var formerNames: [String]
}

/// A 287(g) agreement in the register.
public struct Agreement: Sendable, Hashable, Codable {
    public var id: AgreementID
    public var agencyID: AgencyID
    public var model: Model
    /// ICE's signed date, as corrected.
    public var signedOn: FloridaDate
    public var agencyType: AgencyType
    public var county: String?
    public var moaURL: String?
    public var sourceEdition: String
    public var status: AgreementStatus
    /// The request that is moving it toward termination, if any.
    public var currentRequest: UUID?
    /// Set once terminated: the Florida date it ended.
    public var terminatedOn: FloridaDate?
    /// Local government votes about it (annotations only, rule 8).
    public var localVotes: [LocalGovernmentVoteRecorded]
    /// The first ICE edition that listed it (its registration's `source_edition`).
    public var firstEdition: String = ""
    /// The newest ICE edition recorded while it was listed (see `EditionRecorded`).
    public var latestEdition: String = ""
    /// The edition from which ICE stopped listing it; nil while listed.
    public var notListedSince: String?
    /// For a `duplicate`: the agreement it repeats.
    public var duplicateOf: AgreementID?

    /// Live: neither terminated nor a duplicate.
    public var isLive: Bool { status != .terminated && status != .duplicate }
}

/// A termination request.
public struct TerminationRequest: Sendable, Hashable, Codable {
    public var id: UUID
    public var agreementID: AgreementID
    public var agencyID: AgencyID
    public var model: Model
    public var reason: String
    public var localAuthorization: String
    public var filedOn: FloridaDate
    public var status: RequestStatus
    public var meetingDate: FloridaDate?
    public var withdrawnOn: FloridaDate?
    /// The meeting date of the Board's decision.
    public var decidedOn: FloridaDate?
    public var votes: [SeatVote]
    public var noticeServedOn: FloridaDate?
    public var noticeReceivedOn: FloridaDate?
    /// The date the agreement ends (known once the notice is received).
    public var effectiveOn: FloridaDate?
}

/// The whole register, folded from the log (small: ~300 agreements).
/// `apply` is the evolve function: total, it never fails; an event about an unknown
/// entity is ignored (decide never emits one).
public struct RegisterState: Sendable, Equatable, Codable {
    public var agencies: [AgencyID: Agency] = [:]
    /// Slug of a name -> the agency it designates, for names whose slug is not the id
    /// (after a rename to a differently-slugged name).
    public var aliases: [String: AgencyID] = [:]
    public var agreements: [AgreementID: Agreement] = [:]
    /// Each agency's agreement ids, sorted: an index over `agreements`, kept by `apply`.
    public private(set) var agreementIDsByAgency: [AgencyID: [AgreementID]] = [:]
    public var requests: [UUID: TerminationRequest] = [:]
    public var board = BoardComposition()
    /// The newest ICE edition recorded (`EditionRecorded`), e.g. `2025-07-18pm`.
    public var latestEdition: String?
    /// Policy entries adopted in the log (`PolicyCatalog` defaults apply where none is).
    public var policy = PolicyRegister()
    /// Each legal clock's latest legal date (DESIGN.md rule 7; see `DomainEvent.legalClock`).
    public private(set) var legalClocks: [LegalClock: FloridaDate] = [:]

    public init() {}

    /// Replays events in order.
    public static func fold(_ events: some Sequence<(stream: String, event: DomainEvent)>) -> RegisterState {
        var state = RegisterState()
        for item in events { state.apply(item.event, stream: item.stream) }
        return state
    }

    /// Replays, in log order, the events whose legal date is on or before `date`: the
    /// register "as of" that Florida day in legal time. An event without a date of its own
    /// is dated by `legalDate(of:)` against every earlier event; one with no date at all
    /// (nothing on its clock yet) is left out. Because `decide` keeps legal time monotone on
    /// each clock, this is, for every agreement and request, a state it passed through.
    public static func fold(_ events: some Sequence<(stream: String, event: DomainEvent)>, through date: FloridaDate) -> RegisterState {
        var full = RegisterState()
        var state = RegisterState()
        for item in events {
            let legal = full.legalDate(of: item.event)
            full.apply(item.event, stream: item.stream)
            if let legal, legal <= date { state.apply(item.event, stream: item.stream) }
        }
        return state
    }

    /// The agency a name designates: an alias of a renamed agency, else its own slug.
    public func agencyID(forName name: String) -> AgencyID? {
        let slug = AgencyID.slug(of: name)
        return aliases[slug] ?? AgencyID(slug: slug)
    }

    /// An agency's agreements, sorted by id.
    public func agreements(of agency: AgencyID) -> [Agreement] {
        (agreementIDsByAgency[agency] ?? []).compactMap { agreements[$0] }
    }

    /// The agency's not-terminated agreement of `model`, if any (at most one: a
    /// re-dated registration corrects the date instead of adding an agreement).
    public func liveAgreement(of agency: AgencyID, model: Model) -> Agreement? {
        agreements(of: agency).last { $0.model == model && $0.isLive }
    }

    /// s. 908.11(1), F.S. for an agency in the register (see `mandatoryAgreementReason`).
    /// The type is ICE's TYPE on the agency's latest-signed live agreement. The current
    /// name and every former name are tested: a rename does not free a sheriff's office
    /// or a jail operator from the duty.
    public func mandatoryReason(for agency: AgencyID) -> MandatoryReason? {
        guard let record = agencies[agency] else { return nil }
        // One pass over the agency's agreements, no arrays of them (a rebuild asks per agency):
        // the first latest-signed live one's type, else the first latest-signed one's.
        var latestLive: (signedOn: FloridaDate, type: AgencyType)?
        var latest: (signedOn: FloridaDate, type: AgencyType)?
        var liveModels: [Model] = []
        for id in agreementIDsByAgency[agency] ?? [] {
            guard let a = agreements[id] else { continue }
            if latest.map({ $0.signedOn < a.signedOn }) ?? true { latest = (a.signedOn, a.agencyType) }
            if a.isLive {
                if latestLive.map({ $0.signedOn < a.signedOn }) ?? true { latestLive = (a.signedOn, a.agencyType) }
                liveModels.append(a.model)
            }
        }
        guard let type = (latestLive ?? latest)?.type else { return nil }
        if let reason = mandatoryAgreementReason(agencyName: record.name, agencyType: type, models: liveModels) {
            return reason
        }
        for name in record.formerNames.reversed() {
            if let reason = mandatoryAgreementReason(agencyName: name, agencyType: type, models: liveModels) {
                return reason
            }
        }
        return nil
    }

    /// The legal date of `event` if it were applied now: the date it carries
    /// (`DomainEvent.occurredOn`), else the latest legal date already on its clock. So an
    /// event without a date of its own (an older `ReviewScheduled` written before
    /// `scheduled_on` existed; a rename or detail update without an edition date) is dated
    /// at the earliest date it can have had, and never out of order; nil when its clock has
    /// no date yet (the caller then uses the date it was recorded). A rename, detail update
    /// or date correction from an ICE edition (`DomainEvent.editionDate`) is dated by the
    /// edition's date, or by its clock's latest date when that is later: ICE's July list is
    /// not true "as of" June (a reader's rule; older events are read the same way).
    public func legalDate(of event: DomainEvent) -> FloridaDate? {
        if let own = event.occurredOn { return own }
        let clock = event.legalClock.flatMap { legalClocks[$0] }
        if let edition = event.editionDate { return clock.map { max($0, edition) } ?? edition }
        return clock
    }

    /// Evolve: the state after `event`. `stream` is where the event was stored; the
    /// state is keyed by the ids inside the events, so it is informational here.
    public mutating func apply(_ event: DomainEvent, stream: String) {
        if let date = legalDate(of: event) {
            if let clock = event.legalClock { Self.advance(&legalClocks[clock, default: date], to: date) }  // one lookup
            for id in event.policyEntriesApplied {
                // A decision that applied an entry fixes its topic's reading up to its date:
                // a later adoption may not take effect before it (policy never rewrites a decision).
                if let topic = policy.entry(id: id)?.topic { legalClocks[.policy(topic)] = max(legalClocks[.policy(topic)] ?? date, date) }
            }
            if case .agreementRegistered(let e) = event {
                // An agency's renames are dated no earlier than its agreements' registrations.
                legalClocks[.agency(e.agencyID)] = max(legalClocks[.agency(e.agencyID)] ?? date, date)
            }
        }
        switch event {
        case .agreementRegistered(let e):
            if var agency = agencies[e.agencyID] {
                if agency.name != e.agencyName {
                    agency.formerNames.append(agency.name)
                    agency.name = e.agencyName
                }
                agencies[e.agencyID] = agency
            } else {
                agencies[e.agencyID] = Agency(id: e.agencyID, name: e.agencyName, formerNames: [])
            }
            if agreements[e.agreementID] == nil {
                var ids = agreementIDsByAgency[e.agencyID, default: []]
                ids.insert(e.agreementID, at: ids.firstIndex { $0 > e.agreementID } ?? ids.count)
                agreementIDsByAgency[e.agencyID] = ids
            }
            agreements[e.agreementID] = Agreement(
                id: e.agreementID, agencyID: e.agencyID, model: e.model, signedOn: e.signedOn,
                agencyType: e.agencyType, county: e.county, moaURL: e.moaURL, sourceEdition: e.sourceEdition,
                status: .active, currentRequest: nil, terminatedOn: nil, localVotes: [],
                firstEdition: e.sourceEdition, latestEdition: e.sourceEdition)
        case .agreementDetailsUpdated(let e):
            // In place, one lookup (nine in ten events of a register's log are these).
            guard let index = agreements.index(forKey: e.agreementID) else { return }
            agreements.values[index].agencyType = e.agencyType
            agreements.values[index].county = e.county
            agreements.values[index].moaURL = e.moaURL
            agreements.values[index].sourceEdition = e.sourceEdition
            agreements.values[index].latestEdition = e.sourceEdition
        case .agencyRenamed(let e):
            guard var agency = agencies[e.agencyID] else { return }
            agency.formerNames.append(agency.name)
            agency.name = e.newName
            agencies[e.agencyID] = agency
            let slug = AgencyID.slug(of: e.newName)
            if slug != e.agencyID.slug { aliases[slug] = e.agencyID }
        case .signedDateCorrected(let e):
            agreements[e.agreementID]?.signedOn = e.signedOn
            if let edition = e.sourceEdition { agreements[e.agreementID]?.sourceEdition = edition }
        case .terminationRequestSubmitted(let e):
            requests[e.requestID] = TerminationRequest(
                id: e.requestID, agreementID: e.agreementID, agencyID: e.agencyID, model: e.model,
                reason: e.reason, localAuthorization: e.localAuthorization, filedOn: e.filedOn,
                status: .submitted, meetingDate: nil, withdrawnOn: nil, decidedOn: nil, votes: [],
                noticeServedOn: nil, noticeReceivedOn: nil, effectiveOn: nil)
            agreements[e.agreementID]?.status = .terminationRequested
            agreements[e.agreementID]?.currentRequest = e.requestID
        case .terminationRequestWithdrawn(let e):
            requests[e.requestID]?.status = .withdrawn
            requests[e.requestID]?.withdrawnOn = e.withdrawnOn
            release(e.agreementID, from: e.requestID)
        case .reviewScheduled(let e):
            requests[e.requestID]?.status = .underReview
            requests[e.requestID]?.meetingDate = e.meetingDate
        case .boardVoteRecorded(let e):
            requests[e.requestID]?.votes = e.tally
        case .terminationApproved(let e):
            requests[e.requestID]?.status = .approved
            requests[e.requestID]?.decidedOn = e.decidedOn
            requests[e.requestID]?.votes = e.votes
            agreements[e.agreementID]?.status = .terminationApproved
        case .terminationDenied(let e):
            requests[e.requestID]?.status = .denied
            requests[e.requestID]?.decidedOn = e.decidedOn
            requests[e.requestID]?.votes = e.votes
            release(e.agreementID, from: e.requestID)
        case .terminationNoticeReceived(let e):
            requests[e.requestID]?.status = .noticeServed
            requests[e.requestID]?.noticeServedOn = e.servedOn
            requests[e.requestID]?.noticeReceivedOn = e.receivedOn
            requests[e.requestID]?.effectiveOn = e.effectiveOn
            agreements[e.agreementID]?.status = .terminationPending
        case .agreementTerminated(let e):
            requests[e.requestID]?.status = .effective
            agreements[e.agreementID]?.status = .terminated
            agreements[e.agreementID]?.terminatedOn = e.effectiveOn
            agreements[e.agreementID]?.currentRequest = nil
        case .boardSeatFilled(let e), .boardSeatVacated(let e):
            board.record(e.entry, seat: e.seat, replacing: e.replacesEntryOn)
        case .localGovernmentVoteRecorded(let e):
            // Kept in voted_on order (annotations are outside the legal clock: rule 8).
            guard var votes = agreements[e.agreementID]?.localVotes else { return }
            votes.insert(e, at: votes.firstIndex { $0.votedOn > e.votedOn } ?? votes.count)
            agreements[e.agreementID]?.localVotes = votes
        case .editionRecorded(let e):
            latestEdition = e.sourceEdition
            for id in agreements.keys where agreements[id]?.isLive == true && agreements[id]?.notListedSince == nil {
                agreements[id]?.latestEdition = e.sourceEdition
            }
        case .agreementNotListed(let e):
            agreements[e.agreementID]?.notListedSince = e.sourceEdition
        case .agreementListedAgain(let e):
            agreements[e.agreementID]?.notListedSince = nil
            agreements[e.agreementID]?.latestEdition = e.sourceEdition
        case .agreementHolderChanged(let e):
            guard var agreement = agreements[e.agreementID] else { return }
            if agencies[e.toAgencyID] == nil {
                agencies[e.toAgencyID] = Agency(id: e.toAgencyID, name: e.toAgencyName, formerNames: [])
            }
            agreementIDsByAgency[agreement.agencyID]?.removeAll { $0 == e.agreementID }
            var ids = agreementIDsByAgency[e.toAgencyID, default: []]
            ids.insert(e.agreementID, at: ids.firstIndex { $0 > e.agreementID } ?? ids.count)
            agreementIDsByAgency[e.toAgencyID] = ids
            agreement.agencyID = e.toAgencyID
            if let edition = e.sourceEdition { agreement.sourceEdition = edition }
            agreements[e.agreementID] = agreement
        case .agreementResigned(let e):
            agreements[e.agreementID]?.signedOn = e.signedOn
            agreements[e.agreementID]?.moaURL = e.moaURL
            if let edition = e.sourceEdition { agreements[e.agreementID]?.sourceEdition = edition }
        case .agreementMarkedDuplicate(let e):
            agreements[e.agreementID]?.status = .duplicate
            agreements[e.agreementID]?.duplicateOf = e.duplicateOf
        case .policyEntryAdopted(let e):
            policy.adopt(e)
        }
    }

    /// A legal clock moves forward only.
    private static func advance(_ clock: inout FloridaDate, to date: FloridaDate) { clock = max(clock, date) }

    /// Returns the agreement to `active` when `request` was the one moving it.
    private mutating func release(_ agreement: AgreementID, from request: UUID) {
        guard agreements[agreement]?.currentRequest == request else { return }
        agreements[agreement]?.status = .active
        agreements[agreement]?.currentRequest = nil
    }

    /// Applies a decision's events in order.
    public mutating func apply(_ decision: Decision) {
        for item in decision.events { apply(item.event, stream: item.stream) }
    }
}

extension RegisterState {
    /// Only what legal dating reads: the legal clocks and the policy register, nothing else.
    /// `legalDate(of:)`, and the clocks `apply` advances, are the same on it as on the whole
    /// register (they read only the clocks, the event and the policy), so a register snapshot
    /// keeps it beside the register to date later events without decoding the register.
    public var clocksOnly: RegisterState {
        var clocks = RegisterState()
        clocks.legalClocks = legalClocks
        clocks.policy = policy
        return clocks
    }
}

// MARK: Undo

/// What `RegisterState.apply(_:stream:journal:)` changed, so that `undo` can take it back:
/// for each entry touched since the journal was empty, the value it had before the first
/// change (nil inside: the entry was absent). Lets a caller try events on the one copy of
/// the register, in place (no copy of the whole register: cost in the number of entries
/// touched, not in the register's size), and return to the state before them when they are
/// not kept (the daemon's batch that did not commit). An `EditionRecorded` touches every
/// live agreement: its journal holds the whole agreements dictionary.
public struct RegisterJournal: Sendable {
    var agencies: [AgencyID: Agency?] = [:]
    var aliases: [String: AgencyID?] = [:]
    var agreements: [AgreementID: Agreement?] = [:]
    /// Every agreement, as it stood before the first event that touched them all.
    var allAgreements: [AgreementID: Agreement]?
    var agreementIDsByAgency: [AgencyID: [AgreementID]?] = [:]
    var requests: [UUID: TerminationRequest?] = [:]
    var legalClocks: [LegalClock: FloridaDate?] = [:]
    var board: BoardComposition?
    var latestEdition: String??
    var policy: PolicyRegister?

    public init() {}
}

extension Dictionary {
    /// Records `self[key]` in `journal` unless it already holds an older value for `key`.
    func save(_ key: Key, into journal: inout [Key: Value?]) {
        if journal.index(forKey: key) == nil { journal[key] = .some(self[key]) }
    }

    /// Puts back every value `journal` recorded (removing the entries that were absent).
    mutating func restore(_ journal: [Key: Value?]) {
        for (key, value) in journal { self[key] = value }
    }
}

extension RegisterState {
    /// `apply(event, stream:)`, after recording in `journal` every entry it may change.
    public mutating func apply(_ event: DomainEvent, stream: String, journal: inout RegisterJournal) {
        record(event, in: &journal)
        apply(event, stream: stream)
    }

    /// Returns the state to what it was when `journal` was empty, undoing every event
    /// applied with it since (in any number).
    public mutating func undo(_ journal: RegisterJournal) {
        agencies.restore(journal.agencies)
        aliases.restore(journal.aliases)
        // Entries saved one by one were saved before any whole copy (see `record`): older.
        if let all = journal.allAgreements { agreements = all }
        agreements.restore(journal.agreements)
        agreementIDsByAgency.restore(journal.agreementIDsByAgency)
        requests.restore(journal.requests)
        legalClocks.restore(journal.legalClocks)
        if let board = journal.board { self.board = board }
        if let latestEdition = journal.latestEdition { self.latestEdition = latestEdition }
        if let policy = journal.policy { self.policy = policy }
    }

    /// Saves in `journal` what `apply(event, stream:)` may change (a superset: every entry the
    /// event names), mirroring `apply` case by case.
    private func record(_ event: DomainEvent, in journal: inout RegisterJournal) {
        func agreement(_ id: AgreementID) {
            if journal.allAgreements == nil { agreements.save(id, into: &journal.agreements) }
        }
        func request(_ id: UUID) { requests.save(id, into: &journal.requests) }
        func agency(_ id: AgencyID) {
            agencies.save(id, into: &journal.agencies)
            agreementIDsByAgency.save(id, into: &journal.agreementIDsByAgency)
        }
        if let clock = event.legalClock { legalClocks.save(clock, into: &journal.legalClocks) }
        for id in event.policyEntriesApplied {
            if let topic = policy.entry(id: id)?.topic { legalClocks.save(.policy(topic), into: &journal.legalClocks) }
        }
        switch event {
        case .agreementRegistered(let e):
            legalClocks.save(.agency(e.agencyID), into: &journal.legalClocks)
            agency(e.agencyID)
            agreement(e.agreementID)
        case .agreementDetailsUpdated(let e): agreement(e.agreementID)
        case .agencyRenamed(let e):
            agency(e.agencyID)
            aliases.save(AgencyID.slug(of: e.newName), into: &journal.aliases)
        case .signedDateCorrected(let e): agreement(e.agreementID)
        case .terminationRequestSubmitted(let e): request(e.requestID); agreement(e.agreementID)
        case .terminationRequestWithdrawn(let e): request(e.requestID); agreement(e.agreementID)
        case .reviewScheduled(let e): request(e.requestID); agreement(e.agreementID)
        case .boardVoteRecorded(let e): request(e.requestID); agreement(e.agreementID)
        case .terminationApproved(let e), .terminationDenied(let e): request(e.requestID); agreement(e.agreementID)
        case .terminationNoticeReceived(let e): request(e.requestID); agreement(e.agreementID)
        case .agreementTerminated(let e): request(e.requestID); agreement(e.agreementID)
        case .boardSeatFilled, .boardSeatVacated:
            if journal.board == nil { journal.board = board }
        case .localGovernmentVoteRecorded(let e): agreement(e.agreementID)
        case .editionRecorded:
            if journal.latestEdition == nil { journal.latestEdition = .some(latestEdition) }
            if journal.allAgreements == nil { journal.allAgreements = agreements }
        case .agreementNotListed(let e): agreement(e.agreementID)
        case .agreementListedAgain(let e): agreement(e.agreementID)
        case .agreementHolderChanged(let e):
            agreement(e.agreementID)
            agency(e.toAgencyID)
            if let holder = agreements[e.agreementID]?.agencyID { agency(holder) }
        case .agreementResigned(let e): agreement(e.agreementID)
        case .agreementMarkedDuplicate(let e): agreement(e.agreementID)
        case .policyEntryAdopted:
            if journal.policy == nil { journal.policy = policy }
        }
    }
}
