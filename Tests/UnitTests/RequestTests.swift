import Foundation
import Testing
@testable import Workflow

let tallahasseePD = agency("Tallahassee Police Department")
let leonSO = agency("Leon County Sheriff's Office")
let escambiaSO = agency("Escambia County Sheriff's Office")
let pascoBOCC = agency("Pasco County Board of County Commissioners")
let tallahasseeTFM = AgreementID(agency: tallahasseePD, model: .taskForce, signedOn: d("2025-03-10"))
let leonTFM = AgreementID(agency: leonSO, model: .taskForce, signedOn: d("2025-02-26"))
let leonWSO = AgreementID(agency: leonSO, model: .warrantServiceOfficer, signedOn: d("2019-10-15"))

/// Real rows of ICE's list used by the rule tests.
let realRows: [DomainCommand] = [
    registration("Tallahassee Police Department", signed: "2025-03-10"),
    registration("Leon County Sheriff's Office", .county, county: "Leon County", .taskForce, signed: "2025-02-26"),
    registration("Leon County Sheriff's Office", .county, county: "Leon County", .warrantServiceOfficer, signed: "2019-10-15"),
    registration("Escambia County Sheriff's Office", .county, county: "Escambia County", .taskForce, signed: "2025-02-26"),
    registration("Escambia County Board of County Commissioners", .county, county: "Escambia County", .warrantServiceOfficer, signed: "2025-02-26"),
    registration("Pasco County Board of County Commissioners", .county, county: "Pasco County", .warrantServiceOfficer, signed: "2025-02-26"),
    registration("Key West Police Department", signed: "2025-03-05"),
    registration("Florida Department of Corrections", .stateAgency, .jailEnforcement, signed: "2020-08-21"),
]

func submit(_ request: Int, _ agency: AgencyID, _ model: Model = .taskForce, filed: String = "2025-08-01",
            agreement: AgreementID? = nil) -> DomainCommand {
    .submitTerminationRequest(SubmitTerminationRequest(
        requestID: uuid(request), agencyID: agency, model: model, agreementID: agreement,
        reason: "The city commission voted to end the agreement.", localAuthorization: "Resolution 2025-17, adopted 2025-07-30",
        filedOn: d(filed)))
}

@Suite struct SubmitRequestTests {
    @Test func acceptedRequestIsSubmitted() {
        let s = Scenario(realRows)
        #expect(s.events(submit(1, tallahasseePD)) == [.terminationRequestSubmitted(TerminationRequestSubmitted(
            requestID: uuid(1), agreementID: tallahasseeTFM, agencyID: tallahasseePD, model: .taskForce,
            reason: "The city commission voted to end the agreement.",
            localAuthorization: "Resolution 2025-17, adopted 2025-07-30", filedOn: d("2025-08-01"),
            policyEntries: ["mandatory-agreement.statute-text"]))])
        if case .success(let decision) = s.when(submit(1, tallahasseePD)) {
            #expect(decision.events.map(\.stream) == [StreamName.request(uuid(1))])
            #expect(decision.scheduled.isEmpty)
        }
        var after = s
        after.accept(submit(1, tallahasseePD))
        #expect(after.state.agreements[tallahasseeTFM]?.status == .terminationRequested)
        #expect(after.state.requests[uuid(1)]?.status == .submitted)
    }

    /// Seed case: South Miami Police Department holds no agreement.
    @Test func southMiamiHasNoAgreement() {
        let s = Scenario(realRows)
        guard case .failure(let rejection) = s.when(submit(1, agency("South Miami Police Department"))) else {
            Issue.record("expected a rejection"); return
        }
        #expect(rejection.code == "no_active_agreement")
        #expect(rejection.message.contains("s. 908.11"))
        #expect(rejection.field == "model")
    }

    @Test func noAgreementOfThatModel() {
        #expect(Scenario(realRows).rejectionCode(submit(1, tallahasseePD, .warrantServiceOfficer)) == "no_active_agreement")
    }

    /// Seed case: a sheriff's office asking to end its only agreement.
    @Test func sheriffsOnlyAgreementMustBeKept() {
        guard case .failure(let rejection) = Scenario(realRows).when(submit(1, escambiaSO)) else {
            Issue.record("expected a rejection"); return
        }
        #expect(rejection.code == "mandatory_agreement")
        #expect(rejection.message.hasPrefix("s. 908.11(1), F.S.: a sheriff must maintain a 287(g) agreement"))
    }

    @Test func aRenameDoesNotLiftTheDuty() {
        var s = Scenario(realRows)
        s.accept(.renameAgency(RenameAgency(agencyID: escambiaSO, newName: "Escambia County Law Enforcement")))
        #expect(s.rejectionCode(submit(1, escambiaSO)) == "mandatory_agreement")
    }

    @Test func countyCommissionRunningTheJailMustKeepIt() {
        #expect(Scenario(realRows).rejectionCode(submit(1, pascoBOCC, .warrantServiceOfficer)) == "mandatory_agreement")
    }

    @Test func stateAgencyMayRequest() {
        #expect(Scenario(realRows).rejectionCode(submit(1, agency("Florida Department of Corrections"), .jailEnforcement, filed: "2025-08-01")) == nil)
    }

    /// Seed case: a sheriff ending its TFM while keeping its WSO is accepted for review;
    /// then its WSO is its last active agreement.
    @Test func sheriffMayEndOneModelWhileKeepingAnother() {
        var s = Scenario(realRows)
        #expect(s.events(submit(1, leonSO, .taskForce))?.count == 1)
        s.accept(submit(1, leonSO, .taskForce))
        #expect(s.rejectionCode(submit(2, leonSO, .warrantServiceOfficer)) == "mandatory_agreement")
        // After a withdrawal, both are active again and either may be requested.
        s.accept(.withdrawTerminationRequest(WithdrawTerminationRequest(requestID: uuid(1), agencyID: leonSO, withdrawnOn: d("2025-08-02"))))
        #expect(s.rejectionCode(submit(2, leonSO, .warrantServiceOfficer)) == nil)
    }

    @Test func oneOpenRequestPerAgreement() {
        var s = Scenario(realRows)
        s.accept(submit(1, tallahasseePD))
        #expect(s.rejectionCode(submit(2, tallahasseePD)) == "request_already_open")
        #expect(s.rejectionCode(submit(2, tallahasseePD, agreement: tallahasseeTFM)) == "request_already_open")
        #expect(s.rejectionCode(submit(1, agency("Key West Police Department"))) == "request_id_taken")
    }

    @Test func explicitAgreementMustBeTheAgencys() {
        let s = Scenario(realRows)
        // Another agency's agreement is refused as an unknown one (issue 11 item 5; was agency_mismatch).
        #expect(s.rejectionCode(submit(1, tallahasseePD, agreement: leonTFM)) == "agreement_not_found")
        #expect(s.rejectionCode(submit(1, leonSO, .warrantServiceOfficer, agreement: leonTFM)) == "invalid_field_value")
        #expect(s.rejectionCode(submit(1, tallahasseePD, agreement: AgreementID(agency: tallahasseePD, model: .taskForce, signedOn: d("2025-01-01")))) == "agreement_not_found")
        #expect(s.rejectionCode(submit(1, tallahasseePD, agreement: tallahasseeTFM)) == nil)
    }

    @Test func filingDatesAreChecked() {
        let s = Scenario(realRows)
        #expect(s.rejectionCode(submit(1, tallahasseePD, filed: "2025-08-01"), today: "2025-07-31") == "date_in_future")
        #expect(s.rejectionCode(submit(1, tallahasseePD, filed: "2025-03-09")) == "date_before_signing")
    }
}

@Suite struct WithdrawTests {
    func withdraw(_ request: Int, _ agency: AgencyID = tallahasseePD, on date: String = "2025-08-05") -> DomainCommand {
        .withdrawTerminationRequest(WithdrawTerminationRequest(requestID: uuid(request), agencyID: agency, withdrawnOn: d(date), reason: "Council reversed"))
    }

    @Test func withdrawReturnsTheAgreementToActive() {
        var s = Scenario(realRows + [submit(1, tallahasseePD)])
        #expect(s.events(withdraw(1)) == [.terminationRequestWithdrawn(TerminationRequestWithdrawn(
            requestID: uuid(1), agreementID: tallahasseeTFM, withdrawnOn: d("2025-08-05"), reason: "Council reversed"))])
        s.accept(withdraw(1))
        #expect(s.state.agreements[tallahasseeTFM]?.status == .active)
        #expect(s.state.agreements[tallahasseeTFM]?.currentRequest == nil)
        #expect(s.state.requests[uuid(1)]?.status == .withdrawn)
        #expect(s.rejectionCode(withdraw(1)) == "request_not_open")
        // A new request may be filed from the withdrawal on; one dated before it would make
        // "as of" that date show two open requests at once (issue 13, rule 7).
        #expect(s.rejectionCode(submit(2, tallahasseePD, filed: "2025-08-05")) == nil)
        #expect(s.rejectionCode(submit(2, tallahasseePD)) == "legal_date_out_of_order")
    }

    @Test func withdrawRejections() {
        let s = Scenario(realRows + [submit(1, tallahasseePD)])
        #expect(s.rejectionCode(withdraw(2)) == "request_not_found")
        // Another agency's request is refused as an unknown one (issue 11 item 5; was agency_mismatch).
        #expect(s.rejectionCode(withdraw(1, leonSO)) == "request_not_found")
        #expect(s.rejectionCode(withdraw(1, on: "2025-07-31")) == "date_before_submission")
        #expect(s.rejectionCode(withdraw(1, on: "2025-08-05"), today: "2025-08-04") == "date_in_future")
    }

    @Test func underReviewMayBeWithdrawnButNotAfterDecision() {
        var s = Scenario(boardSeedCommands() + realRows + [submit(1, tallahasseePD), schedule(1, "2025-08-20")])
        #expect(s.rejectionCode(withdraw(1)) == nil)
        s.accept(vote(1, "2025-08-20", [.governor: .yes, .attorneyGeneral: .yes, .chiefFinancialOfficer: .no, .commissionerOfAgriculture: .yes]))
        #expect(s.rejectionCode(withdraw(1, on: "2025-08-21")) == "request_not_open")
    }
}
