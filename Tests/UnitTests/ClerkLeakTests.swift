import Foundation
import Testing
@testable import Workflow

/// Issue 11 item 5: an agency learns nothing about another agency's requests and agreements,
/// not even whether an id exists: the rejection (code, message, field) for another agency's
/// id is exactly the one for an id that does not exist.
@Suite struct ClerkLeakTests {
    func rejection(_ s: Scenario, _ command: DomainCommand) -> Rejection? {
        if case .failure(let rejection) = s.when(command) { return rejection }
        return nil
    }

    func withdrawal(_ request: Int, _ agency: AgencyID) -> DomainCommand {
        .withdrawTerminationRequest(WithdrawTerminationRequest(
            requestID: uuid(request), agencyID: agency, withdrawnOn: d("2025-08-05"), reason: "Changed course."))
    }

    @Test func withdrawingAnotherAgencysRequestLooksLikeAnUnknownID() throws {
        let s = Scenario(realRows + [submit(1, tallahasseePD)])
        // Same id, from the agency that does not own it, and an id nobody uses: same answer.
        let other = try #require(rejection(s, withdrawal(1, leonSO)))
        let unknown = try #require(rejection(Scenario(realRows), withdrawal(1, leonSO)))
        #expect(other == unknown)
        #expect(other.code == "request_not_found")
        #expect(!other.message.contains(tallahasseePD.slug))
        #expect(!other.message.contains("Tallahassee"))
    }

    @Test func noticeForAnotherAgencysRequestLooksLikeAnUnknownID() throws {
        let s = approvedScenario()
        let other = try #require(rejection(s, notice(2, leonSO, received: "2025-10-20")))
        let unknown = try #require(rejection(Scenario(boardSeedCommands() + realRows), notice(2, leonSO, received: "2025-10-20")))
        #expect(other == unknown)
        #expect(!other.message.contains(tallahasseePD.slug))
    }

    @Test func namingAnotherAgencysAgreementLooksLikeAnUnknownID() throws {
        let s = Scenario(realRows)
        let other = try #require(rejection(s, submit(1, tallahasseePD, agreement: leonTFM)))
        let unknownID = AgreementID(agency: leonSO, model: .taskForce, signedOn: d("2001-01-01"))
        let unknown = try #require(rejection(s, submit(1, tallahasseePD, agreement: unknownID)))
        #expect(other.code == unknown.code)
        #expect(other.code == "agreement_not_found")
        #expect(other.field == unknown.field)
        // The messages differ only by the id the clerk itself sent.
        #expect(other.message.replacingOccurrences(of: "\(leonTFM)", with: "ID")
                == unknown.message.replacingOccurrences(of: "\(unknownID)", with: "ID"))
    }
}
