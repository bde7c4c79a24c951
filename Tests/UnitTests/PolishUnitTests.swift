import Foundation
import Testing
@testable import Workflow

/// Pure parts of the polish fixes: which 404s are pages, how the public log names an actor.
@Suite struct PolishUnitTests {
    @Test func aBrowserGetsThePageOnlyOutsideTheAPI() {
        let html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        #expect(Pages.wantsPage(path: "/no/such/page", accept: html))
        #expect(Pages.wantsPage(path: "/agreementsX", accept: "TEXT/HTML"))
        #expect(!Pages.wantsPage(path: "/no/such/page", accept: "*/*"))
        #expect(!Pages.wantsPage(path: "/no/such/page", accept: nil))
        for api in ["/v1", "/v1/nowhere", "/health", "/health/x", "/metrics", "/metrics/x"] {
            #expect(!Pages.wantsPage(path: api, accept: html), "\(api)")
        }
        // Only whole path segments are the API's.
        #expect(Pages.wantsPage(path: "/v10", accept: html))
        #expect(Pages.wantsPage(path: "/healthy", accept: html))
    }

    @Test func thePublicActorIsARoleAndAnAgencyNeverALogin() {
        #expect(EventHistory.publicActor(#"{"actor":{"role":"agency_clerk","agency_id":"tallahassee-police-department"},"command_id":"x"}"#)
                == "agency_clerk (tallahassee-police-department)")
        #expect(EventHistory.publicActor(#"{"actor":{"role":"board_staff","agency_id":null}}"#) == "board_staff")
        #expect(EventHistory.publicActor(#"{"actor":"clerk_login"}"#) == nil)
        #expect(EventHistory.publicActor("not json") == nil)
        #expect(EventHistory.publicActor("{}") == nil)
    }

    @Test func aReusedKeyNamesItsCode() {
        #expect(SubmissionError.keyReusedCode == "idempotency_key_reused")
        let error = SubmissionError(code: SubmissionError.keyReusedCode, message: "m", commandID: UUID())
        #expect(error.description == "idempotency_key_reused: m")
    }
}

/// Second trial (issues 13-19 follow-ups): pure parts, no database.
@Suite struct Polish2UnitTests {
    /// The OpenAPI document's `command_type` enum is every `CommandType`, in order.
    @Test func openAPICommandTypesAreAllCommandTypes() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        let post = try #require((paths["/v1/actions/{command_type}"] as? [String: Any])?["post"] as? [String: Any])
        let parameter = try #require((post["parameters"] as? [[String: Any]])?.first { $0["name"] as? String == "command_type" })
        let values = try #require((parameter["schema"] as? [String: Any])?["enum"] as? [String])
        #expect(values == CommandType.allCases.map(\.rawValue))
    }

    /// CSV formula injection (OWASP): a cell a spreadsheet would evaluate gets a leading quote;
    /// other cells, NULL and the empty string are written as before.
    @Test func csvNeutralisesFormulaCells() {
        #expect(CSV.record(["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "a=b", nil, ""])
                == "\"'=HYPERLINK(\"\"http://x\"\")\",'+1,'-2,'@SUM(A1),'\tx,\"'\rx\",a=b,,\"\"\r\n")
        #expect(CSV.record(["2025-08-01", "Tallahassee Police Department"]) == "2025-08-01,Tallahassee Police Department\r\n")
    }

    /// `scheduled_on` when none is given (CLI, API, web): today in Florida, not after the meeting.
    @Test func defaultScheduledOnIsTodayButNotAfterTheMeeting() throws {
        let today = try #require(FloridaDate(iso: "2026-12-01"))
        #expect(ScheduleReview.defaultScheduledOn(meeting: try #require(FloridaDate(iso: "2026-12-15")), today: today) == today)
        #expect(ScheduleReview.defaultScheduledOn(meeting: try #require(FloridaDate(iso: "2025-09-16")), today: today).description == "2025-09-16")
    }

    /// Migrations: the running executable's own checkout before the current directory.
    @Test func migrationsComeFromTheExecutablesCheckoutFirst() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sbie-locate-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let own = root.appendingPathComponent("mine"), other = root.appendingPathComponent("other")
        for dir in [own.appendingPathComponent("Sql"), own.appendingPathComponent(".build/debug"), other.appendingPathComponent("Sql")] {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        let executable = own.appendingPathComponent(".build/debug/sbie").path
        let found = try Migrator.locate(explicit: nil, executable: executable, currentDirectory: other.path, environment: [:])
        #expect(found.directory.path == own.appendingPathComponent("Sql").standardizedFileURL.path)
        #expect(found.source == "the running executable's checkout")
        let byEnv = try Migrator.locate(explicit: nil, executable: executable, currentDirectory: other.path, environment: ["SBIE_SQL_DIR": "/x/Sql"])
        #expect(byEnv.directory.path == "/x/Sql" && byEnv.source == "$SBIE_SQL_DIR")
        #expect(try Migrator.locate(explicit: "/y", executable: executable, currentDirectory: other.path, environment: ["SBIE_SQL_DIR": "/x"]).source == "--sql-dir")
        // No Sql/ above the executable: the current directory, and the log says why.
        let elsewhere = try Migrator.locate(explicit: nil, executable: "/nonexistent/bin/sbie", currentDirectory: other.path, environment: [:])
        #expect(elsewhere.directory.path == other.appendingPathComponent("Sql").standardizedFileURL.path)
        #expect(elsewhere.source.hasPrefix("the current directory"))
    }
}

@Suite struct Polish2FormTests {
    /// A form's `form_id` is its idempotency key: missing or junk is refused, never replaced.
    @Test func formKeyRefusesAJunkFormID() throws {
        let id = UUID()
        #expect(try Pages.formKey(["form_id": id.uuidString], "seat") == "web:seat:\(id.uuidString.lowercased())")
        for form: FormValues in [["form_id": "junk"], [:], ["form_id": ""]] {
            #expect(throws: PageError.self) { try Pages.formKey(form, "seat") }
        }
    }

    /// The errors a login that may hold no session meets are one refusal (403), not a 500.
    @Test func sessionRefusalCoversTheClass() {
        for state in ["42501", "42883", "3F000", "42P01"] {
            #expect(SessionRefusal.applies(PostgresError(kind: .statement, sqlState: state, message: "x")))
        }
        #expect(!SessionRefusal.applies(PostgresError(kind: .statement, sqlState: "23505", message: "x")))
        #expect(SessionRefusal.message("sbie_web").contains("sbie_web"))
    }
}
