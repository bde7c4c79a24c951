import Foundation
import Testing
@testable import Workflow

func schedule(_ request: Int, _ meeting: String) -> DomainCommand {
    .scheduleReview(ScheduleReview(requestID: uuid(request), meetingDate: d(meeting)))
}

func vote(_ request: Int, _ meeting: String, _ votes: [BoardSeat: Ballot]) -> DomainCommand {
    .recordBoardVote(RecordBoardVote(requestID: uuid(request), meetingDate: d(meeting), votes: votes))
}

let allYes: [BoardSeat: Ballot] = [.governor: .yes, .attorneyGeneral: .yes, .chiefFinancialOfficer: .yes, .commissionerOfAgriculture: .yes]

@Suite struct BoardSeedTests {
    @Test func seedLoadsIntoTheBoard() {
        let commands = boardSeedCommands()
        #expect(commands.count == 7)
        let s = Scenario(commands)
        let board = s.state.board
        #expect(board.member(of: .governor, on: d("2025-02-13")) == "Ron DeSantis")
        #expect(board.member(of: .attorneyGeneral, on: d("2025-02-16")) == nil)
        #expect(board.member(of: .attorneyGeneral, on: d("2025-02-17")) == "James Uthmeier")
        #expect(board.member(of: .chiefFinancialOfficer, on: d("2025-03-31")) == "Jimmy Patronis")
        #expect(board.member(of: .chiefFinancialOfficer, on: d("2025-05-15")) == nil)
        #expect(board.member(of: .chiefFinancialOfficer, on: d("2025-08-20")) == "Blaise Ingoglia")
        #expect(board.member(of: .commissionerOfAgriculture, on: d("2025-08-20")) == "Wilton Simpson")
        #expect(board.member(of: .governor, on: d("2025-02-12")) == nil)
        // Corrected facts (issue 13): Patronis's resignation took effect 2025-03-31, so the
        // vacancy from 2025-04-01 is certain; Ingoglia was sworn in on 2025-07-21.
        #expect(board.entry(of: .chiefFinancialOfficer, on: d("2025-05-15"))?.dateUncertain == false)
        #expect(board.entry(of: .chiefFinancialOfficer, on: d("2025-05-15"))?.note?.contains("effective 2025-03-31") == true)
        #expect(board.member(of: .chiefFinancialOfficer, on: d("2025-07-20")) == nil)
        #expect(board.member(of: .chiefFinancialOfficer, on: d("2025-07-21")) == "Blaise Ingoglia")
        #expect(board.entry(of: .chiefFinancialOfficer, on: d("2025-07-21"))?.dateUncertain == false)
        #expect(board.entry(of: .chiefFinancialOfficer, on: d("2025-05-15"))?.sources.isEmpty == false)
        // Loading the seed again appends nothing.
        var again = s
        for command in commands { again.accept(command) }
        #expect(again.log.count == s.log.count)
    }

    @Test func badSeedNamesTheEntry() {
        let bad = Data(#"{"entries": [{"action": "fill", "seat": "governor", "member": "X", "effective_on": "2025-02-30"}]}"#.utf8)
        guard case .failure(let rejection) = BoardSeed.commands(from: bad) else { Issue.record("expected failure"); return }
        #expect(rejection.code == "invalid_date")
        #expect(rejection.field == "entries[0].effective_on")
        guard case .failure(let r2) = BoardSeed.commands(from: Data(#"{"entries": [{"action": "appoint"}]}"#.utf8)) else { return }
        #expect(r2.field == "entries[0].action")
        guard case .failure(let r3) = BoardSeed.commands(from: Data("[]".utf8)) else { return }
        #expect(r3.code == "malformed_payload")
    }
}

@Suite struct BoardSeatTests {
    /// Issue 13 follow-up: a seat change or correction may not change the seats in force on
    /// the date of a recorded Board decision (a request decided on 2025-08-20 with four votes).
    @Test func aSeatChangeMayNotContradictARecordedVote() {
        var s = Scenario(boardSeedCommands() + realRows + [submit(1, tallahasseePD, filed: "2025-08-01"), schedule(1, "2025-08-20")])
        s.accept(vote(1, "2025-08-20", [.governor: .yes, .attorneyGeneral: .yes, .chiefFinancialOfficer: .yes, .commissionerOfAgriculture: .yes]))
        #expect(s.state.requests[uuid(1)]?.status == .approved)
        // The tester's correction: Ingoglia's 07-21 entry moved to 07-18 under another name.
        let correction = DomainCommand.fillBoardSeat(FillBoardSeat(seat: .chiefFinancialOfficer, member: "Nobody", effectiveOn: d("2025-07-18"), replacesEntryOn: d("2025-07-21")))
        #expect(s.rejectionCode(correction) == "seat_change_contradicts_vote")
        // Vacating the seat before the meeting, or filling the vacant seat, changes the tally too.
        #expect(s.rejectionCode(.vacateBoardSeat(VacateBoardSeat(seat: .chiefFinancialOfficer, effectiveOn: d("2025-08-01")))) == "seat_change_contradicts_vote")
        // The same member on an earlier date leaves 08-20 unchanged; a change after the meeting is fine.
        #expect(s.rejectionCode(.fillBoardSeat(FillBoardSeat(seat: .chiefFinancialOfficer, member: "Blaise Ingoglia", effectiveOn: d("2025-07-18"), replacesEntryOn: d("2025-07-21")))) == nil)
        #expect(s.rejectionCode(.vacateBoardSeat(VacateBoardSeat(seat: .chiefFinancialOfficer, effectiveOn: d("2025-08-21")))) == nil)
        if case .failure(let r) = s.when(correction, today: "2026-06-30") {
            #expect(r.field == "replaces_entry_on" || r.field == "effective_on")
            #expect(r.message.contains("2025-08-20") && r.message.contains("s. 908.1031, F.S."))
        }
    }

    @Test func fillAndVacate() {
        var s = Scenario()
        let fill = DomainCommand.fillBoardSeat(FillBoardSeat(seat: .chiefFinancialOfficer, member: "Jimmy Patronis", effectiveOn: d("2025-02-13")))
        #expect(s.events(fill) == [.boardSeatFilled(BoardSeatChanged(seat: .chiefFinancialOfficer, member: "Jimmy Patronis",
                                                                    effectiveOn: d("2025-02-13"), dateUncertain: false, note: nil,
                                                                    sources: [], replacesEntryOn: nil))])
        s.accept(fill)
        #expect(s.events(fill) == [])  // identical: no-op
        #expect(s.rejectionCode(.fillBoardSeat(FillBoardSeat(seat: .chiefFinancialOfficer, member: "Jimmy Patronis", effectiveOn: d("2025-03-01")))) == "seat_already_filled")
        #expect(s.rejectionCode(.fillBoardSeat(FillBoardSeat(seat: .chiefFinancialOfficer, member: "Someone Else", effectiveOn: d("2025-02-13")))) == "seat_entry_conflict")
        let vacate = DomainCommand.vacateBoardSeat(VacateBoardSeat(seat: .chiefFinancialOfficer, effectiveOn: d("2025-04-01"), dateUncertain: true, note: "about then"))
        #expect(s.events(vacate) == [.boardSeatVacated(BoardSeatChanged(seat: .chiefFinancialOfficer, member: nil, effectiveOn: d("2025-04-01"),
                                                                       dateUncertain: true, note: "about then", sources: [], replacesEntryOn: nil))])
        s.accept(vacate)
        #expect(s.rejectionCode(.vacateBoardSeat(VacateBoardSeat(seat: .chiefFinancialOfficer, effectiveOn: d("2025-05-01")))) == "seat_already_vacant")
        // A correction is a new event: move the vacancy from 04-01 to 04-02.
        #expect(s.rejectionCode(.vacateBoardSeat(VacateBoardSeat(seat: .chiefFinancialOfficer, effectiveOn: d("2025-04-02"), replacesEntryOn: d("2025-03-30")))) == "seat_entry_not_found")
        s.accept(.vacateBoardSeat(VacateBoardSeat(seat: .chiefFinancialOfficer, effectiveOn: d("2025-04-02"), replacesEntryOn: d("2025-04-01"))))
        #expect(s.state.board.member(of: .chiefFinancialOfficer, on: d("2025-04-01")) == "Jimmy Patronis")
        #expect(s.state.board.member(of: .chiefFinancialOfficer, on: d("2025-04-02")) == nil)
        #expect(s.log.map(\.stream) == ["board", "board", "board"])
    }
}

@Suite struct ReviewAndVoteTests {
    let filed = realRows + [submit(1, tallahasseePD, filed: "2025-08-01")]

    @Test func scheduleReview() {
        var s = Scenario(boardSeedCommands() + filed)
        #expect(s.events(schedule(1, "2025-08-20")) == [.reviewScheduled(ReviewScheduled(
            requestID: uuid(1), agreementID: tallahasseeTFM, meetingDate: d("2025-08-20"), previousMeetingDate: nil,
            scheduledOn: d("2025-08-01")))])  // no scheduled_on given: the latest legal date on the agreement's clock
        s.accept(schedule(1, "2025-08-20"))
        #expect(s.state.requests[uuid(1)]?.status == .underReview)
        #expect(s.events(schedule(1, "2025-08-20")) == [])
        #expect(s.events(schedule(1, "2025-09-10")) == [.reviewScheduled(ReviewScheduled(
            requestID: uuid(1), agreementID: tallahasseeTFM, meetingDate: d("2025-09-10"), previousMeetingDate: d("2025-08-20"),
            scheduledOn: d("2025-08-01")))])
        #expect(s.rejectionCode(schedule(2, "2025-08-20")) == "request_not_found")
        #expect(s.rejectionCode(schedule(1, "2025-07-31")) == "date_before_submission")
    }

    /// Seed case: Tallahassee PD's request needs a scheduled review and a unanimous vote;
    /// 3 yes and 1 no is a denial naming who voted how.
    @Test func tallahasseeThreeToOneIsDenied() {
        var s = Scenario(boardSeedCommands() + filed)
        let tally: [BoardSeat: Ballot] = [.governor: .yes, .attorneyGeneral: .yes, .chiefFinancialOfficer: .yes, .commissionerOfAgriculture: .no]
        #expect(s.rejectionCode(vote(1, "2025-08-20", tally)) == "review_not_scheduled")
        s.accept(schedule(1, "2025-08-20"))
        #expect(s.rejectionCode(vote(1, "2025-08-21", tally)) == "meeting_mismatch")
        #expect(s.rejectionCode(vote(1, "2025-08-20", tally), today: "2025-08-19") == "date_in_future")
        let votes = [SeatVote(seat: .governor, member: "Ron DeSantis", vote: .yes),
                     SeatVote(seat: .attorneyGeneral, member: "James Uthmeier", vote: .yes),
                     SeatVote(seat: .chiefFinancialOfficer, member: "Blaise Ingoglia", vote: .yes),
                     SeatVote(seat: .commissionerOfAgriculture, member: "Wilton Simpson", vote: .no)]
        let decided = TerminationDecided(requestID: uuid(1), agreementID: tallahasseeTFM, decidedOn: d("2025-08-20"), votes: votes)
        #expect(s.events(vote(1, "2025-08-20", tally)) == [
            .boardVoteRecorded(BoardVoteRecorded(requestID: uuid(1), agreementID: tallahasseeTFM, meetingDate: d("2025-08-20"), tally: votes, vacantSeats: [])),
            .terminationDenied(decided),
        ])
        #expect(decided.members(voting: .no) == ["Wilton Simpson"])
        s.accept(vote(1, "2025-08-20", tally))
        #expect(s.state.requests[uuid(1)]?.status == .denied)
        #expect(s.state.agreements[tallahasseeTFM]?.status == .active)
        #expect(s.rejectionCode(vote(1, "2025-08-20", allYes)) == "request_not_open")
        #expect(s.rejectionCode(schedule(1, "2025-09-10")) == "request_not_open")
        // A denied request no longer blocks a new one.
        #expect(s.rejectionCode(submit(2, tallahasseePD, filed: "2025-08-21")) == nil)
    }

    @Test func abstentionOrAbsenceIsADenial() {
        var s = Scenario(boardSeedCommands() + filed + [schedule(1, "2025-08-20")])
        var tally = allYes
        tally[.attorneyGeneral] = .abstain
        #expect(s.events(vote(1, "2025-08-20", tally))?.last.map { if case .terminationDenied = $0 { true } else { false } } == true)
        tally[.attorneyGeneral] = .absent
        s.accept(vote(1, "2025-08-20", tally))
        #expect(s.state.requests[uuid(1)]?.status == .denied)
    }

    /// Seed case: with the CFO seat vacant, a yes from each of the three sitting members approves.
    @Test func approvedWithTheCFOSeatVacant() {
        var s = Scenario(boardSeedCommands() + realRows + [submit(1, tallahasseePD, filed: "2025-05-01"), schedule(1, "2025-05-15")])
        let three: [BoardSeat: Ballot] = [.governor: .yes, .attorneyGeneral: .yes, .commissionerOfAgriculture: .yes]
        let votes = [SeatVote(seat: .governor, member: "Ron DeSantis", vote: .yes),
                     SeatVote(seat: .attorneyGeneral, member: "James Uthmeier", vote: .yes),
                     SeatVote(seat: .commissionerOfAgriculture, member: "Wilton Simpson", vote: .yes)]
        #expect(s.events(vote(1, "2025-05-15", three)) == [
            .boardVoteRecorded(BoardVoteRecorded(requestID: uuid(1), agreementID: tallahasseeTFM, meetingDate: d("2025-05-15"),
                                                 tally: votes, vacantSeats: [.chiefFinancialOfficer])),
            .terminationApproved(TerminationDecided(requestID: uuid(1), agreementID: tallahasseeTFM, decidedOn: d("2025-05-15"), votes: votes)),
        ])
        // The vacant seat cannot vote; a sitting member cannot be left out.
        guard case .failure(let vacantVote) = s.when(vote(1, "2025-05-15", allYes)) else { Issue.record("expected rejection"); return }
        #expect(vacantVote.code == "invalid_tally")
        #expect(vacantVote.field == "votes.chief_financial_officer")
        #expect(s.rejectionCode(vote(1, "2025-05-15", [.governor: .yes, .attorneyGeneral: .yes])) == "invalid_tally")
        s.accept(vote(1, "2025-05-15", three))
        #expect(s.state.agreements[tallahasseeTFM]?.status == .terminationApproved)
        #expect(s.state.requests[uuid(1)]?.status == .approved)
        #expect(s.rejectionCode(submit(2, tallahasseePD, filed: "2025-05-20")) == "agreement_not_active")
    }

    @Test func noSittingMemberNoVote() {
        let s = Scenario(realRows + [submit(1, tallahasseePD), schedule(1, "2025-08-20")])
        #expect(s.rejectionCode(vote(1, "2025-08-20", [:])) == "invalid_tally")
    }

    @Test func voteOnWithdrawnRequestIsRejected() {
        var s = Scenario(boardSeedCommands() + filed + [schedule(1, "2025-08-20")])
        s.accept(.withdrawTerminationRequest(WithdrawTerminationRequest(requestID: uuid(1), agencyID: tallahasseePD, withdrawnOn: d("2025-08-10"))))
        #expect(s.rejectionCode(vote(1, "2025-08-20", allYes)) == "request_not_open")
    }
}
