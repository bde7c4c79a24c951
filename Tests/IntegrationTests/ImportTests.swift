import Foundation
import Testing
import Workflow

/// ICE's July 18, 2025 Florida list, as shipped in `data/`.
let iceListURL = TestDatabase.root.appendingPathComponent("data/ice-287g-participating-fl-2025-07-18.csv")

/// The shipped file's text with `edit` applied line by line (CRLF kept); nil drops the line.
func editedIceList(_ edit: (String) -> String?) throws -> String {
    let text = try String(contentsOf: iceListURL, encoding: .utf8)
    return text.components(separatedBy: "\r\n").compactMap { $0.isEmpty ? $0 : edit($0) }.joined(separator: "\r\n")
}

/// Writes `text` to a fresh temporary file called `name` and returns its URL.
func temporaryFile(_ name: String, _ text: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sbie-import-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let url = folder.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url
}

/// Parses and submits a file, then lets the daemon's processor decide everything due.
func importAndDrain(_ db: Connection, _ url: URL, edition: String? = nil) async throws
    -> (ImportReport, CommandProcessor.BatchResult)
{
    let report = try await ImportSubmission.submitImport(try IceImport.parse(contentsOf: url, edition: edition), on: db)
    var processor = CommandProcessor()
    return (report, try await drain(&processor, db))
}

@Suite("ICE list import (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct ImportTests {
    @Test("the real file: 309 agreements, 247 agencies, 67 sheriff's offices; a second import changes nothing")
    func realFileTwice() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let started = ContinuousClock.now
            let report = try await ImportSubmission.submitImport(try IceImport.parse(contentsOf: iceListURL), on: db)
            let elapsed = ContinuousClock.now - started
            #expect(elapsed < .seconds(20), "a bound against a round trip per row, not a timing: parsing and submitting 309 rows took \(elapsed)")
            #expect(report.submitted == 309)
            #expect(report.alreadySubmitted == 0)
            #expect(report.rowsRead == report.imported + report.skipped.count)
            var processor = CommandProcessor()
            let result = try await drain(&processor, db)
            #expect(result == CommandProcessor.BatchResult(accepted: 309, eventsAppended: 309))

            func count(_ sql: String) async throws -> Int {
                try await db.query(sql).rows[0].decode(0)
            }
            #expect(try await count("SELECT count(*) FROM agreement_status WHERE state = 'active'") == 309)
            #expect(try await count("SELECT count(DISTINCT agency_id) FROM agreement_status") == 247)
            #expect(try await count(
                "SELECT count(DISTINCT agency_id) FROM agreement_status WHERE agency_id LIKE '%sheriffs-office%'") == 67)
            let byModel = try await db.query("SELECT model, count(*) FROM agreement_status GROUP BY model").rows
                .reduce(into: [String: Int]()) { $0[try $1.decode(0)] = try $1.decode(1) }
            #expect(byModel == ["TFM": 237, "WSO": 65, "JEM": 7])
            // Every row accounted for: one accepted command per row, each with its agreement.
            #expect(try await count("""
                SELECT count(*) FROM commands c JOIN agreement_status a
                  ON a.agency_name = c.payload ->> 'agency_name' AND a.model = c.payload ->> 'model'
                 AND a.signed_on = (c.payload ->> 'signed_on')::date
                WHERE c.status = 'accepted'
                """) == 309)
            let outcome = try await ImportSubmission.importOutcome(of: report.commandIDs, on: db)
            #expect(outcome.accepted == 309 && outcome.pending == 0 && outcome.refusals.isEmpty)
            #expect(outcome.eventsByType == ["AgreementRegistered": 309])

            let position = try await EventStore.lastPosition(on: db)
            let (again, second) = try await importAndDrain(db, iceListURL)
            #expect(again.submitted == 0)
            #expect(again.alreadySubmitted == 309)
            #expect(again.commandIDs == report.commandIDs)
            #expect(second.processed == 0)
            #expect(try await EventStore.lastPosition(on: db) == position)
            #expect(try await count("SELECT count(*) FROM commands") == 309)

            // Another edition of the same facts is new commands, but appends nothing either.
            let (sameFacts, third) = try await importAndDrain(db, iceListURL, edition: "2025-07-19")
            #expect(sameFacts.submitted == 309)
            #expect(third.accepted == 309 && third.eventsAppended == 0)
            #expect(try await EventStore.lastPosition(on: db) == position)
            #expect(try await ChainVerifier.verify(on: db).isIntact)
        }
    }

    @Test("a later edition with a renamed agency and a missing row: one rename, no termination")
    func laterEdition() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            _ = try await importAndDrain(db, iceListURL)
            let position = try await EventStore.lastPosition(on: db)

            // Alachua County Sheriff's Office holds two agreements (TFM, WSO); Tallahassee PD one.
            let later = try editedIceList { line in
                if line.hasPrefix("FLORIDA,Tallahassee Police Department,") { return nil }
                return line.replacingOccurrences(of: "FLORIDA,Alachua County Sheriff's Office,",
                                                 with: "FLORIDA,Alachua Co. Sheriff's Office,")
            }
            let url = try temporaryFile("ice-287g-participating-fl-2025-08-01.csv", later)
            let (report, result) = try await importAndDrain(db, url)
            #expect(report.edition == "2025-08-01")
            #expect(report.rowsRead == 308 && report.skipped.isEmpty)
            #expect(result.accepted == 308 && result.rejected == 0)

            let events = try await EventStore.readAll(after: position, on: db)
            #expect(events.map(\.type) == ["AgencyRenamed"])
            #expect(events.first?.streamID == "agency-alachua-county-sheriffs-office")
            #expect(events.first?.data.contains("Alachua Co. Sheriff's Office") == true)
            #expect(!events.contains { $0.type.contains("Terminat") || $0.type.contains("Ended") })
            let states = try await db.query("SELECT state, count(*) FROM agreement_status GROUP BY state").rows
                .map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: Int.self))" }
            #expect(states == ["active 309"])
            let tallahassee = try await db.query(
                "SELECT state FROM agreement_status WHERE agreement_id = 'tallahassee-police-department.tfm.2025-03-10'")
            #expect(try tallahassee.first?.decode(0, as: String.self) == "active")
            #expect(try await ChainVerifier.verify(on: db).isIntact)
        }
    }

    @Test("a CSV with broken rows: each named by line and field, the other rows are in, nothing of the bad ones")
    func brokenRows() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let broken = try editedIceList { line in
                if line.hasPrefix("FLORIDA,Apopka Police Department,") {
                    return line.replacingOccurrences(of: "2025-07-02", with: "2025-07-32")
                }
                if line.hasPrefix("FLORIDA,Tampa Police Department,") {
                    return line.replacingOccurrences(of: "Task Force Model", with: "Harbor Patrol Model")
                }
                if line.hasPrefix("FLORIDA,Naples Police Department,") { return "FLORIDA,Naples Police Department,Municipality" }
                return line
            }
            let lineOf = { (prefix: String) in
                (broken.components(separatedBy: "\r\n").firstIndex { $0.hasPrefix(prefix) } ?? -1) + 1
            }
            let url = try temporaryFile("ice-broken-2025-07-18.csv", broken)
            let report = try await ImportSubmission.submitImport(try IceImport.parse(contentsOf: url), on: db)
            // The daemon decides on its own connection while the importer waits (as `--wait` does).
            let daemon = Task {
                let other = try await Connection.connect(dsn)
                try await Task.sleep(for: .milliseconds(300))
                var processor = CommandProcessor()
                return try await drain(&processor, other)
            }
            let outcome = try await ImportSubmission.waitForImport(report.commandIDs, timeout: .seconds(60), on: db)
            let result = try await daemon.value
            #expect(outcome.pending == 0 && outcome.accepted == 306 && outcome.refusals.isEmpty)
            #expect(outcome.eventsAppended == 306 && outcome.eventsByType == ["AgreementRegistered": 306])
            #expect(report.rowsRead == 309)
            #expect(report.skipped.map { "\($0.line) \($0.field)" } == [
                "\(lineOf("FLORIDA,Apopka")) SIGNED", "\(lineOf("FLORIDA,Naples")) *", "\(lineOf("FLORIDA,Tampa")) SUPPORT TYPE",
            ])
            #expect(report.submitted == 306)
            #expect(result.accepted == 306 && result.rejected == 0)
            #expect(try await db.query("SELECT count(*) FROM agreement_status").rows[0].decode(0, as: Int.self) == 306)
            let leaked = try await db.query("""
                SELECT count(*) FROM commands WHERE payload ->> 'agency_name' IN
                  ('Apopka Police Department', 'Tampa Police Department', 'Naples Police Department')
                """)
            #expect(try leaked.rows[0].decode(0, as: Int.self) == 0)
        }
    }
}

/// ICE's May 29, 2025 Florida list, as shipped in `data/`.
let mayListURL = TestDatabase.root.appendingPathComponent("data/ice-287g-participating-fl-2025-05-29.csv")

@Suite("ICE editions, one after another (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct EditionImportTests {
    func importEdition(_ db: Connection, _ url: URL) async throws -> (ImportReport, EditionPlan, CommandProcessor.BatchResult) {
        let (report, plan) = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: url), on: db)
        var processor = CommandProcessor()
        return (report, plan, try await drain(&processor, db))
    }

    func checkLog(_ db: Connection) async throws {
        #expect(try await ChainVerifier.verify(on: db).isIntact)
        #expect(try await Projections.rebuild(checkOnly: true, on: db).matches)
    }

    @Test("May then July: renames, holder changes, re-dated rows, 311 live; St. Cloud resolved -> 310; Escambia TFM refused")
    func mayThenJuly() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let (may, _, first) = try await importEdition(db, mayListURL)
            #expect(may.submitted == 272 && first.rejected == 0)
            try await checkLog(db)
            // From here on the import reads the register from a snapshot plus the events after
            // it (Snapshots.fold), not from position 0: the plans below must be the same.
            var policy = Snapshots.Policy()
            policy.minimumInterval = 50
            policy.bytesPerEvent = Int.max
            while try await Snapshots.catchUp(policy: policy, on: db).written > 0 {}
            #expect(try await db.query("SELECT count(*)::int FROM register_snapshots").rows[0].decode(0, as: Int.self) > 0)

            // --plan appends and enqueues nothing.
            let position = try await EventStore.lastPosition(on: db)
            let commands: Int = try await db.query("SELECT count(*) FROM commands").rows[0].decode(0)
            let plan = try await ImportSubmission.planEdition(try IceImport.parse(contentsOf: iceListURL), on: db)
            #expect(plan.counts["renamed"] == 7 && plan.counts["holder_changed"] == 2 && plan.counts["redated"] == 2)
            #expect(plan.counts["needs_review"] == 2)
            #expect(try await EventStore.lastPosition(on: db) == position)
            #expect(try await db.query("SELECT count(*) FROM commands").rows[0].decode(0, as: Int.self) == commands)

            let (july, julyPlan, second) = try await importEdition(db, iceListURL)
            #expect(second.rejected == 0 && second.failed == 0)
            #expect(july.needsDecision?.count == 3)  // St. Cloud; Melbourne Beach and Panama City Beach re-dated against their MOA files
            #expect(julyPlan.liveAfter == 311)
            let events = try await EventStore.readAll(after: position, on: db)
            let byType = Dictionary(grouping: events, by: \.type).mapValues(\.count)
            #expect(byType["AgencyRenamed"] == 7)
            #expect(byType["AgreementHolderChanged"] == 2)
            #expect(byType["SignedDateCorrected"] == 2)
            #expect(byType["AgreementRegistered"] == 40)
            #expect(byType["AgreementNotListed"] == 2)
            #expect(byType["EditionRecorded"] == 1)
            func count(_ sql: String) async throws -> Int { try await db.query(sql).rows[0].decode(0) }
            #expect(try await count("SELECT count(*) FROM agreement_status WHERE state = 'active'") == 311)
            #expect(try await count("SELECT count(*) FROM agreement_status WHERE not_listed_since = '2025-07-18'") == 2)
            #expect(try await count("""
                SELECT count(*) FROM (SELECT agency_id, model FROM agreement_status WHERE state = 'active'
                GROUP BY 1, 2 HAVING count(*) > 1) d
                """) == 0)
            try await checkLog(db)

            // Legal time: ICE's July list is not true as of June. As of 2025-06-01 every agency and
            // agreement of the May import reads exactly as at the May import's last position (July's
            // renames, detail updates, corrections and holder changes are dated 2025-07-18).
            let atMay = try await PointInTime.register(asOf: .position(position), on: db).state
            let june = try await PointInTime.register(asOf: .endOf(try #require(FloridaDate(iso: "2025-06-01"))), on: db).state
            #expect(june.latestEdition == "2025-05-29")
            #expect(!atMay.agencies.isEmpty && !atMay.agreements.isEmpty)
            for (id, agency) in atMay.agencies where june.agencies[id] != agency {
                Issue.record("agency \(id) as of 2025-06-01: \(String(describing: june.agencies[id])), at May's position: \(agency)")
            }
            for (id, agreement) in atMay.agreements where june.agreements[id] != agreement {
                Issue.record("agreement \(id) as of 2025-06-01 differs from May's position")
            }
            let fortMyers = try #require(AgencyID(name: "Ft. Myers Police Department"))
            #expect(june.agencies[fortMyers]?.name == "Ft. Myers Police Department")
            // The stored occurred_at of July's renames is the edition's date.
            let renamedAt: [String] = try await db.query(
                "SELECT DISTINCT to_char(occurred_at AT TIME ZONE 'America/New_York', 'YYYY-MM-DD') FROM events WHERE event_type = 'AgencyRenamed' AND global_position > $1",
                [String(position)]).rows.map { try $0.decode(0) }
            #expect(renamedAt == ["2025-07-18"])

            // The same edition again, from this login: nothing enqueued.
            let (again, _) = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: iceListURL), on: db)
            #expect(again.alreadyImported == true && again.submitted == 0)

            // July then May: refused, nothing enqueued or appended.
            let before = try await EventStore.lastPosition(on: db)
            let (old, oldPlan) = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: mayListURL), on: db)
            #expect(oldPlan.refusal != nil && old.submitted == 0)
            #expect(try await EventStore.lastPosition(on: db) == before)

            // The registrar resolves St. Cloud: 310.
            let mark = DomainCommand.markDuplicateAgreement(MarkDuplicateAgreement(
                agreementID: try #require(AgreementID("city-of-st-cloud-police-department.tfm.2025-04-15")),
                duplicateOf: try #require(AgreementID("st-cloud-police-department.tfm.2025-04-14")),
                edition: try #require(FloridaDate(iso: "2025-07-18"))))
            _ = try await CommandQueue.submit(type: mark.commandType, payload: String(decoding: mark.payloadJSON(), as: UTF8.self),
                                           idempotencyKey: "mark-st-cloud", on: db)
            // The Escambia sheriff's TFM is its last agreement now: refused under s. 908.11(1).
            let request = DomainCommand.submitTerminationRequest(SubmitTerminationRequest(
                requestID: UUID(), agencyID: try #require(AgencyID(name: "Escambia County Sheriff's Office")), model: .taskForce,
                reason: "test", localAuthorization: "test", filedOn: try #require(FloridaDate(iso: "2025-08-01"))))
            let queued = try await CommandQueue.submit(type: request.commandType,
                                                    payload: String(decoding: request.payloadJSON(), as: UTF8.self),
                                                    idempotencyKey: "escambia-tfm", on: db)
            var processor = CommandProcessor()
            _ = try await drain(&processor, db)
            #expect(try await count("SELECT count(*) FROM agreement_status WHERE state = 'active'") == 310)
            #expect(try await CommandQueue.command(queued.commandID, on: db)?.errorCode == "mandatory_agreement")
            try await checkLog(db)
        }
    }
}

@Suite("ICE editions: logins, order and a hand-made edition (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct EditionLoginTests {
    @Test("the same edition from another login enqueues nothing; an older one is IE001 before the daemon ran; an auditor may not import")
    func sameEditionAnyLogin() async throws {
        try await SecurityFixture.with { f in
            let registrar = try await f.connect(f.registrar)
            let (first, _) = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: iceListURL), on: registrar)
            #expect(first.submitted == 310 && first.alreadyImported == false)
            // Not yet decided by the daemon: the claim, not the log, stops a second enqueue.
            let (second, _) = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: iceListURL), on: f.admin)
            #expect(second.alreadyImported == true && second.submitted == 0)
            let (third, _) = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: iceListURL), on: registrar)
            #expect(third.alreadyImported == true && third.submitted == 0)
            #expect(try await f.admin.query("SELECT count(*) FROM commands").rows[0].decode(0, as: Int.self) == 310)
            #expect(await sqlState { _ = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: mayListURL), on: registrar) } == "IE001")
            let auditor = try await f.connect(f.auditor)
            #expect(await sqlState { _ = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: iceListURL, edition: "2025-07-19"), on: auditor) } == "42501")
            #expect(try await f.admin.query("SELECT count(*) FROM commands").rows[0].decode(0, as: Int.self) == 310)
        }
    }

    static let header = "STATE,LAW ENFORCEMENT AGENCY,TYPE,COUNTY,SUPPORT TYPE,SIGNED,MOA,ADDENDUM,MOA_URL (derived),ADDENDUM_URL (derived)"
    static func row(_ name: String, _ type: String = "Municipality", _ county: String = "#N/A", _ model: String = "Task Force Model",
                    signed: String, _ url: String = "") -> String {
        "FLORIDA,\(name),\(type),\(county),\(model),\(signed),\(url.isEmpty ? "link pending" : "link"),,\(url),"
    }

    @Test("a hand-made sequence of editions: every class, with the expected events; verify and rebuild after each")
    func handMade() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            func importText(_ rows: [String], _ edition: String) async throws -> (ImportReport, [String: Int]) {
                let before = try await EventStore.lastPosition(on: db)
                let (report, _) = try await ImportSubmission.submitEdition(try IceImport.parse(csv: ([Self.header] + rows).joined(separator: "\r\n"),
                                                                              edition: edition), on: db)
                var processor = CommandProcessor()
                let result = try await drain(&processor, db)
                #expect(result.rejected == 0 && result.failed == 0)
                #expect(try await ChainVerifier.verify(on: db).isIntact)
                #expect(try await Projections.rebuild(checkOnly: true, on: db).matches)
                let events = try await EventStore.readAll(after: before, on: db)
                return (report, Dictionary(grouping: events, by: \.type).mapValues(\.count))
            }
            let agri = Self.row("Florida Department of Agriculture", "State Agency", signed: "2025-06-11", "https://x/agri_TFM.pdf")
            let alpha = Self.row("Alpha Police Department", signed: "2025-03-01", "https://x/alpha_0301.pdf")
            let beta = Self.row("Beta Police Department", signed: "2025-03-02")
            let gamma = Self.row("Gamma Police Department", signed: "2025-03-03", "https://x/gamma_0303.pdf")
            let epsilon = Self.row("Epsilon Police Department", signed: "2025-03-05")
            let sheriff = Self.row("Zeta County Sheriff's Office", "County", "Zeta County", signed: "2025-03-06")
            let jail = Self.row("Zeta County Sheriff's Office", "County", "Zeta County", "Warrant Service Officer",
                                signed: "2025-03-07", "https://x/zeta_wso.pdf")
            let town = Self.row("Town of Eta Police Department", signed: "2025-03-08")
            let eta = Self.row("Eta Police Department", signed: "2025-03-09", "https://x/eta.pdf")
            let (_, first) = try await importText([agri, alpha, beta, gamma, epsilon, sheriff, jail, town, eta], "2025-07-01")
            #expect(first == ["AgreementRegistered": 9, "EditionRecorded": 1])
            // Epsilon drops out; ICE merges the two Eta rows into one.
            let (_, second) = try await importText([agri, alpha, beta, gamma, sheriff, jail, eta], "2025-07-05")
            #expect(second == ["AgreementNotListed": 2, "EditionRecorded": 1])

            let (report, later) = try await importText([
                Self.row("Office of Agricultural Law Enforcement", "State", "#NA", signed: "2025-06-11", "https://x/agri_TFM.pdf"),
                Self.row("Alpha Police Department", "Muncipality", signed: "2025-07-01", "https://x/alpha_0701.pdf"),
                Self.row("Beta Police Department", signed: "2025-03-09", "https://x/beta.pdf"),
                epsilon, sheriff, eta,
                Self.row("Zeta County Board of County Commissioners", "County", "Zeta County", "Warrant Service Officer",
                         signed: "2025-03-07", "https://x/zeta_wso.pdf"),
                Self.row("Omega Police Department", signed: "2025-07-02"),
                "FLORIDA,\"Quote \\\"Bad\\\" Police Department\",Municipality,#N/A,Task Force Model,2025-07-02,link pending,,,",
            ], "2025-07-10")
            #expect(report.skipped.map { "\($0.line) \($0.field)" } == ["10 *"])
            #expect(report.classes?["renamed"] == 1 && report.classes?["resigned"] == 1 && report.classes?["redated"] == 1)
            #expect(report.classes?["holder_changed"] == 1 && report.classes?["listed_again"] == 1 && report.classes?["new"] == 1)
            #expect(report.needsDecision?.map(\.agreementID?.description) == ["town-of-eta-police-department.tfm.2025-03-08"])
            #expect(later == ["AgencyRenamed": 1, "AgreementResigned": 1, "SignedDateCorrected": 1, "AgreementDetailsUpdated": 1,
                              "AgreementHolderChanged": 1, "AgreementRegistered": 1, "AgreementNotListed": 1,
                              "AgreementListedAgain": 1, "EditionRecorded": 1])
            let gammaID = try #require(AgreementID("gamma-police-department.tfm.2025-03-03"))
            let gammaRow = try #require(try await ReadModels.agreementStatusRow(gammaID, on: db))
            #expect(gammaRow.state == "active" && gammaRow.notListedSince == "2025-07-10")
            #expect(gammaRow.firstEdition == "2025-07-01" && gammaRow.latestEdition == "2025-07-05")

            // No TYPE/COUNTY columns, an empty MOA cell beside a known URL.
            let web = ["State,Law Enforcement Agency,Support Type,Signed,MOA,MOA_URL",
                       "Florida,Omega Police Department,Task Force Model,2025-07-02,,https://x/omega.pdf"].joined(separator: "\n")
            let (webReport, _) = try await ImportSubmission.submitEdition(try IceImport.parse(csv: web, edition: "2025-07-11"), on: db)
            #expect(webReport.skipped.isEmpty && webReport.classes?["details_changed"] == 1)
            var processor = CommandProcessor()
            _ = try await drain(&processor, db)
            let omegaID = try #require(AgreementID("omega-police-department.tfm.2025-07-02"))
            let omega = try #require(try await ReadModels.agreementStatusRow(omegaID, on: db))
            #expect(omega.moaURL == "https://x/omega.pdf" && omega.agencyType == "Municipality")
            #expect(try await ChainVerifier.verify(on: db).isIntact)
            #expect(try await Projections.rebuild(checkOnly: true, on: db).matches)
        }
    }
}

@Suite("ICE editions: bad edition dates and names never block or slip in (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct EditionClaimAndNameTests {
    @Test("claim_edition refuses 2025-13-45 (22023) and a future edition (IE002); a claim whose record_edition was rejected blocks nothing")
    func badEditionDates() async throws {
        try await SecurityFixture.with { f in
            let registrar = try await f.connect(f.registrar)
            #expect(await sqlState { _ = try await registrar.query("SELECT claim_edition('2025-13-45', 0)") } == "22023")
            #expect(await sqlState { _ = try await registrar.query("SELECT claim_edition('2025-02-29', 0)") } == "22023")
            #expect(await sqlState { _ = try await registrar.query("SELECT claim_edition('2099-01-01', 0)") } == "IE002")
            #expect(await sqlState { _ = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: iceListURL, edition: "2199-12-31"), on: registrar) } == "IE002")
            // --plan agrees: refused, with the reason.
            let future = try await ImportSubmission.planEdition(try IceImport.parse(contentsOf: iceListURL, edition: "2199-12-31"), on: registrar)
            #expect(future.refusal?.contains("after today in Florida") == true && future.commands.isEmpty)
            #expect(try await f.admin.query("SELECT count(*) FROM edition_imports").rows[0].decode(0, as: Int.self) == 0)

            // What 0008 let through: a claim of 2099-01-01 whose record_edition the daemon rejected.
            try await f.admin.query("INSERT INTO edition_imports (edition, commands) VALUES ('2099-01-01', 1)")
            let record = DomainCommand.recordEdition(RecordEdition(edition: try #require(FloridaDate(iso: "2099-01-01")),
                                                                   sourceEdition: "2099-01-01", rows: 1))
            let stale = try await CommandQueue.submit(type: record.commandType, payload: String(decoding: record.payloadJSON(), as: UTF8.self),
                                                      idempotencyKey: "stale-2099", on: registrar)
            var processor = CommandProcessor()
            _ = try await drain(&processor, f.admin)
            #expect(try await CommandQueue.command(stale.commandID, on: f.admin)?.errorCode == "date_in_future")
            // A claim of a label with no record_edition at all (e.g. a transaction of an older client).
            try await f.admin.query("INSERT INTO edition_imports (edition, commands) VALUES ('2025-07-18', 0)")
            #expect(try await registrar.query("SELECT newest_edition()").rows[0].decodeIfPresent(0, as: String.self) == nil)

            // May, then July (taking over the stale 2025-07-18 claim): both import.
            let mayPlan = try await ImportSubmission.planEdition(try IceImport.parse(contentsOf: mayListURL), on: registrar)
            #expect(mayPlan.latestEdition == nil && mayPlan.refusal == nil)
            let (may, _) = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: mayListURL), on: registrar)
            #expect(may.alreadyImported == false && may.submitted == 272)
            // Pending counts: the plan's newest edition is May's before the daemon ran.
            #expect(try await ImportSubmission.planEdition(try IceImport.parse(contentsOf: iceListURL), on: registrar).latestEdition == "2025-05-29")
            _ = try await drain(&processor, f.admin)
            let (july, julyPlan) = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: iceListURL), on: registrar)
            #expect(julyPlan.latestEdition == "2025-05-29" && july.alreadyImported == false && july.submitted > 0)
            _ = try await drain(&processor, f.admin)
            #expect(try await registrar.query("SELECT newest_edition()").rows[0].decodeIfPresent(0, as: String.self) == "2025-07-18")
            // Now May is older than a counted edition: IE001, and the plan says the same.
            #expect(await sqlState { _ = try await registrar.query("SELECT claim_edition('2025-05-30', 0)") } == "IE001")
            let (older, _) = try await ImportSubmission.submitEdition(try IceImport.parse(contentsOf: mayListURL, edition: "2025-05-30"), on: registrar)
            #expect(older.submitted == 0)
            #expect(try await ImportSubmission.planEdition(try IceImport.parse(contentsOf: mayListURL, edition: "2025-05-30"), on: registrar).refusal?.contains("older than 2025-07-18") == true)
            #expect(try await ChainVerifier.verify(on: f.admin).isIntact)
        }
    }

    @Test("names with control or format characters are refused by the database (CQ006) for every command that carries one")
    func namesInTheDatabase() async throws {
        try await SecurityFixture.with { f in
            let registrar = try await f.connect(f.registrar)
            let board = try await f.connect(f.board)
            func payload(_ fields: [String: String]) -> String {
                String(decoding: (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
            }
            let register = ["agency_type": "Municipality", "model": "TFM", "signed_on": "2025-03-01", "source_edition": "2025-07-18"]
            let bad: [(Connection, String, [String: String], String)] = [
                (registrar, "register_agreement", register.merging(["agency_name": "Tallahassee Police\nDepartment"]) { $1 }, "U+000A"),
                (registrar, "register_agreement", register.merging(["agency_name": "\u{202E}tnemtrapeD eciloP"]) { $1 }, "U+202E"),
                (registrar, "register_agreement", register.merging(["agency_name": "Zero width\u{200B}PD"]) { $1 }, "U+200B"),
                (registrar, "register_agreement", register.merging(["agency_name": "Ok PD", "county": "Leon\u{2066}"]) { $1 }, "U+2066"),
                (registrar, "rename_agency", ["agency_id": "ok-pd", "new_name": "Ok\u{FEFF} PD"], "U+FEFF"),
                (registrar, "change_agreement_holder", ["agreement_id": "ok-pd.tfm.2025-03-01", "agency_name": "Ok\u{7F} PD", "edition": "2025-07-18"], "U+007F"),
                (board, "fill_board_seat", ["seat": "governor", "member": "Ron\u{200D} DeSantis", "effective_on": "2025-01-07"], "U+200D"),
                (registrar, "record_local_government_vote", ["agreement_id": "ok-pd.tfm.2025-03-01", "body": "City\tCommission",
                                                             "voted_on": "2025-03-01", "motion": "m", "tally": "3-2"], "U+0009"),
            ]
            for (index, (db, type, fields, codePoint)) in bad.enumerated() {
                do {
                    _ = try await db.query("SELECT command_id FROM submit_command($1, $2::json, $3)", [type, payload(fields), "name-\(index)"])
                    Issue.record("\(type) with \(codePoint) was queued")
                } catch let error as PostgresError {
                    #expect(error.sqlState == "CQ006", "\(type) \(codePoint)")
                    #expect(error.message.contains(codePoint) && error.message.contains("invalid_name"), "\(error.message)")
                }
            }
            // The client library's code, and a clean name still goes in.
            do {
                _ = try await CommandQueue.submit(type: "register_agreement", payload: payload(bad[1].2), idempotencyKey: "again", on: registrar)
                Issue.record("queued")
            } catch let error as SubmissionError {
                #expect(error.code == "invalid_name")
            }
            _ = try await CommandQueue.submit(type: "register_agreement",
                                              payload: payload(register.merging(["agency_name": "Ok Police Department"]) { $1 }),
                                              idempotencyKey: "clean", on: registrar)
            #expect(try await f.admin.query("SELECT count(*) FROM commands").rows[0].decode(0, as: Int.self) == 1)
        }
    }
}
