import Foundation
import Testing
@testable import Workflow

/// A new user's trial of issues 12 and 13 (pure, no database): dates in MOA file names,
/// names with control, format and look-alike characters, edition-dated legal time.
@Suite struct EditionReviewTests {
    static let header = EditionReconcilerTests.header
    static func row(_ name: String, signed: String, _ url: String = "") -> String {
        EditionReconcilerTests.row(name, signed: signed, url)
    }
    static func parse(_ rows: [String], _ edition: String) throws -> IceImport.Parsed {
        try IceImport.parse(csv: ([header] + rows).joined(separator: "\r\n"), edition: edition)
    }
    static func imported(_ rows: [String], _ edition: String, into state: inout RegisterState) throws -> EditionPlan {
        let plan = EditionReconciler.reconcile(try parse(rows, edition), state: state)
        try EditionReconcilerTests.apply(plan, to: &state)
        return plan
    }

    @Test("dates in MOA file names: MMDDYYYY, MMDDYY, M.D.YYYY, year first; none in other digits")
    func moaFileDates() {
        func dates(_ url: String?) -> [String] { EditionReconciler.moaFileDates(url).map(\.description) }
        #expect(dates("https://www.ice.gov/doclib/287gMOA/MelbourneBeachPoliceDeptFL_TFM_MOA_05132025.pdf") == ["2025-05-13"])
        #expect(dates("https://x/BartowPDFL_TFM_MOA_042925.pdf") == ["2025-04-29"])
        #expect(dates("https://x/PanamaCityBeachPD_TFM_MOA_02.26.2025.pdf") == ["2025-02-26"])
        #expect(dates("https://x/moa_2025-05-13.pdf") == ["2025-05-13"])
        #expect(dates("https://x/moa_20250513.pdf") == ["2025-05-13"])
        #expect(dates("https://x/alpha_0301.pdf").isEmpty)
        #expect(dates("https://x/agri_TFM.pdf").isEmpty)
        #expect(dates("https://x/moa_13452025.pdf").isEmpty)  // not a date either way
        #expect(dates(nil).isEmpty)
    }

    @Test("a re-dating whose new SIGNED disagrees with its own MOA file's date is held for review; one that agrees is applied")
    func redatingAgainstTheFile() throws {
        var state = RegisterState()
        _ = try Self.imported([Self.row("Alpha Police Department", signed: "2025-05-13", "https://x/Alpha_TFM_MOA_05132025.pdf"),
                               Self.row("Beta Police Department", signed: "2025-04-24", "https://x/Beta_TFM_MOA_04232025.pdf"),
                               Self.row("Gamma Police Department", signed: "2025-03-01", "https://x/gamma.pdf")], "2025-05-29", into: &state)
        let plan = try Self.imported([Self.row("Alpha Police Department", signed: "2025-04-14", "https://x/Alpha_TFM_MOA_05132025.pdf"),
                                      Self.row("Beta Police Department", signed: "2025-04-23", "https://x/Beta_TFM_MOA_04232025.pdf"),
                                      Self.row("Gamma Police Department", signed: "2025-03-02", "https://x/gamma.pdf")], "2025-07-18", into: &state)
        #expect(plan.counts["needs_review"] == 1 && plan.counts["redated"] == 2)
        let review = try #require(plan.items.first { $0.kind == .needsReview })
        #expect(review.agencyName == "Alpha Police Department" && review.needsDecision)
        #expect(review.evidence[0].contains("alpha_tfm_moa_05132025.pdf") && review.evidence[0].contains("dated 2025-05-13"))
        #expect(plan.liveAfter == 3)
        #expect(state.liveAgreement(of: AgencyID(name: "Alpha Police Department")!, model: .taskForce)?.signedOn == FloridaDate(iso: "2025-05-13"))
        #expect(state.liveAgreement(of: AgencyID(name: "Beta Police Department")!, model: .taskForce)?.signedOn == FloridaDate(iso: "2025-04-23"))
        #expect(state.liveAgreement(of: AgencyID(name: "Gamma Police Department")!, model: .taskForce)?.signedOn == FloridaDate(iso: "2025-03-02"))
        // Still listed: not "not listed", and no command names it.
        #expect(state.liveAgreement(of: AgencyID(name: "Alpha Police Department")!, model: .taskForce)?.notListedSince == nil)
    }

    @Test("control and format characters in names: each row skipped with its line and an escaped value; NUL never echoed")
    func controlAndFormatCharacters() throws {
        let rows = [
            "FLORIDA,\"Tallahassee Police\nDepartment\",Municipality,#N/A,Task Force Model,2025-03-01,link,,https://x/a.pdf,",
            "FLORIDA,\u{202E}tnemtrapeD eciloP\u{202C} Evil,Municipality,#N/A,Task Force Model,2025-03-01,link,,,",
            "FLORIDA,Zero width\u{200B}PD,Municipality,#N/A,Task Force Model,2025-03-01,link,,,",
            "FLORIDA,Nul\u{0}PD,Municipality,#N/A,Task Force Model,2025-03-01,link,,,",
            "FLORIDA,Good Police Department,Municipality,#N/A,Task Force Model,2025-03-01,link,,,",
        ]
        let parsed = try Self.parse(rows, "2025-07-18")
        #expect(parsed.rows.map(\.agreement.agencyName) == ["Good Police Department"])
        #expect(parsed.report.skipped.count == 4)
        for skip in parsed.report.skipped {
            #expect(skip.field == "LAW ENFORCEMENT AGENCY", "\(skip)")
            let text = skip.value + skip.reason
            #expect(!text.unicodeScalars.contains { NameText.isForbidden($0) }, "raw control or format character in \(skip)")
        }
        #expect(parsed.report.skipped[0].value == "Tallahassee Police\\u{A}Department")
        #expect(parsed.report.skipped[0].reason.contains("U+000A"))
        #expect(parsed.report.skipped[1].reason.contains("U+202E"))
        #expect(parsed.report.skipped[2].reason.contains("U+200B"))
        #expect(parsed.report.skipped[3].value == "Nul\\u{0}PD")
    }

    @Test("the daemon's validation refuses Cc and Cf in every name field, naming the code point, never echoing it")
    func payloadNames() {
        let cases: [(String, String)] = [
            ("register_agreement", #"{"agency_name":"Ok\u202e PD","agency_type":"Municipality","model":"TFM","signed_on":"2025-03-01","source_edition":"2025-07-18"}"#),
            ("register_agreement", #"{"agency_name":"Ok PD","county":"Leon\u200b","agency_type":"Municipality","model":"TFM","signed_on":"2025-03-01","source_edition":"2025-07-18"}"#),
            ("rename_agency", #"{"agency_id":"ok-pd","new_name":"Ok\nPD"}"#),
            ("change_agreement_holder", #"{"agreement_id":"ok-pd.tfm.2025-03-01","agency_name":"Ok\u2066PD","edition":"2025-07-18"}"#),
            ("fill_board_seat", #"{"seat":"governor","member":"A\u00adB","effective_on":"2025-01-07"}"#),
            ("record_local_government_vote", #"{"agreement_id":"ok-pd.tfm.2025-03-01","body":"City\tCommission","voted_on":"2025-03-01","motion":"m","tally":"3-2"}"#),
        ]
        for (type, payload) in cases {
            guard case .failure(let rejection) = DomainCommand.parse(type: type, payload: Data(payload.utf8)) else {
                Issue.record("\(type) accepted \(payload)"); continue
            }
            #expect(rejection.code == "invalid_field_value", "\(type)")
            #expect(rejection.message.contains("U+") && rejection.message.contains("control or format character"), "\(rejection.message)")
            #expect(!rejection.message.unicodeScalars.contains { NameText.isForbidden($0) }, "\(rejection.message)")
        }
    }

    @Test("a Cyrillic look-alike or a near-duplicate slug goes to needs_review, never a second agency")
    func lookAlikes() throws {
        #expect(NameText.mixesScripts("Tallahassee Police D\u{0435}partment"))
        #expect(!NameText.mixesScripts("Tallahassee Police Department"))
        #expect(NameText.skeleton(of: "Tallahassee Police D\u{0435}partment") == "tallahassee-police-department")
        #expect(AgencyID.slug(of: "Tallahassee Police D\u{0435}partment") == "tallahassee-police-d-partment")
        #expect(NameText.differsOnlyByReplacedCharacters("tallahassee-police-d-partment", "tallahassee-police-department"))
        #expect(!NameText.differsOnlyByReplacedCharacters("tallahassee-police-department", "tallahassee-police-d-partment"))
        #expect(!NameText.differsOnlyByReplacedCharacters("tallahassee-police-department", "tallahassee-police-departmenu"))
        #expect(NameText.escaped("a\u{202E}b\\c\n") == "a\\u{202E}b\\\\c\\u{A}")

        var state = RegisterState()
        _ = try Self.imported([Self.row("Tallahassee Police Department", signed: "2025-03-01", "https://x/tpd.pdf")], "2025-05-29", into: &state)
        let plan = try Self.imported([Self.row("Tallahassee Police Department", signed: "2025-03-01", "https://x/tpd.pdf"),
                                      Self.row("Tallahassee Police D\u{0435}partment", signed: "2025-03-02", "https://x/tpd2.pdf"),
                                      EditionReconcilerTests.row("Tallahassee Police D\u{00E9}partment", "Municipality", "#N/A",
                                                                 "Warrant Service Officer", signed: "2025-03-02", "https://x/tpd3.pdf")],
                                     "2025-07-18", into: &state)
        let review = plan.items.filter { $0.kind == .needsReview }
        #expect(review.count == 2 && review.allSatisfy { $0.needsDecision })
        #expect(review[0].evidence.contains { $0.contains("U+0435") })
        #expect(review[0].evidence.contains { $0.contains("tallahassee-police-department") })
        #expect(plan.counts["new"] == nil)
        #expect(state.agencies.count == 1)
        #expect(plan.liveAfter == 1)

        // In the register's first edition too: compared with the other rows.
        var fresh = RegisterState()
        let first = try Self.imported([Self.row("Tallahassee Police Department", signed: "2025-03-01"),
                                       Self.row("Tallahassee Police D\u{0435}partment", signed: "2025-03-02")], "2025-05-29", into: &fresh)
        #expect(first.counts["needs_review"] == 1 && first.counts["new"] == 1)
        #expect(fresh.agencies.count == 1)
    }

    @Test("edition-derived events are dated by their edition (or their clock when later): a reader's rule, old events too")
    func editionDates() throws {
        var state = RegisterState()
        _ = try Self.imported([Self.row("Ft. Myers Police Department", signed: "2025-02-26", "https://x/fm.pdf")], "2025-05-29", into: &state)
        let id = try #require(AgencyID(name: "Ft. Myers Police Department"))
        // An AgencyRenamed as the daemon wrote it before this rule (same data): dated 2025-07-18, not 2025-02-26.
        let renamed = DomainEvent.agencyRenamed(AgencyRenamed(agencyID: id, oldName: "Ft. Myers Police Department",
                                                              newName: "Fort Myers Police Department", sourceEdition: "2025-07-18"))
        #expect(state.legalDate(of: renamed) == FloridaDate(iso: "2025-07-18"))
        let manual = DomainEvent.agencyRenamed(AgencyRenamed(agencyID: id, oldName: "Ft. Myers Police Department",
                                                             newName: "Fort Myers Police Department", sourceEdition: nil))
        #expect(state.legalDate(of: manual) == FloridaDate(iso: "2025-02-26"))
        // An edition earlier than the clock's latest date: the clock's date (monotone).
        let early = DomainEvent.agencyRenamed(AgencyRenamed(agencyID: id, oldName: "Ft. Myers Police Department",
                                                            newName: "Fort Myers Police Department", sourceEdition: "2025-01-01"))
        #expect(state.legalDate(of: early) == FloridaDate(iso: "2025-02-26"))
        _ = try Self.imported([Self.row("Fort Myers Police Department", signed: "2025-02-26", "https://x/fm2.pdf")], "2025-07-18", into: &state)
        let events = [(stream: "x", event: renamed)]
        #expect(RegisterState.fold(events, through: FloridaDate(iso: "2025-06-01")!).agencies.isEmpty)
    }
}
