import Foundation
import Testing
@testable import Workflow

@Suite struct FloridaDateTests {
    @Test func strictISO() {
        #expect(FloridaDate(iso: "2025-02-28")?.description == "2025-02-28")
        #expect(FloridaDate(iso: "2024-02-29") != nil)
        for bad in ["2025-02-30", "2025-02-29", "2025-2-3", "2025-13-01", "2025-00-10", "2025-01-00",
                    "2025-01-32", " 2025-01-01", "2025-01-01T00:00", "20250101", "2025/01/01", "", "0000-01-01", "２０２５-01-01"] {
            #expect(FloridaDate(iso: bad) == nil, "\(bad)")
        }
    }

    @Test func calendarArithmeticIgnoresTimeZones() {
        #expect(d("2025-11-03").adding(days: 90) == d("2026-02-01"))   // WSO: across the DST change of 2025-11-02
        #expect(d("2025-03-08").adding(days: 1) == d("2025-03-09"))    // spring forward
        #expect(d("2024-02-28").adding(days: 1) == d("2024-02-29"))
        #expect(d("2100-02-28").adding(days: 1) == d("2100-03-01"))
        #expect(d("2000-02-28").adding(days: 1) == d("2000-02-29"))
        #expect(d("2025-12-31").adding(days: 1) == d("2026-01-01"))
        #expect(d("2026-02-01").adding(days: -90) == d("2025-11-03"))
        #expect(d("2026-02-01").days(since: d("2025-11-03")) == 90)
        #expect(d("2025-01-09") < d("2025-01-10"))
        #expect(d("2025-01-31") < d("2025-02-01"))
    }

    @Test func startInstantIsEasternMidnight() {
        // EST (UTC-5) in January, EDT (UTC-4) in July.
        #expect(d("2025-01-15").startInstant == Date(timeIntervalSince1970: 1_736_917_200)) // 2025-01-15T05:00Z
        #expect(d("2025-07-15").startInstant == Date(timeIntervalSince1970: 1_752_552_000)) // 2025-07-15T04:00Z
        #expect(FloridaDate(floridaDateOf: Date(timeIntervalSince1970: 1_752_551_999)) == d("2025-07-14"))
        #expect(FloridaDate(floridaDateOf: d("2025-11-02").startInstant) == d("2025-11-02"))
    }

    @Test func codableAsString() throws {
        let data = try JSONEncoder().encode([d("2025-07-08")])
        #expect(String(decoding: data, as: UTF8.self) == "[\"2025-07-08\"]")
        #expect(try JSONDecoder().decode([FloridaDate].self, from: data) == [d("2025-07-08")])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([FloridaDate].self, from: Data("[\"2025-02-30\"]".utf8)) }
    }
}

@Suite struct IdentityTests {
    @Test func models() {
        #expect(Model(iceName: "Task Force Model") == .taskForce)
        #expect(Model(iceName: " warrant service officer ") == .warrantServiceOfficer)
        #expect(Model(iceName: "Jail Enforcement Model") == .jailEnforcement)
        #expect(Model(iceName: "TFM") == nil)
        #expect(Model(codeOrName: "wso") == .warrantServiceOfficer)
        #expect(Model.allCases.map(\.rawValue) == ["TFM", "WSO", "JEM"])
    }

    @Test func slugs() {
        #expect(AgencyID.slug(of: "Ft. Myers PD") == "fort-myers-police-department")
        #expect(AgencyID.slug(of: "Fort Myers Police Department") == "fort-myers-police-department")
        #expect(AgencyID.slug(of: "Fort Myers PD") == "fort-myers-police-department")
        #expect(AgencyID.slug(of: "Alachua County Sheriff's Office") == "alachua-county-sheriffs-office")
        #expect(AgencyID.slug(of: "Alachua Co. SO") == "alachua-county-sheriffs-office")
        #expect(AgencyID.slug(of: "Sewall’s Point Police Dept.") == "sewalls-point-police-department")
        #expect(AgencyID.slug(of: "Florida A&M University Board of Trustees") == "florida-a-and-m-university-board-of-trustees")
        #expect(AgencyID.slug(of: "Miami Dade Corrections and Rehabilitation") == AgencyID.slug(of: "Miami-Dade Corrections & Rehabilitation"))
        #expect(AgencyID.slug(of: "Florida Highway Patrol, Division of X") == "florida-highway-patrol-division-of-x")
        #expect(AgencyID.slug(of: "Policía de Peñón") == "policia-de-penon")
        #expect(AgencyID.slug(of: "Pasco BOCC") == "pasco-board-of-county-commissioners")
        #expect(AgencyID.slug(of: "'; DROP TABLE events; --") == "drop-table-events")
        #expect(AgencyID(name: "!!! ---") == nil)
        #expect(AgencyID(slug: "Bad Slug") == nil)
        #expect(AgencyID(slug: "a--b") == nil)
        #expect(AgencyID(slug: "-a") == nil)
    }

    @Test func agreementIDRoundTrip() {
        let id = AgreementID(agency: agency("Tallahassee Police Department"), model: .taskForce, signedOn: d("2025-03-10"))
        #expect(id.description == "tallahassee-police-department.tfm.2025-03-10")
        #expect(AgreementID(id.description) == id)
        #expect(AgreementID("tallahassee-police-department.TFM.2025-03-10") == nil)
        #expect(AgreementID("tallahassee-police-department.tfm.2025-02-30") == nil)
        #expect(AgreementID("tallahassee-police-department.tfm") == nil)
        #expect(AgreementID("a.b.tfm.2025-01-01") == nil)
    }

    @Test func streams() {
        let id = AgreementID(agency: agency("Key West Police Department"), model: .taskForce, signedOn: d("2025-03-05"))
        #expect(StreamName.agreement(id) == "agreement-key-west-police-department.tfm.2025-03-05")
        #expect(StreamName.category(of: StreamName.agreement(id)) == "agreement")
        let request = UUID(uuidString: "ABCDEF00-0000-4000-8000-000000000001") ?? UUID()
        #expect(StreamName.request(request) == "request-abcdef00-0000-4000-8000-000000000001")
        #expect(StreamName.category(of: StreamName.request(request)) == "request")
        #expect(StreamName.agency(agency("Key West PD")) == "agency-key-west-police-department")
        #expect(StreamName.category(of: StreamName.board) == "board")
    }
}

@Suite struct JurisdictionTests {
    /// s. 908.11(1), F.S., against every agency of ICE's real list.
    @Test func mandatoryAgenciesInTheRealList() {
        let rows = iceRows()
        #expect(rows.count == 309)
        var models: [String: [Model]] = [:]
        var types: [String: AgencyType] = [:]
        for row in rows {
            guard let name = row["LAW ENFORCEMENT AGENCY"], let model = row["SUPPORT TYPE"].flatMap(Model.init(iceName:)),
                  let type = row["TYPE"].flatMap(AgencyType.init(rawValue:)) else { continue }
            models[name, default: []].append(model)
            types[name] = type
        }
        #expect(models.count == 247)
        let mandatory = Set(models.keys.filter { name in
            mustKeepAgreement(agencyName: name, agencyType: types[name] ?? .municipality, models: models[name] ?? [])
        })
        let sheriffs = mandatory.filter { $0.contains("Sheriff") }
        #expect(sheriffs.count == 67)
        #expect(mandatory.subtracting(sheriffs) == [
            "Escambia County Board of County Commissioners", "Gulf County Board of County Commissioners",
            "Okaloosa County Board of County Commissioners", "Pasco County Board of County Commissioners",
            "Jackson County Correctional Facility", "Miami Dade Corrections and Rehabilitation",
            "Orange County Corrections Department", "Osceola County Corrections Department",
            "Volusia County Division of Corrections",
        ])
        #expect(mandatory.contains("Jacksonville Sheriff's Office"))
        #expect(!mandatory.contains("Florida Department of Corrections"))
        #expect(!mandatory.contains("Tallahassee Police Department"))
        #expect(!mandatory.contains("Lee County Port Authority Police"))
        #expect(!mandatory.contains("Alachua Police Departent"))
    }

    @Test func reasons() {
        #expect(mandatoryAgreementReason(agencyName: "Leon County Sheriff's Office", agencyType: .county, models: [.taskForce]) == .sheriffsOffice)
        #expect(mandatoryAgreementReason(agencyName: "Pasco County Board of County Commissioners", agencyType: .county, models: [.warrantServiceOfficer]) == .countyCommissionJail)
        // A county commission holding only a task-force agreement does not run the jail under it.
        #expect(mandatoryAgreementReason(agencyName: "Pasco County Board of County Commissioners", agencyType: .county, models: [.taskForce]) == nil)
        #expect(mandatoryAgreementReason(agencyName: "Orange County Corrections Department", agencyType: .county, models: [.warrantServiceOfficer]) == .countyCorrections)
        #expect(mandatoryAgreementReason(agencyName: "Florida Department of Corrections", agencyType: .stateAgency, models: [.jailEnforcement]) == nil)
        #expect(mandatoryAgreementReason(agencyName: "Miami-Dade SO", agencyType: .county, models: [.taskForce]) == .sheriffsOffice)
    }
}
