import Foundation
import Testing
import Workflow

// Rough edges of the second new-user trial (issues 13, 14, 15, 18, 19 follow-ups): a seat
// correction that would re-tally a recorded vote, repeated options, CSV formula cells,
// migrations from another checkout, an idempotent authenticator, sessions for logins that
// may hold none, an explicit scheduling date, and past token expiries. Real `sbie`
// processes and a real `sbie serve` against a real PostgreSQL.

/// Runs `sbie ARGS` (no `--database` added) in `directory`, with `env` added.
private func sbieIn(_ directory: URL, _ arguments: [String], env: [String: String] = [:]) throws -> SbieRun {
    let executable = try #require(DaemonProcess.executable, "build the sbie executable first (swift build)")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = directory
    process.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Both pipes read to their ends before waiting (the outputs here are short).
    let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return SbieRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
}

@Suite("Polish 2: seats vs recorded votes, repeated options, CSV cells, migrations' folder, authenticator, sessions, scheduling date (live database)",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"), .serialized)
struct Polish2Tests {
    @Test("the tester's seat correction is rejected (seat_change_contradicts_vote, exit 1); repeated ballots exit 2 naming the option; the vote stands")
    func seatCorrectionAndRepeatedOptions() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let seats = try BoardSeed.commands(from: Data(contentsOf: TestDatabase.root.appendingPathComponent("data/board-seats-2025.json"))).get()
            for (index, command) in seats.enumerated() {
                _ = try await CommandQueue.submit(type: command.commandType, payload: String(decoding: command.payloadJSON(), as: UTF8.self),
                                                  idempotencyKey: "seat-\(index)", on: db)
            }
            _ = try await CommandQueue.submit(
                type: "register_agreement",
                payload: "{\"agency_name\":\"Tallahassee Police Department\",\"agency_type\":\"Municipality\",\"model\":\"TFM\",\"signed_on\":\"2025-03-10\",\"source_edition\":\"2025-07-18pm\"}",
                idempotencyKey: "seed-tallahassee", on: db)
            var processor = CommandProcessor()
            let daemon: () async throws -> Void = { _ = try await drain(&processor, db) }
            try await daemon()

            let filed = try await sbie(["request", "--agency", "Tallahassee Police Department", "--model", "TFM", "--reason", "City commission vote",
                                        "--authorization", "Resolution 25-R-31", "--filed", "2025-08-18"], dsn: dsn, meanwhile: daemon)
            #expect(filed.status == 0, "\(filed.stderr)")
            let request = try #require(filed.stdout.split(separator: "\n").first.map { String($0.dropFirst("request ".count)) })
            let scheduled = try await sbie(["schedule", request, "--meeting", "2025-08-20", "--on", "2025-08-19"], dsn: dsn, meanwhile: daemon)
            #expect(scheduled.status == 0, "\(scheduled.stdout) \(scheduled.stderr)")

            // Repeated ballots: refused before anything is sent, naming the option (aliases are one option).
            for repeated in [["--governor", "yes", "--governor", "no"], ["--cfo", "yes", "--chief-financial-officer", "no"], ["--governor=yes", "--governor", "no"]] {
                let vote = try await sbie(["vote", request, "--meeting", "2025-08-20"] + repeated, dsn: dsn)
                #expect(vote.status == 2, "\(repeated): \(vote.stdout) \(vote.stderr)")
                #expect(vote.stderr.contains("option --") && vote.stderr.contains("more than once"), "\(vote.stderr)")
            }
            #expect(try await CommandQueue.commands(status: .pending, on: db).isEmpty)
            let vote = try await sbie(["vote", request, "--meeting", "2025-08-20", "--governor", "yes", "--attorney-general", "yes",
                                       "--cfo", "yes", "--agriculture", "yes"], dsn: dsn, meanwhile: daemon)
            #expect(vote.status == 0, "\(vote.stdout) \(vote.stderr)")

            // The tester's correction: the CFO seat on 2025-08-20 would change; a seat change after the meeting is fine.
            let correction = try await sbie(["seat", "fill", "cfo", "--member", "Nobody", "--effective", "2025-07-18", "--replaces", "2025-07-21",
                                             "--source", "https://x"], dsn: dsn, meanwhile: daemon)
            #expect(correction.status == 1, "\(correction.stdout) \(correction.stderr)")
            #expect(correction.stdout.hasPrefix("rejected: seat_change_contradicts_vote"), "\(correction.stdout)")
            #expect(correction.stdout.contains("s. 908.1031, F.S.") && correction.stdout.contains("2025-08-20"), "\(correction.stdout)")
            let later = try await sbie(["seat", "vacate", "cfo", "--effective", "2025-08-21", "--source", "https://x"], dsn: dsn, meanwhile: daemon)
            #expect(later.status == 0, "\(later.stdout) \(later.stderr)")
            let row = try await db.query("SELECT state FROM termination_requests WHERE request_id = $1::uuid", [request]).rows.first?.decode(0, as: String.self)
            #expect(row == "approved")

            // Other options: a value starting with '-' is said as such; a past expiry is refused.
            let asOf = try await sbie(["status", "--as-of", "-1"], dsn: dsn)
            #expect(asOf.status == 2 && asOf.stderr.contains("'-1' after --as-of") && asOf.stderr.contains("--as-of=-1"), "\(asOf.stderr)")
            let token = try await sbie(["login", "token", "create", "nobody", "--expires", "2020-01-01"], dsn: dsn)
            #expect(token.status == 2 && token.stdout.isEmpty && token.stderr.contains("in the past"), "\(token.stdout) \(token.stderr)")
            await db.close()
        }
    }

    @Test("migrate run from another checkout uses the executable's own Sql/ and says so; --sql-dir overrides")
    func migrationsFromTheExecutablesCheckout() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let other = FileManager.default.temporaryDirectory.appendingPathComponent("sbie-other-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: other.appendingPathComponent("Sql"), withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: other) }
            // Another checkout's migrations, which must not run.
            try "CREATE TABLE not_ours (x int);".write(to: other.appendingPathComponent("Sql/0001_event_store.sql"), atomically: true, encoding: .utf8)
            let run = try sbieIn(other, ["migrate", "--database", dsn], env: ["SBIE_SQL_DIR": ""])
            #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
            #expect(run.stderr.contains("the running executable's checkout") && run.stderr.contains(TestDatabase.root.appendingPathComponent("Sql").path),
                    "\(run.stderr)")
            let db = try await Connection.connect(dsn)
            let notOurs = try await db.query("SELECT pg_catalog.to_regclass('not_ours') IS NOT NULL").rows[0].decode(0, as: Bool.self)
            #expect(!notOurs)
            await db.close()
            // Explicitly the other folder: its 0001 differs from the applied one, refused by checksum.
            let explicit = try sbieIn(other, ["migrate", "--database", dsn, "--sql-dir", other.appendingPathComponent("Sql").path])
            #expect(explicit.status != 0 && explicit.stderr.contains("--sql-dir"), "\(explicit.stderr)")
        }
    }

    @Test("create-authenticator twice: the second exits 0 and keeps it (and sets a given password); another role's name is refused")
    func authenticatorIdempotent() async throws {
        try await TestDatabase.with { dsn in
            let name = "web2_\(UUID().uuidString.prefix(8).lowercased())"
            let first = try await sbie(["login", "create-authenticator", name], dsn: dsn)
            #expect(first.status == 0, "\(first.stderr)")
            let again = try await sbie(["login", "create-authenticator", name], dsn: dsn)
            #expect(again.status == 0 && again.stdout.contains("exists already; unchanged"), "\(again.stdout) \(again.stderr)")
            let password = try await sbie(["login", "create-authenticator", name, "--password", "s3cret-pass"], dsn: dsn)
            #expect(password.status == 0 && password.stdout.contains("password is now the one given"), "\(password.stdout) \(password.stderr)")
            let clerk = "clerk2_\(UUID().uuidString.prefix(8).lowercased())"
            let db = try await Connection.connect(dsn)
            try await Logins.create(clerk, role: .auditor, on: db)
            let clash = try await sbie(["login", "create-authenticator", clerk], dsn: dsn)
            #expect(clash.status == 1 && clash.stderr.contains("is not an authenticator"), "\(clash.stderr)")
            for role in [name, clerk] { _ = try? await db.executeScript("DROP ROLE IF EXISTS \(role)") }
            await db.close()
        }
    }

    @Test("HTTP: a session for the authenticator is 401/403 with a stable code, never 500; schedule_review without scheduled_on says the date it used; CSV formula cells neutralised")
    func http() async throws {
        let server = try await ServerFixture.start(clerks: ["tallahassee-police-department"])
        do {
            // Sessions: the authenticator itself, and the owner's kind of login.
            for login in [server.name("web"), "postgres"] {
                let reply = try await server.request("POST", "/v1/session", json: "{\"login\":\"\(login)\",\"password\":\"guess\"}")
                #expect(reply.status == 401 || reply.status == 403, "\(login): \(reply.status) \(reply.text)")
                let code = try reply.json()["code"] as? String
                #expect(["invalid_credentials", "password_not_checked", "session_not_allowed"].contains(code ?? ""), "\(reply.text)")
            }

            // Repeated keys and query parameters are refused naming them, as repeated options and form fields.
            let twice = try await server.request("POST", "/v1/session", json: "{\"login\":\"a\",\"login\":\"b\",\"password\":\"x\"}")
            #expect(twice.status == 400, "\(twice.text)")
            #expect(try twice.json()["field"] as? String == "login", "\(twice.text)")
            let format = try await server.request("GET", "/v1/exports/events?format=csv&format=jsonl", token: server.tokens["auditor"])
            #expect(format.status == 400, "\(format.text)")
            #expect(try format.json()["field"] as? String == "format", "\(format.text)")

            let registered = try await server.submit(.registerAgreement(RegisterAgreement(
                agencyName: "Tallahassee Police Department", agencyType: .municipality, county: nil, model: .taskForce,
                signedOn: try #require(FloridaDate(iso: "2025-03-10")), moaURL: nil, sourceEdition: "2025-07-18pm")),
                token: server.tokens["registrar"], key: "register")
            #expect(registered.status == 200, "\(registered.text)")
            let request = UUID()
            let filed = try await server.submit(.submitTerminationRequest(SubmitTerminationRequest(
                requestID: request, agencyID: try #require(AgencyID(slug: "tallahassee-police-department")), model: .taskForce,
                reason: "=HYPERLINK(\"http://evil.example\",\"click\")", localAuthorization: "+1 Resolution",
                filedOn: try #require(FloridaDate(iso: "2025-08-18")))), token: server.tokens["tallahassee-police-department"], key: "file")
            #expect(filed.status == 200, "\(filed.text)")

            // No scheduled_on: the server fills in today in Florida (not after the meeting) and says so.
            let today = FloridaDate(floridaDateOf: Date())
            let schedule = try await server.request(
                "POST", "/v1/actions/schedule_review", token: server.tokens["board"],
                json: "{\"request_id\":\"\(request.uuidString.lowercased())\",\"meeting_date\":\"\(today)\"}",
                headers: ["Prefer": "wait=30", "Idempotency-Key": "schedule"])
            #expect(schedule.status == 200, "\(schedule.text)")
            #expect(schedule.header("Sbie-Defaulted") == "scheduled_on=\(today)", "\(schedule.headers)")

            let csv = try await server.request("GET", "/v1/exports/termination_requests?format=csv", token: server.tokens["auditor"])
            #expect(csv.status == 200, "\(csv.text)")
            #expect(csv.text.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\""), "\(csv.text)")
            #expect(csv.text.contains(",'+1 Resolution,") || csv.text.contains(",'+1 Resolution\r\n"), "\(csv.text)")
            #expect(!csv.text.contains(",=HYPERLINK") && !csv.text.contains(",\"=HYPERLINK"))
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
