import Foundation
import Testing
@testable import Workflow

/// The snapshot encoding (issue 17 item 6): `RegisterState` round-trips through
/// `Snapshots.encode`/`decode`, and its stored shape is pinned to `Snapshots.format`, so that a
/// change of shape without a format bump fails here (an old snapshot would otherwise decode
/// into a wrong register, or stop decoding, silently).
@Suite struct SnapshotFormatTests {
    /// Registers after a fixed sequence of commands (requests, votes, notices, seats, timers).
    static func states() -> [RegisterState] {
        var scenario = Scenario(boardSeedCommands() + realRows)
        var interpreter = CommandInterpreter()
        var states = [scenario.state]
        var n = 12_345
        for step in 0..<400 {
            n = (n &* 1_103_515_245 &+ 12_345) & 0x7FFF_FFFF
            guard case .success(let decision) = scenario.when(interpreter.command(n, state: scenario.state)) else { continue }
            interpreter.pendingTimers += decision.scheduled
            scenario.state.apply(decision)
            if step % 40 == 0 { states.append(scenario.state) }
        }
        states.append(scenario.state)
        return states
    }

    @Test func roundTrips() throws {
        let states = Self.states()
        #expect(states.last?.requests.isEmpty == false)
        for state in states {
            #expect(try Snapshots.decode(Snapshots.encode(state)) == state)
        }
    }

    /// The clocks kept beside a snapshot date every later event as the whole register does.
    @Test func clocksDateLaterEventsAsTheRegisterDoes() {
        var scenario = Scenario(boardSeedCommands() + realRows)
        var interpreter = CommandInterpreter()
        var n = 777
        for _ in 0..<400 {
            n = (n &* 1_103_515_245 &+ 12_345) & 0x7FFF_FFFF
            guard case .success(let decision) = scenario.when(interpreter.command(n, state: scenario.state)) else { continue }
            interpreter.pendingTimers += decision.scheduled
            scenario.state.apply(decision)
            scenario.log += decision.events
        }
        #expect(scenario.log.count > 50)
        for start in stride(from: 0, to: scenario.log.count, by: 17) {
            var full = RegisterState.fold(scenario.log[..<start])
            var clocks = full.clocksOnly
            for (stream, event) in scenario.log[start...] {
                #expect(clocks.legalDate(of: event) == full.legalDate(of: event), "\(event.eventType) after \(start)")
                full.apply(event, stream: stream)
                clocks.apply(event, stream: stream)
            }
            #expect(clocks.legalClocks == full.legalClocks)
        }
    }

    /// Each stored property of the register's types, as `Type.property: StoredType`.
    static func shape(of value: Any, into found: inout Set<String>) {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .struct:
            let name = String(describing: type(of: value))
            for child in mirror.children {
                found.insert("\(name).\(child.label ?? "?"): \(type(of: child.value))")
                Self.shape(of: child.value, into: &found)
            }
        case .optional, .collection, .set:
            for child in mirror.children { Self.shape(of: child.value, into: &found) }
        case .dictionary:
            for child in mirror.children {
                for pair in Mirror(reflecting: child.value).children { Self.shape(of: pair.value, into: &found) }
            }
        case .enum:
            for child in mirror.children { Self.shape(of: child.value, into: &found) }
        default: break
        }
    }

    @Test func shapeIsPinnedToTheFormat() throws {
        var shape = Set<String>()
        for state in Self.states() { Self.shape(of: state, into: &shape) }
        // Types the fixed sequence leaves empty, and the cases of the legal clock's key.
        for entry in PolicyCatalog.shipped { Self.shape(of: entry, into: &shape) }
        let agreement = try #require(AgreementID("a.tfm.2025-01-01")), agency = try #require(AgencyID(slug: "a"))
        for clock: LegalClock in [.agreement(agreement), .agency(agency), .seat(.governor), .policy(PolicyTopic.allCases[0])] {
            let payload = try #require(Mirror(reflecting: clock).children.first)
            shape.insert("LegalClock.\(payload.label ?? "?"): \(type(of: payload.value))")
        }
        let pinned = Self.pinnedShape.split(separator: "\n").map(String.init)
        let missing = Set(pinned).subtracting(shape).sorted(), added = shape.subtracting(pinned).sorted()
        #expect(missing.isEmpty && added.isEmpty, """
            RegisterState's stored shape changed: bump Snapshots.format (now \(Snapshots.format)) and update pinnedShape.
            added: \(added)
            missing: \(missing)
            """)
        #expect(Snapshots.format == 1)
    }

    static let pinnedShape = """
        Agency.formerNames: Array<String>
        Agency.id: AgencyID
        Agency.name: String
        AgencyID.slug: String
        Agreement.agencyID: AgencyID
        Agreement.agencyType: AgencyType
        Agreement.county: Optional<String>
        Agreement.currentRequest: Optional<UUID>
        Agreement.duplicateOf: Optional<AgreementID>
        Agreement.firstEdition: String
        Agreement.id: AgreementID
        Agreement.latestEdition: String
        Agreement.localVotes: Array<LocalGovernmentVoteRecorded>
        Agreement.moaURL: Optional<String>
        Agreement.model: Model
        Agreement.notListedSince: Optional<String>
        Agreement.signedOn: FloridaDate
        Agreement.sourceEdition: String
        Agreement.status: AgreementStatus
        Agreement.terminatedOn: Optional<FloridaDate>
        AgreementID.agency: AgencyID
        AgreementID.model: Model
        AgreementID.signedOn: FloridaDate
        BoardComposition.history: Dictionary<BoardSeat, Array<SeatEntry>>
        FloridaDate.day: Int
        FloridaDate.month: Int
        FloridaDate.year: Int
        LegalClock.agency: AgencyID
        LegalClock.agreement: AgreementID
        LegalClock.policy: PolicyTopic
        LegalClock.seat: BoardSeat
        LocalGovernmentVoteRecorded.agreementID: AgreementID
        LocalGovernmentVoteRecorded.body: String
        LocalGovernmentVoteRecorded.motion: String
        LocalGovernmentVoteRecorded.sources: Array<String>
        LocalGovernmentVoteRecorded.tally: String
        LocalGovernmentVoteRecorded.votedOn: FloridaDate
        PolicyEntry.basis: PolicyBasis
        PolicyEntry.effectiveOn: FloridaDate
        PolicyEntry.entryID: String
        PolicyEntry.note: Optional<String>
        PolicyEntry.reading: PolicyReading
        PolicyEntry.source: String
        PolicyEntry.text: String
        PolicyEntry.topic: PolicyTopic
        PolicyRegister.byID: Dictionary<String, PolicyEntry>
        PolicyRegister.history: Dictionary<PolicyTopic, Array<PolicyEntry>>
        RegisterState.agencies: Dictionary<AgencyID, Agency>
        RegisterState.agreementIDsByAgency: Dictionary<AgencyID, Array<AgreementID>>
        RegisterState.agreements: Dictionary<AgreementID, Agreement>
        RegisterState.aliases: Dictionary<String, AgencyID>
        RegisterState.board: BoardComposition
        RegisterState.latestEdition: Optional<String>
        RegisterState.legalClocks: Dictionary<LegalClock, FloridaDate>
        RegisterState.policy: PolicyRegister
        RegisterState.requests: Dictionary<UUID, TerminationRequest>
        SeatEntry.dateUncertain: Bool
        SeatEntry.effectiveOn: FloridaDate
        SeatEntry.member: Optional<String>
        SeatEntry.note: Optional<String>
        SeatEntry.sources: Array<String>
        SeatVote.member: String
        SeatVote.seat: BoardSeat
        SeatVote.vote: Ballot
        TerminationRequest.agencyID: AgencyID
        TerminationRequest.agreementID: AgreementID
        TerminationRequest.decidedOn: Optional<FloridaDate>
        TerminationRequest.effectiveOn: Optional<FloridaDate>
        TerminationRequest.filedOn: FloridaDate
        TerminationRequest.id: UUID
        TerminationRequest.localAuthorization: String
        TerminationRequest.meetingDate: Optional<FloridaDate>
        TerminationRequest.model: Model
        TerminationRequest.noticeReceivedOn: Optional<FloridaDate>
        TerminationRequest.noticeServedOn: Optional<FloridaDate>
        TerminationRequest.reason: String
        TerminationRequest.status: RequestStatus
        TerminationRequest.votes: Array<SeatVote>
        TerminationRequest.withdrawnOn: Optional<FloridaDate>
        """
}
