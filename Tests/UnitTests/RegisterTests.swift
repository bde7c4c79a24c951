import Foundation
import Testing
@testable import Workflow

@Suite struct RegisterTests {
    let tallahassee = AgreementID(agency: agency("Tallahassee Police Department"), model: .taskForce, signedOn: d("2025-03-10"))

    @Test func registerEmitsAgreementRegistered() {
        let events = Scenario().events(registration("Tallahassee Police Department", moa: "https://example.org/moa.pdf"))
        #expect(events == [.agreementRegistered(AgreementRegistered(
            agreementID: tallahassee, agencyID: agency("Tallahassee Police Department"),
            agencyName: "Tallahassee Police Department", agencyType: .municipality, county: nil, model: .taskForce,
            signedOn: d("2025-03-10"), moaURL: "https://example.org/moa.pdf", sourceEdition: "2025-07-18pm"))])
        if case .success(let decision) = Scenario().when(registration("Tallahassee Police Department")) {
            #expect(decision.events.map(\.stream) == ["agreement-tallahassee-police-department.tfm.2025-03-10"])
        }
    }

    @Test func reRegisteringIdenticalFactsIsANoOp() {
        let s = Scenario([registration("Tallahassee Police Department")])
        #expect(s.events(registration("Tallahassee Police Department")) == [])
    }

    @Test func newRawNameForSameAgencyIsARename() {
        let s = Scenario([registration("Ft. Myers PD", signed: "2025-05-16")])
        let events = s.events(registration("Fort Myers PD", signed: "2025-05-16", edition: "2025-08-01"))
        #expect(events == [.agencyRenamed(AgencyRenamed(agencyID: agency("Fort Myers Police Department"),
                                                        oldName: "Ft. Myers PD", newName: "Fort Myers PD",
                                                        sourceEdition: "2025-08-01"))])
        if case .success(let decision) = s.when(registration("Fort Myers PD", signed: "2025-05-16")) {
            #expect(decision.events.map(\.stream) == ["agency-fort-myers-police-department"])
        }
    }

    @Test func reDatedRowCorrectsTheSignedDate() {
        var s = Scenario([registration("Tallahassee Police Department")])
        let events = s.events(registration("Tallahassee Police Department", signed: "2025-03-12", edition: "2025-08-01"))
        #expect(events == [.signedDateCorrected(SignedDateCorrected(
            agreementID: tallahassee, oldSignedOn: d("2025-03-10"), signedOn: d("2025-03-12"),
            sourceEdition: "2025-08-01", note: "re-dated in ICE's list"))])
        s.accept(registration("Tallahassee Police Department", signed: "2025-03-12", edition: "2025-08-01"))
        #expect(s.state.agreements[tallahassee]?.signedOn == d("2025-03-12"))
        // Either edition again: nothing new.
        #expect(s.events(registration("Tallahassee Police Department", signed: "2025-03-12", edition: "2025-08-01")) == [])
        #expect(s.events(registration("Tallahassee Police Department")) == [])
        #expect(s.state.agreements.count == 1)
    }

    @Test func changedMoaLinkUpdatesDetails() {
        let s = Scenario([registration("Tallahassee Police Department")])
        #expect(s.events(registration("Tallahassee Police Department", moa: "https://example.org/m.pdf")) == [
            .agreementDetailsUpdated(AgreementDetailsUpdated(agreementID: tallahassee, agencyType: .municipality,
                                                             county: nil, moaURL: "https://example.org/m.pdf",
                                                             sourceEdition: "2025-07-18pm"))])
    }

    @Test func renameCommand() {
        var s = Scenario([registration("Miami Dade Sheriff's Office", .county, county: "Miami-Dade County", signed: "2025-02-26")])
        let id = agency("Miami Dade Sheriff's Office")
        #expect(s.rejectionCode(.renameAgency(RenameAgency(agencyID: agency("Nowhere PD"), newName: "X"))) == "agency_not_found")
        #expect(s.events(.renameAgency(RenameAgency(agencyID: id, newName: "Miami Dade Sheriff's Office"))) == [])
        s.accept(.renameAgency(RenameAgency(agencyID: id, newName: "Miami-Dade County Sheriff's Office")))
        #expect(s.state.agencies[id]?.name == "Miami-Dade County Sheriff's Office")
        #expect(s.state.agencies[id]?.formerNames == ["Miami Dade Sheriff's Office"])
        // A later import under the new name finds the same agency and agreement.
        #expect(s.events(registration("Miami-Dade County Sheriff's Office", .county, county: "Miami-Dade County", signed: "2025-02-26")) == [])
        s.accept(registration("Tampa Police Department", signed: "2025-02-28"))
        #expect(s.rejectionCode(.renameAgency(RenameAgency(agencyID: id, newName: "Tampa PD"))) == "agency_name_taken")
    }

    @Test func correctSignedDateCommand() {
        var s = Scenario([registration("Tallahassee Police Department")])
        #expect(s.rejectionCode(.correctSignedDate(CorrectSignedDate(agreementID: AgreementID(agency: agency("X"), model: .taskForce, signedOn: d("2025-01-01")), signedOn: d("2025-01-02")))) == "agreement_not_found")
        #expect(s.rejectionCode(.correctSignedDate(CorrectSignedDate(agreementID: tallahassee, signedOn: d("2030-01-01")))) == "date_in_future")
        #expect(s.events(.correctSignedDate(CorrectSignedDate(agreementID: tallahassee, signedOn: d("2025-03-10")))) == [])
        s.accept(.correctSignedDate(CorrectSignedDate(agreementID: tallahassee, signedOn: d("2025-03-11"), note: "typo")))
        #expect(s.state.agreements[tallahassee]?.signedOn == d("2025-03-11"))
        #expect(s.state.agreements[tallahassee]?.id == tallahassee)
    }

    @Test func registeringInTheFutureIsRejected() {
        #expect(Scenario().rejectionCode(registration("Tallahassee Police Department", signed: "2026-07-01")) == "date_in_future")
    }

    /// Issue 6's figures, through decide: 309 agreements, 247 agencies, 67 sheriff's offices;
    /// a second import appends nothing.
    @Test func realListImportsAndReimportsToNothing() {
        let s = importedRegister()
        #expect(s.state.agreements.count == 309)
        #expect(s.state.agencies.count == 247)
        #expect(s.log.count == 309)
        #expect(s.state.agencies.keys.filter { $0.slug.hasSuffix("sheriffs-office") }.count == 67)
        let models = s.state.agreements.values.map(\.model)
        #expect(models.filter { $0 == .taskForce }.count == 237)
        #expect(models.filter { $0 == .warrantServiceOfficer }.count == 65)
        #expect(models.filter { $0 == .jailEnforcement }.count == 7)
        var again = s
        for row in iceRows() { if let command = registration(row: row) { again.accept(command) } }
        #expect(again.log.count == s.log.count)
        #expect(again.state == s.state)
    }

    @Test func aRowMissingFromALaterEditionEndsNothing() {
        let s = importedRegister()
        // Nothing is decided for absent rows: every agreement stays active.
        #expect(s.state.agreements.values.allSatisfy { $0.status == .active })
    }
}
