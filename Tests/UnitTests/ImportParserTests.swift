import Foundation
import Testing
import Workflow

/// ICE's July 18, 2025 Florida list, as shipped in `data/`.
private let iceListURL = projectRoot.appendingPathComponent("data/ice-287g-participating-fl-2025-07-18.csv")

@Suite("ICE list parser")
struct ImportParserTests {
    @Test("the real file: 309 rows, 247 agencies, 67 sheriff's offices, ICE's values kept")
    func realFile() throws {
        let parsed = try IceImport.parse(contentsOf: iceListURL)
        let report = parsed.report
        #expect(report.edition == "2025-07-18")
        #expect(report.file == "ice-287g-participating-fl-2025-07-18.csv")
        #expect(report.rowsRead == 309)
        #expect(report.skipped == [])
        #expect(parsed.rows.count == 309)
        #expect(report.agencies == 247)
        #expect(report.sheriffsOffices == 67)
        #expect(report.byModel == ["TFM": 237, "WSO": 65, "JEM": 7])
        #expect(report.byType == ["Municipality": 143, "County": 142, "State Agency": 24])
        #expect(Set(parsed.rows.map(\.idempotencyKey)).count == 309)
        #expect(parsed.rows.map(\.line) == Array(2...310))

        let first = parsed.rows[0].agreement
        #expect(first == RegisterAgreement(
            agencyName: "Alachua County Sheriff's Office", agencyType: .county, county: "Alachua County",
            model: .taskForce, signedOn: try #require(FloridaDate(iso: "2025-02-26")),
            moaURL: "https://www.ice.gov/doclib/287gMOA/AlachuaCoSheriffsOfficeFL_TFM_MOA_02262025.pdf",
            sourceEdition: "2025-07-18"))
        let pending = try #require(parsed.rows.first { $0.agreement.agencyName == "Apopka Police Department" })
        #expect(pending.agreement.county == nil)  // #N/A
        #expect(pending.agreement.moaURL == nil)  // link pending
        #expect(parsed.rows.contains {
            $0.agreement.agencyName == "Florida Department of Highway Safety and Motor Vehicles, Division of Highway Patrol"
        })
        #expect(parsed.rows.contains { $0.agreement.agencyName == "Alachua Police Departent" })  // ICE's typo kept
        #expect(!parsed.rows.contains { row in
            ([row.agreement.agencyName, row.agreement.county ?? "", row.agreement.moaURL ?? ""]).contains { $0.contains("\r") }
        })
        // The payload is what the daemon parses back.
        let payload = try #require(parsed.rows.first?.payload)
        #expect(DomainCommand.parse(type: "register_agreement", payload: Data(payload.utf8))
            == .success(.registerAgreement(first)))
    }

    @Test("bad rows are named by line and field and skipped; the others are kept")
    func badRows() throws {
        let text = [
            "STATE,LAW ENFORCEMENT AGENCY,TYPE,COUNTY,SUPPORT TYPE,SIGNED,MOA,ADDENDUM,MOA_URL (derived)",
            "FLORIDA,\"Town of Example, Police Department\",Municipality,#N/A,Task Force Model,2025-03-01,link,,https://example.org/moa.pdf",
            "FLORIDA,Bad Date Police Department,Municipality,#N/A,Task Force Model,2025-02-30,link pending,,",
            "FLORIDA,\"Two\nLine Police Department\",Municipality,#N/A,Border Patrol Model,2025-03-01,link pending,,",
            "FLORIDA,Short Row Police Department,Municipality,#N/A,Task Force Model,2025-03-01",
            "",
            "FLORIDA,,County,Example County,Task Force Model,2025-03-01,link pending,,",
            "GEORGIA,Cobb County Sheriff's Office,County,Cobb County,Jail Enforcement Model,2025-03-01,link,,",
            "FLORIDA,Late Police Department,Municipality,#N/A,Task Force Model,2025-08-01,link pending,,",
            "FLORIDA,Town of Example Police Department,Municipality,#N/A,Task Force Model,2025-03-02,link pending,,",
            "FLORIDA,Fine Sheriff's Office,County,Fine County,Warrant Service Officer,2025-03-01,link pending,,",
        ].joined(separator: "\r\n")
        let parsed = try IceImport.parse(csv: text, edition: "2025-07-18")
        #expect(parsed.rows.map(\.line) == [2, 12])
        #expect(parsed.rows.map(\.agreement.agencyName) == ["Town of Example, Police Department", "Fine Sheriff's Office"])
        #expect(parsed.rows[0].agreement.moaURL == "https://example.org/moa.pdf")
        #expect(parsed.report.rowsRead == 9)
        #expect(parsed.report.skipped.map { "\($0.line) \($0.field)" } == [
            "3 SIGNED", "4 SUPPORT TYPE", "6 *", "8 LAW ENFORCEMENT AGENCY", "9 STATE", "10 SIGNED",
            "11 LAW ENFORCEMENT AGENCY",
        ])
        #expect(parsed.report.skipped[0].value == "2025-02-30")
        #expect(parsed.report.skipped[6].reason.contains("line 2"))
        #expect(parsed.report.agencies == 2)
        #expect(parsed.report.sheriffsOffices == 1)
    }

    @Test("file-level problems: edition, columns, quoting")
    func fileErrors() {
        #expect(IceImport.edition(fromFileName: "data/ice-287g-participating-fl-2025-07-18.csv") == "2025-07-18")
        #expect(IceImport.edition(fromFileName: "list-2025-07-18pm.csv") == "2025-07-18pm")
        #expect(IceImport.edition(fromFileName: "list.csv") == nil)
        #expect(IceImport.edition(fromFileName: "list-2025-02-30.csv") == nil)
        #expect(throws: ImportError.invalidEdition("July")) { try IceImport.parse(csv: "STATE\r\n", edition: "July") }
        #expect(throws: ImportError.missingColumns(["SIGNED", "MOA"])) {
            try IceImport.parse(csv: "STATE,LAW ENFORCEMENT AGENCY,TYPE,COUNTY,SUPPORT TYPE\r\n", edition: "2025-07-18")
        }
        #expect(throws: ImportError.self) {
            try IceImport.parse(csv: "STATE,\"LAW ENFORCEMENT\" AGENCY\r\n", edition: "2025-07-18")
        }
    }
}
