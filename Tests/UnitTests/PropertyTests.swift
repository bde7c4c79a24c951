import Foundation
import PropertyBased
import Testing
@testable import Workflow

/// Turns random integers into a plausible command sequence over a small real register,
/// biased toward steps that move requests forward (so approvals and terminations happen).
struct CommandInterpreter {
    static let agencies = [tallahasseePD, leonSO, escambiaSO, pascoBOCC, agency("Key West Police Department"), agency("Florida Department of Corrections")]
    static let filed = ["2025-04-01", "2025-05-01", "2025-08-01", "2025-10-01"].map(d)
    static let meetings = ["2025-05-15", "2025-08-20", "2025-10-15", "2025-12-10"].map(d)
    static let received = ["2025-05-20", "2025-08-25", "2025-10-20", "2025-11-03", "2026-01-05"].map(d)
    static let seatDates = ["2025-03-01", "2025-06-01", "2025-09-01"].map(d)

    var pendingTimers: [ScheduledCommand] = []

    mutating func command(_ n: Int, state: RegisterState) -> DomainCommand {
        var bits = n / 16
        func pick<T>(_ options: [T]) -> T {
            let value = options[bits % options.count]
            bits /= max(options.count, 2)
            return value
        }
        // Mostly act on a request that exists (so requests move forward); sometimes on any id.
        let known = state.requests.keys.sorted { $0.uuidString < $1.uuidString }
        let request = n % 16 <= 2 || known.isEmpty || pick([true, false, false, false]) ? uuid(1 + pick(Array(0..<5))) : pick(known)
        let existing = state.requests[request]
        switch n % 16 {
        case 0, 1, 2:
            return .submitTerminationRequest(SubmitTerminationRequest(
                requestID: request, agencyID: pick(Self.agencies), model: pick(Model.allCases),
                reason: "r", localAuthorization: "a", filedOn: pick(Self.filed)))
        case 3:
            return .withdrawTerminationRequest(WithdrawTerminationRequest(
                requestID: request, agencyID: existing?.agencyID ?? pick(Self.agencies),
                withdrawnOn: max(existing?.filedOn ?? pick(Self.filed), pick(Self.filed))))
        case 4, 5:
            let after = Self.meetings.filter { $0 >= (existing?.filedOn ?? Self.meetings[0]) }
            return .scheduleReview(ScheduleReview(requestID: request, meetingDate: after.isEmpty ? pick(Self.meetings) : pick(after)))
        case 6, 7, 8:
            let meeting = existing?.meetingDate ?? pick(Self.meetings)
            var votes: [BoardSeat: Ballot] = [:]
            if bits % 4 != 0 {
                bits /= 4
                for (seat, _) in state.board.filledSeats(on: meeting) { votes[seat] = bits % 5 == 0 ? pick(Ballot.allCases) : .yes; bits /= 5 }
            } else {
                for seat in BoardSeat.allCases where bits % 2 == 0 { votes[seat] = pick(Ballot.allCases); bits /= 2 }
            }
            return .recordBoardVote(RecordBoardVote(requestID: request, meetingDate: meeting, votes: votes))
        case 9, 10:
            let receivedOn = max(existing?.decidedOn ?? pick(Self.received), pick(Self.received))
            return .recordTerminationNotice(RecordTerminationNotice(
                requestID: request, agencyID: existing?.agencyID ?? pick(Self.agencies), receivedOn: receivedOn))
        case 11:
            if !pendingTimers.isEmpty { return pendingTimers.removeFirst().command }
            return .endAgreement(EndAgreement(agreementID: pick(Array(state.agreements.keys.sorted())), requestID: request, effectiveOn: pick(Self.received)))
        case 12:
            if bits % 2 == 0 {
                return .fillBoardSeat(FillBoardSeat(seat: pick(BoardSeat.allCases), member: pick(["A. Member", "B. Member"]), effectiveOn: pick(Self.seatDates)))
            }
            return .vacateBoardSeat(VacateBoardSeat(seat: pick(BoardSeat.allCases), effectiveOn: pick(Self.seatDates)))
        case 13:
            return pick(realRows)
        case 14:
            return .recordLocalGovernmentVote(RecordLocalGovernmentVote(
                agreementID: pick(Array(state.agreements.keys.sorted())), body: "Commission", votedOn: pick(Self.filed), motion: "m", tally: pick(["4-1", "3-2"])))
        default:
            return .renameAgency(RenameAgency(agencyID: pick(Self.agencies), newName: pick(["Tallahassee Police Dept.", "Leon Co. SO", "Key West PD", "New Name Agency"])))
        }
    }
}

@Suite struct PropertyTests {
    @Test func randomCommandSequencesKeepTheInvariants() async {
        var seen: [String: Int] = [:]  // event types produced, to show the generator reaches every stage
        await propertyCheck(count: 150, input: Gen.int(in: 0...Int(Int32.max)).array(of: 1...60)) { choices in
            var scenario = Scenario(boardSeedCommands() + realRows)
            var interpreter = CommandInterpreter()
            for n in choices {
                let command = interpreter.command(n, state: scenario.state)
                // parse(payload(c)) == c
                #expect(DomainCommand.parse(type: command.commandType, payload: command.payloadJSON()) == .success(command))
                guard case .success(let decision) = scenario.when(command) else { continue }
                interpreter.pendingTimers += decision.scheduled
                for (_, event) in decision.events { seen[event.eventType, default: 0] += 1 }
                for (_, event) in decision.events {
                    #expect((try? DomainEvent.decode(type: event.eventType, data: event.encodedData())) == event)
                }
                // evolve step by step
                scenario.state.apply(decision)
                scenario.log += decision.events
                checkInvariants(scenario)
            }
            // state rebuilt from all the events == state evolved step by step
            #expect(RegisterState.fold(scenario.log) == scenario.state)
        }
        for type in ["TerminationApproved", "TerminationDenied", "TerminationNoticeReceived", "AgreementTerminated", "TerminationRequestWithdrawn"] {
            #expect(seen[type, default: 0] > 0, "the generator never produced \(type)")
        }
        print("property test event counts:", seen.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }

    func checkInvariants(_ s: Scenario) {
        let state = s.state
        // No agreement is terminated without the Board's approval of a request for it.
        var approved: Set<UUID> = []
        for (_, event) in s.log {
            switch event {
            case .terminationApproved(let e): approved.insert(e.requestID)
            case .agreementTerminated(let e):
                #expect(approved.contains(e.requestID), "terminated without approval: \(e.agreementID)")
                #expect(state.requests[e.requestID]?.agreementID == e.agreementID)
            default: break
            }
        }
        for agreement in state.agreements.values where agreement.status == .terminated {
            let request = agreement.currentRequest ?? state.requests.values.first { $0.agreementID == agreement.id && $0.status == .effective }?.id
            #expect(request.flatMap { state.requests[$0] }?.votes.allSatisfy { $0.vote == .yes } == true)
        }
        // At most one open request per agreement (open: not withdrawn, denied or effective).
        var live: [AgreementID: Int] = [:]
        for request in state.requests.values where [.submitted, .underReview, .approved, .noticeServed].contains(request.status) {
            live[request.agreementID, default: 0] += 1
        }
        #expect(live.values.allSatisfy { $0 <= 1 })
        // s. 908.11(1): a mandatory agency never loses its last agreement.
        for id in [leonSO, escambiaSO, pascoBOCC] {
            #expect(state.agreements(of: id).contains { $0.status != .terminated })
        }
        // Status consistency between agreements and requests.
        for agreement in state.agreements.values {
            switch agreement.status {
            case .active, .terminated, .duplicate: #expect(agreement.status != .active || agreement.currentRequest == nil)
            case .terminationRequested:
                #expect(agreement.currentRequest.flatMap { state.requests[$0] }?.status.isOpen == true)
            case .terminationApproved:
                #expect(agreement.currentRequest.flatMap { state.requests[$0] }?.status == .approved)
            case .terminationPending:
                #expect(agreement.currentRequest.flatMap { state.requests[$0] }?.status == .noticeServed)
            }
        }
    }

    /// parse(payloadJSON(c)) == c over random field values, hostile strings included.
    @Test func payloadRoundTripWithRandomStrings() async {
        let alphabet: [Character] = Array("aZ09 '\"\\/;-–ñ🚓\n\t{}[]:,")
        let text = Gen<Character?>.element(of: alphabet).map { $0 ?? "a" }.string(of: 1...40)
        await propertyCheck(count: 200, input: text, text, Gen.int(in: 0...3_000_000)) { name, reason, day in
            guard AgencyID(name: name) != nil, !name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                  !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return }
            let date = d("1900-01-01").adding(days: day % 40_000)
            let commands: [DomainCommand] = [
                registration(name, signed: date.description),
                .submitTerminationRequest(SubmitTerminationRequest(requestID: UUID(), agencyID: agency(name), model: .jailEnforcement,
                                                                   reason: reason, localAuthorization: name, filedOn: date)),
                .recordLocalGovernmentVote(RecordLocalGovernmentVote(agreementID: AgreementID(agency: agency(name), model: .warrantServiceOfficer, signedOn: date),
                                                                     body: name, votedOn: date, motion: reason, tally: reason, sources: [name, reason])),
            ]
            // A name with a control or format character (newline, tab, ...) is refused (NameText);
            // every other value round-trips.
            let nameIsClean = NameText.forbiddenScalar(in: name) == nil
            for command in commands {
                let parsed = DomainCommand.parse(type: command.commandType, payload: command.payloadJSON())
                if nameIsClean || command.commandType == CommandType.submitTerminationRequest.rawValue {
                    #expect(parsed == .success(command))
                } else if case .failure(let rejection) = parsed {
                    #expect(rejection.code == "invalid_field_value")
                } else {
                    Issue.record("a name with a control character was accepted: \(command.commandType)")
                }
            }
        }
    }
}
