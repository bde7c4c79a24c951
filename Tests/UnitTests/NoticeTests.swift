import Foundation
import Testing
@testable import Workflow

func notice(_ request: Int, _ agency: AgencyID, received: String, served: String? = nil) -> DomainCommand {
    .recordTerminationNotice(RecordTerminationNotice(requestID: uuid(request), agencyID: agency,
                                                     servedOn: served.map(d), receivedOn: d(received)))
}

/// A sheriff ends its WSO (keeping its TFM) and Tallahassee PD its TFM, both approved on 2025-10-15.
func approvedScenario() -> Scenario {
    Scenario(boardSeedCommands() + realRows + [
        submit(1, leonSO, .warrantServiceOfficer, filed: "2025-10-01"), schedule(1, "2025-10-15"), vote(1, "2025-10-15", allYes),
        submit(2, tallahasseePD, .taskForce, filed: "2025-10-01"), schedule(2, "2025-10-15"), vote(2, "2025-10-15", allYes),
    ])
}

@Suite struct NoticeTests {
    /// WSO: notice received 2025-11-03 -> the agreement ends 2026-02-01 (90 days, MOA).
    @Test func wsoEndsNinetyDaysAfterReceipt() {
        var s = approvedScenario()
        guard case .success(let decision) = s.when(notice(1, leonSO, received: "2025-11-03", served: "2025-10-31"), today: "2025-11-04") else {
            Issue.record("expected acceptance"); return
        }
        #expect(decision.events.map(\.event) == [.terminationNoticeReceived(TerminationNoticeReceived(
            requestID: uuid(1), agreementID: leonWSO, model: .warrantServiceOfficer, servedOn: d("2025-10-31"),
            receivedOn: d("2025-11-03"), effectiveOn: d("2026-02-01"),
            policyEntries: ["approval-scope.reported-2025", "notice-effect.wso-moa"]))])
        let end = EndAgreement(agreementID: leonWSO, requestID: uuid(1), effectiveOn: d("2026-02-01"))
        #expect(decision.scheduled == [ScheduledCommand(command: .endAgreement(end), due: d("2026-02-01"))])
        s.accept(notice(1, leonSO, received: "2025-11-03", served: "2025-10-31"), today: "2025-11-04")
        #expect(s.state.agreements[leonWSO]?.status == .terminationPending)
        #expect(s.state.requests[uuid(1)]?.status == .noticeServed)
        #expect(s.rejectionCode(notice(1, leonSO, received: "2025-11-04"), today: "2025-11-05") == "notice_already_recorded")
        // The timer: not before its date; with the wrong date; then it ends on the scheduled date,
        // whatever day the daemon runs it.
        #expect(s.rejectionCode(.endAgreement(end), today: "2026-01-31") == "date_in_future")
        #expect(s.rejectionCode(.endAgreement(EndAgreement(agreementID: leonWSO, requestID: uuid(1), effectiveOn: d("2026-02-02"))), today: "2026-02-03") == "effective_date_mismatch")
        #expect(s.rejectionCode(.endAgreement(EndAgreement(agreementID: leonWSO, requestID: uuid(2), effectiveOn: d("2026-02-01")))) == "request_not_found")
        #expect(s.events(.endAgreement(end), today: "2026-02-03") == [.agreementTerminated(AgreementTerminated(
            agreementID: leonWSO, requestID: uuid(1), effectiveOn: d("2026-02-01")))])
        s.accept(.endAgreement(end), today: "2026-02-03")
        #expect(s.state.agreements[leonWSO]?.status == .terminated)
        #expect(s.state.agreements[leonWSO]?.terminatedOn == d("2026-02-01"))
        #expect(s.state.requests[uuid(1)]?.status == .effective)
        #expect(s.rejectionCode(.endAgreement(end)) == "agreement_terminated")
        // Terminated is final.
        #expect(s.rejectionCode(submit(3, leonSO, .warrantServiceOfficer, agreement: leonWSO)) == "agreement_terminated")
        #expect(s.rejectionCode(submit(3, leonSO, .warrantServiceOfficer)) == "no_active_agreement")
        #expect(s.rejectionCode(.correctSignedDate(CorrectSignedDate(agreementID: leonWSO, signedOn: d("2019-10-16")))) == "agreement_terminated")
        // Leon keeps its TFM: it is now its last agreement.
        #expect(s.rejectionCode(submit(3, leonSO, .taskForce)) == "mandatory_agreement")
        // Re-importing the old row changes nothing; rejoining with a new signed date is a new agreement.
        #expect(s.events(registration("Leon County Sheriff's Office", .county, county: "Leon County", .warrantServiceOfficer, signed: "2019-10-15")) == [])
        #expect(s.events(registration("Leon County Sheriff's Office", .county, county: "Leon County", .warrantServiceOfficer, signed: "2026-03-01"), today: "2026-03-02")?.count == 1)
    }

    /// TFM (and JEM): the agreement ends on ICE's receipt, in the same decision.
    @Test func tfmEndsOnReceipt() {
        var s = approvedScenario()
        guard case .success(let decision) = s.when(notice(2, tallahasseePD, received: "2025-10-20")) else {
            Issue.record("expected acceptance"); return
        }
        #expect(decision.events.map(\.stream) == [StreamName.request(uuid(2)), StreamName.agreement(tallahasseeTFM)])
        #expect(decision.events.map(\.event) == [
            .terminationNoticeReceived(TerminationNoticeReceived(requestID: uuid(2), agreementID: tallahasseeTFM, model: .taskForce,
                                                                 servedOn: nil, receivedOn: d("2025-10-20"), effectiveOn: d("2025-10-20"),
                                                                 policyEntries: ["approval-scope.reported-2025", "notice-effect.tfm-jem-inferred"])),
            .agreementTerminated(AgreementTerminated(agreementID: tallahasseeTFM, requestID: uuid(2), effectiveOn: d("2025-10-20"))),
        ])
        #expect(decision.scheduled.isEmpty)
        s.accept(notice(2, tallahasseePD, received: "2025-10-20"))
        #expect(s.state.agreements[tallahasseeTFM]?.status == .terminated)
        #expect(s.state.requests[uuid(2)]?.status == .effective)
        #expect(s.rejectionCode(notice(2, tallahasseePD, received: "2025-10-21")) == "agreement_terminated")
    }

    @Test func noticeOnlyAfterApproval() {
        var s = Scenario(boardSeedCommands() + realRows + [submit(1, tallahasseePD, filed: "2025-10-01")])
        #expect(s.rejectionCode(notice(1, tallahasseePD, received: "2025-10-20")) == "not_approved")
        s.accept(schedule(1, "2025-10-15"))
        #expect(s.rejectionCode(notice(1, tallahasseePD, received: "2025-10-20")) == "not_approved")
        s.accept(vote(1, "2025-10-15", [.governor: .no, .attorneyGeneral: .yes, .chiefFinancialOfficer: .yes, .commissionerOfAgriculture: .yes]))
        guard case .failure(let denied) = s.when(notice(1, tallahasseePD, received: "2025-10-20")) else { Issue.record("expected rejection"); return }
        #expect(denied.code == "not_approved")
        #expect(denied.message.contains("s. 908.11"))
        #expect(s.state.agreements[tallahasseeTFM]?.status == .active)
    }

    @Test func noticeRejections() {
        var s = approvedScenario()
        #expect(s.rejectionCode(notice(9, tallahasseePD, received: "2025-10-20")) == "request_not_found")
        // Another agency's request is refused as an unknown one (issue 11 item 5; was agency_mismatch).
        #expect(s.rejectionCode(notice(2, leonSO, received: "2025-10-20")) == "request_not_found")
        #expect(s.rejectionCode(notice(2, tallahasseePD, received: "2025-10-14")) == "notice_before_approval")
        #expect(s.rejectionCode(notice(2, tallahasseePD, received: "2025-10-20", served: "2025-10-14")) == "notice_before_approval")
        #expect(s.rejectionCode(notice(2, tallahasseePD, received: "2025-10-20", served: "2025-10-21")) == "received_before_served")
        #expect(s.rejectionCode(notice(2, tallahasseePD, received: "2025-10-20"), today: "2025-10-19") == "date_in_future")
        #expect(s.rejectionCode(notice(2, tallahasseePD, received: "2025-10-15")) == nil)  // same day as approval is fine
        s = Scenario(boardSeedCommands() + realRows + [submit(1, tallahasseePD, filed: "2025-10-01")])
        s.accept(.withdrawTerminationRequest(WithdrawTerminationRequest(requestID: uuid(1), agencyID: tallahasseePD, withdrawnOn: d("2025-10-02"))))
        #expect(s.rejectionCode(notice(1, tallahasseePD, received: "2025-10-20")) == "request_not_open")
    }

    @Test func endAgreementWithoutApprovedNotice() {
        let s = approvedScenario()
        #expect(s.rejectionCode(.endAgreement(EndAgreement(agreementID: leonWSO, requestID: uuid(1), effectiveOn: d("2026-02-01")))) == "not_approved")
        #expect(s.rejectionCode(.endAgreement(EndAgreement(agreementID: AgreementID(agency: leonSO, model: .jailEnforcement, signedOn: d("2020-01-01")), requestID: uuid(1), effectiveOn: d("2026-02-01")))) == "agreement_not_found")
    }
}

@Suite struct LocalGovernmentVoteTests {
    let keyWest = AgreementID(agency: agency("Key West Police Department"), model: .taskForce, signedOn: d("2025-03-05"))

    /// Key West's commission declared its agreement void on 2025-06-30 and reversed on
    /// 2025-07-08; the agreement never ended (rule 8: an annotation only).
    @Test func keyWestVotesAreAnnotations() {
        var s = Scenario(realRows)
        let void = DomainCommand.recordLocalGovernmentVote(RecordLocalGovernmentVote(
            agreementID: keyWest, body: "Key West City Commission", votedOn: d("2025-06-30"),
            motion: "Declare the 287(g) agreement void", tally: "passed"))
        let reverse = DomainCommand.recordLocalGovernmentVote(RecordLocalGovernmentVote(
            agreementID: keyWest, body: "Key West City Commission", votedOn: d("2025-07-08"),
            motion: "Rescind the 2025-06-30 resolution", tally: "passed"))
        let before = s.state.agreements[keyWest]
        #expect(s.events(void) == [.localGovernmentVoteRecorded(LocalGovernmentVoteRecorded(
            agreementID: keyWest, body: "Key West City Commission", votedOn: d("2025-06-30"),
            motion: "Declare the 287(g) agreement void", tally: "passed", sources: []))])
        s.accept(void)
        s.accept(reverse)
        #expect(s.events(void) == [])
        #expect(s.state.agreements[keyWest]?.status == .active)
        #expect(s.state.agreements[keyWest]?.localVotes.count == 2)
        var stripped = s.state.agreements[keyWest]
        stripped?.localVotes = []
        #expect(stripped == before)
        #expect(s.log.suffix(2).map(\.stream) == [String](repeating: StreamName.agreement(keyWest), count: 2))
        #expect(s.rejectionCode(.recordLocalGovernmentVote(RecordLocalGovernmentVote(
            agreementID: keyWest, body: "X", votedOn: d("2027-01-01"), motion: "m", tally: "1-0"))) == "date_in_future")
        #expect(s.rejectionCode(.recordLocalGovernmentVote(RecordLocalGovernmentVote(
            agreementID: tallahasseeTFM.withDate("2020-01-01"), body: "X", votedOn: d("2025-01-01"), motion: "m", tally: "1-0"))) == "agreement_not_found")
    }
}

extension AgreementID {
    func withDate(_ iso: String) -> AgreementID { AgreementID(agency: agency, model: model, signedOn: d(iso)) }
}
