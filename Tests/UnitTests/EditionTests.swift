import Foundation
import Testing
@testable import Workflow

/// Pure tests of edition reconciliation (issue 12): no database.
@Suite struct EditionReconcilerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let may = root.appendingPathComponent("data/ice-287g-participating-fl-2025-05-29.csv")
    static let july = root.appendingPathComponent("data/ice-287g-participating-fl-2025-07-18.csv")
    static let today = FloridaDate(iso: "2026-01-01")!

    /// Applies a plan's commands through `decide`, as the daemon would; every command must be accepted.
    static func apply(_ plan: EditionPlan, to state: inout RegisterState) throws {
        for command in plan.commands {
            let context = CommandContext(submittedBy: "registrar", commandID: UUID(), today: today)
            switch decide(command, state: state, context: context) {
            case .success(let decision): state.apply(decision)
            case .failure(let rejection): Issue.record("\(command.commandType) rejected: \(rejection)")
            }
        }
    }

    static func imported(_ urls: URL...) throws -> RegisterState {
        var state = RegisterState()
        for url in urls { try apply(EditionReconciler.reconcile(try IceImport.parse(contentsOf: url), state: state), to: &state) }
        return state
    }

    static func live(_ state: RegisterState) -> [Agreement] { state.agreements.values.filter(\.isLive) }

    @Test("May 29 then July 18: 7 renames, 2 holder changes, 2 date changes applied and 2 held for review, 311 live, St. Cloud ambiguous")
    func mayThenJuly() throws {
        var state = try Self.imported(Self.may)
        #expect(Self.live(state).count == 271)
        #expect(state.latestEdition == "2025-05-29")
        let plan = EditionReconciler.reconcile(try IceImport.parse(contentsOf: Self.july), state: state)
        #expect(plan.refusal == nil)
        #expect(plan.counts["renamed"] == 7)
        #expect(plan.counts["holder_changed"] == 2)
        // Of ICE's 4 date changes, 2 contradict the date in their own MOA file name (Melbourne Beach
        // `_05132025`, Panama City Beach `_02.26.2025`, both agreeing with May): held for review.
        #expect(plan.counts["redated"] == 2)
        #expect(plan.counts["needs_review"] == 2)
        let review = plan.items.filter { $0.kind == .needsReview }
        #expect(Set(review.map(\.agencyName)) == ["Melbourne Beach Police Department", "Panama City Beach Police Department"])
        #expect(review.allSatisfy { $0.needsDecision })
        #expect(review.first { $0.agencyName.hasPrefix("Melbourne") }?.evidence.first?.contains("dated 2025-05-13, which agrees with the register's 2025-05-13") == true)
        #expect(plan.counts["resigned"] == nil)
        #expect(plan.counts["new"] == 40)
        #expect(plan.counts["not_listed"] == 2)
        #expect(plan.counts["ambiguous"] == 1)
        #expect(plan.liveAfter == 311)
        let renamed = Set(plan.items.filter { $0.classes.contains(.renamed) }.map(\.agencyName))
        #expect(renamed == ["Boca Raton Police Services Department", "Miami Springs Police Department",
                            "Zephyrhills Police Department", "Fort Myers Police Department", "Indialantic Police Department",
                            "Lake Clarke Shores Police Department", "Palm Beach Police Department"])
        let holders = plan.items.filter { $0.classes.contains(.holderChanged) }.map(\.agreementID?.description)
        #expect(Set(holders) == ["escambia-county-sheriffs-office.wso.2025-02-26", "okaloosa-county-sheriffs-office.wso.2025-02-26"])
        let ambiguous = try #require(plan.items.first { $0.kind == .ambiguous })
        #expect(ambiguous.agreementID?.description == "city-of-st-cloud-police-department.tfm.2025-04-15")
        #expect(ambiguous.needsDecision)

        try Self.apply(plan, to: &state)
        #expect(Self.live(state).count == 311)
        #expect(state.latestEdition == "2025-07-18")
        let notListed = Self.live(state).filter { $0.notListedSince != nil }.map(\.id.description).sorted()
        #expect(notListed == ["city-of-st-cloud-police-department.tfm.2025-04-15",
                              "florida-fish-and-wildlife-conservation-commission.tfm.2025-02-14"])
        // One live agreement per (agency, model): ICE lists none twice.
        let keys = Self.live(state).map { "\($0.agencyID) \($0.model)" }
        #expect(Set(keys).count == keys.count)
        // Agency ids stay those of the first names; the jail agreement follows the county commission.
        let boca = try #require(state.agencies[AgencyID(name: "Boca Raton Police Department")!])
        #expect(boca.name == "Boca Raton Police Services Department")
        let escambiaSheriff = AgencyID(name: "Escambia County Sheriff's Office")!
        #expect(state.agreements(of: escambiaSheriff).filter(\.isLive).map(\.model) == [.taskForce])
        let board = AgencyID(name: "Escambia County Board of County Commissioners")!
        #expect(state.agreements(of: board).map(\.id.description) == ["escambia-county-sheriffs-office.wso.2025-02-26"])
        #expect(state.mandatoryReason(for: board) == .countyCommissionJail)
        #expect(state.mandatoryReason(for: escambiaSheriff) == .sheriffsOffice)
        let request = DomainCommand.submitTerminationRequest(SubmitTerminationRequest(
            requestID: UUID(), agencyID: escambiaSheriff, model: .taskForce, reason: "r", localAuthorization: "a",
            filedOn: FloridaDate(iso: "2025-08-01")!))
        let context = CommandContext(submittedBy: "clerk", commandID: UUID(), today: Self.today)
        #expect((try? decide(request, state: state, context: context).get()) == nil)
        if case .failure(let rejection) = decide(request, state: state, context: context) {
            #expect(rejection.code == "mandatory_agreement")
        }
        // Fellsmere: re-dated, same agreement id.
        let fellsmere = try #require(state.liveAgreement(of: AgencyID(name: "Fellsmere Police Department")!, model: .taskForce))
        #expect(fellsmere.signedOn == FloridaDate(iso: "2025-04-23"))
        #expect(fellsmere.firstEdition == "2025-05-29" && fellsmere.latestEdition == "2025-07-18")
        // Melbourne Beach and Panama City Beach: nothing applied, the register keeps May's dates.
        let melbourne = try #require(state.liveAgreement(of: AgencyID(name: "Melbourne Beach Police Department")!, model: .taskForce))
        #expect(melbourne.signedOn == FloridaDate(iso: "2025-05-13"))
        let panama = try #require(state.liveAgreement(of: AgencyID(name: "Panama City Beach Police Department")!, model: .taskForce))
        #expect(panama.signedOn == FloridaDate(iso: "2025-02-26"))

        // The registrar resolves St. Cloud: 310 live.
        let mark = DomainCommand.markDuplicateAgreement(MarkDuplicateAgreement(
            agreementID: AgreementID("city-of-st-cloud-police-department.tfm.2025-04-15")!,
            duplicateOf: AgreementID("st-cloud-police-department.tfm.2025-04-14")!, edition: FloridaDate(iso: "2025-07-18")!))
        state.apply(try decide(mark, state: state, context: context).get())
        #expect(Self.live(state).count == 310)

        // The same edition again: nothing to do.
        let again = EditionReconciler.reconcile(try IceImport.parse(contentsOf: Self.july), state: state)
        #expect(again.alreadyImported && again.commands.isEmpty)
    }

    @Test("July then May: refused, nothing to apply; decide refuses an older edition's rows too")
    func julyThenMay() throws {
        let state = try Self.imported(Self.july)
        let plan = EditionReconciler.reconcile(try IceImport.parse(contentsOf: Self.may), state: state)
        #expect(plan.refusal?.contains("older than 2025-07-18") == true)
        #expect(plan.commands.isEmpty)
        let row = try IceImport.parse(contentsOf: Self.may).rows[0].agreement
        let context = CommandContext(submittedBy: "registrar", commandID: UUID(), today: Self.today)
        if case .failure(let rejection) = decide(.registerAgreement(row), state: state, context: context) {
            #expect(rejection.code == "edition_out_of_order")
        } else {
            Issue.record("an older edition's row was accepted")
        }
        let record = DomainCommand.recordEdition(RecordEdition(edition: FloridaDate(iso: "2025-05-29")!, sourceEdition: "2025-05-29", rows: 1))
        #expect((try? decide(record, state: state, context: context).get()) == nil)
    }

    /// A hand-made later edition exercising every class.
    static let header = "STATE,LAW ENFORCEMENT AGENCY,TYPE,COUNTY,SUPPORT TYPE,SIGNED,MOA,ADDENDUM,MOA_URL (derived),ADDENDUM_URL (derived)"
    static func row(_ name: String, _ type: String = "Municipality", _ county: String = "#N/A", _ model: String = "Task Force Model",
                    signed: String, _ url: String = "") -> String {
        "FLORIDA,\(name),\(type),\(county),\(model),\(signed),\(url.isEmpty ? "link pending" : "link"),,\(url),"
    }

    @Test("a hand-made edition: every class, ICE's typos, a backslash-quote row")
    func everyClass() throws {
        let first = [Self.header,
            Self.row("Florida Department of Agriculture", "State Agency", "#N/A", "Task Force Model", signed: "2025-06-11", "https://x/agri_TFM.pdf"),
            Self.row("Alpha Police Department", signed: "2025-03-01", "https://x/alpha_0301.pdf"),
            Self.row("Beta Police Department", signed: "2025-03-02"),
            Self.row("Gamma Police Department", signed: "2025-03-03", "https://x/gamma_0303.pdf"),
            Self.row("Delta Police Department", signed: "2025-03-04"),
            Self.row("Epsilon Police Department", signed: "2025-03-05"),
            Self.row("Zeta County Sheriff's Office", "County", "Zeta County", "Task Force Model", signed: "2025-03-06"),
            Self.row("Zeta County Sheriff's Office", "County", "Zeta County", "Warrant Service Officer", signed: "2025-03-07", "https://x/zeta_wso.pdf"),
        ].joined(separator: "\r\n")
        var state = RegisterState()
        try Self.apply(EditionReconciler.reconcile(try IceImport.parse(csv: first, edition: "2025-07-01"), state: state), to: &state)
        // Epsilon stops being listed in 07-05, then comes back in 07-10.
        let second = [Self.header,
            Self.row("Florida Department of Agriculture", "State Agency", "#N/A", "Task Force Model", signed: "2025-06-11", "https://x/agri_TFM.pdf"),
            Self.row("Alpha Police Department", signed: "2025-03-01", "https://x/alpha_0301.pdf"),
            Self.row("Beta Police Department", signed: "2025-03-02"),
            Self.row("Gamma Police Department", signed: "2025-03-03", "https://x/gamma_0303.pdf"),
            Self.row("Delta Police Department", signed: "2025-03-04"),
            Self.row("Zeta County Sheriff's Office", "County", "Zeta County", "Task Force Model", signed: "2025-03-06"),
            Self.row("Zeta County Sheriff's Office", "County", "Zeta County", "Warrant Service Officer", signed: "2025-03-07", "https://x/zeta_wso.pdf"),
        ].joined(separator: "\r\n")
        try Self.apply(EditionReconciler.reconcile(try IceImport.parse(csv: second, edition: "2025-07-05"), state: state), to: &state)
        #expect(state.agreements.values.filter { $0.notListedSince == "2025-07-05" }.count == 1)

        let later = [Self.header,
            // rename changing every word, same MOA file
            Self.row("Office of Agricultural Law Enforcement", "State", "#NA", "Task Force Model", signed: "2025-06-11", "https://x/agri_TFM.pdf"),
            // re-signed: new date and new MOA file
            Self.row("Alpha Police Department", "Muncipality", "#N/A", "Task Force Model", signed: "2025-07-01", "https://x/alpha_0701.pdf"),
            // re-dated, MOA link now known
            Self.row("Beta Police Department", signed: "2025-03-09", "https://x/beta.pdf"),
            // Gamma dropped (not listed); Epsilon reappears
            Self.row("Epsilon Police Department", signed: "2025-03-05"),
            Self.row("Delta Police Department", signed: "2025-03-04"),
            // the WSO moves to the county commission (same file); the sheriff keeps its TFM
            Self.row("Zeta County Sheriff's Office", "County", "Zeta County", "Task Force Model", signed: "2025-03-06"),
            Self.row("Zeta County Board of County Commissioners", "County", "Zeta County", "Warrant Service Officer", signed: "2025-03-07", "https://x/zeta_wso.pdf"),
            // new
            Self.row("Omega Police Department", signed: "2025-07-02"),
            // a backslash before a quote: reported and skipped, the rest imported
            "FLORIDA,\"Quote \\\"Bad\\\" Police Department\",Municipality,#N/A,Task Force Model,2025-07-02,link pending,,,",
        ].joined(separator: "\r\n")
        let parsed = try IceImport.parse(csv: later, edition: "2025-07-10pm")
        #expect(parsed.report.skipped.map { "\($0.line) \($0.field)" } == ["10 *"])
        #expect(parsed.rows.count == 8)
        let plan = EditionReconciler.reconcile(parsed, state: state)
        #expect(plan.counts["renamed"] == 1)
        #expect(plan.counts["resigned"] == 1)
        #expect(plan.counts["redated"] == 1)
        #expect(plan.counts["holder_changed"] == 1)
        #expect(plan.counts["new"] == 1)
        #expect(plan.counts["not_listed"] == 1)
        #expect(plan.counts["listed_again"] == 1)
        #expect(plan.counts["details_changed"] == 1)  // Beta's MOA link
        try Self.apply(plan, to: &state)
        let agri = try #require(state.agencies[AgencyID(name: "Florida Department of Agriculture")!])
        #expect(agri.name == "Office of Agricultural Law Enforcement")
        let alpha = try #require(state.agreements[AgreementID("alpha-police-department.tfm.2025-03-01")!])
        #expect(alpha.signedOn == FloridaDate(iso: "2025-07-01") && alpha.moaURL == "https://x/alpha_0701.pdf")
        #expect(alpha.agencyType == .municipality)
        #expect(state.agreements[AgreementID("gamma-police-department.tfm.2025-03-03")!]?.notListedSince == "2025-07-10pm")
        #expect(state.agreements[AgreementID("epsilon-police-department.tfm.2025-03-05")!]?.notListedSince == nil)
        #expect(Self.live(state).count == 9)  // Gamma lives on, not listed

        // An edition without TYPE and COUNTY columns, with an empty MOA cell beside a known URL.
        let webTable = ["State,Law Enforcement Agency,Support Type,Signed,MOA,MOA_URL",
                        "Florida,Omega Police Department,Task Force Model,2025-07-02,,https://x/omega.pdf",
                        "Florida,Zeta County Sheriff's Office,Task Force Model,2025-03-06,,"].joined(separator: "\n")
        let web = try IceImport.parse(csv: webTable, edition: "2025-07-11")
        #expect(web.report.skipped.isEmpty && !web.hasTypeColumn && !web.hasCountyColumn)
        #expect(web.rows[0].agreement.moaURL == "https://x/omega.pdf")
        let webPlan = EditionReconciler.reconcile(web, state: state)
        #expect(webPlan.counts["details_changed"] == 1)  // Omega's MOA; no TYPE/COUNTY change from missing columns
        try Self.apply(webPlan, to: &state)
        let zeta = AgencyID(name: "Zeta County Sheriff's Office")!
        #expect(state.liveAgreement(of: zeta, model: .taskForce)?.county == "Zeta County")
        #expect(state.mandatoryReason(for: zeta) == .sheriffsOffice)
    }

    @Test("ICE's spellings: Muncipality, State, #NA")
    func spellings() {
        #expect(IceImport.agencyType(ofICE: "Muncipality") == .municipality)
        #expect(IceImport.agencyType(ofICE: "State") == .stateAgency)
        #expect(IceImport.agencyType(ofICE: " county ") == .county)
        #expect(IceImport.agencyType(ofICE: "Parish") == nil)
        #expect(IceImport.noCountySpellings.contains("#na"))
    }

    @Test("edition labels order as published")
    func labels() {
        #expect(EditionLabel.precedes("2025-07-18", "2025-07-18am"))
        #expect(EditionLabel.precedes("2025-07-18am", "2025-07-18pm"))
        #expect(EditionLabel.precedes("2025-07-18pm", "2025-07-19"))
        #expect(!EditionLabel.isValid("2025-02-30"))
    }
}

@Suite struct EditionMergeTests {
    @Test("two agencies listed under one new name: the first is renamed, the other's agreement changes holder")
    func twoAgenciesMerged() throws {
        let header = EditionReconcilerTests.header
        let first = [header,
                     EditionReconcilerTests.row("Alpha Police Department", signed: "2025-03-01", "https://x/alpha.pdf"),
                     EditionReconcilerTests.row("Alpha Jail Division", "County", "Alpha County", "Jail Enforcement Model",
                                                signed: "2025-03-02", "https://x/alpha_jem.pdf")].joined(separator: "\r\n")
        var state = RegisterState()
        try EditionReconcilerTests.apply(EditionReconciler.reconcile(try IceImport.parse(csv: first, edition: "2025-07-01"), state: state),
                                         to: &state)
        let merged = [header,
                      EditionReconcilerTests.row("Alpha Public Safety Department", signed: "2025-03-01", "https://x/alpha.pdf"),
                      EditionReconcilerTests.row("Alpha Public Safety Department", "County", "Alpha County", "Jail Enforcement Model",
                                                 signed: "2025-03-02", "https://x/alpha_jem.pdf")].joined(separator: "\r\n")
        let plan = EditionReconciler.reconcile(try IceImport.parse(csv: merged, edition: "2025-07-02"), state: state)
        #expect(plan.counts["renamed"] == 1 && plan.counts["holder_changed"] == 1)
        try EditionReconcilerTests.apply(plan, to: &state)
        let alpha = try #require(AgencyID(name: "Alpha Police Department"))
        #expect(state.agencies[alpha]?.name == "Alpha Public Safety Department")
        #expect(state.agreements(of: alpha).filter(\.isLive).map(\.model) == [.jailEnforcement, .taskForce])
        #expect(state.agreements.values.filter(\.isLive).count == 2)
    }
}
