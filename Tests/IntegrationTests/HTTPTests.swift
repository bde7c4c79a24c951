import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import Workflow

/// A response as the tests read it.
struct HTTPReply {
    var status: Int
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any], "not a JSON object: \(text)")
    }
    func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }
}

/// A real `sbie serve --with-daemon` process on a fresh database, with an authenticator and
/// tokens for a registrar, Board staff, and one clerk per agency asked for.
final class ServerFixture: @unchecked Sendable {
    let dsn: String
    let suffix: String
    let process = Process()
    let base: URL
    var tokens: [String: String] = [:]
    var roles: [String] = []

    /// Role names are cluster-wide: each fixture's carry a suffix of its own.
    func name(_ role: String) -> String { "\(role)_\(suffix)" }

    /// - Parameter withDaemon: run the daemon in the server's process (`--with-daemon`); false:
    ///   no daemon at all (a test starts one with `DaemonProcess` as the owner, `dsn`).
    static func start(clerks: [String] = [], withDaemon: Bool = true) async throws -> ServerFixture {
        let dsn = try await TestDatabase.create()
        let admin = try await Connection.connect(dsn)
        let suffix = String(UUID().uuidString.prefix(8).lowercased())
        var roles: [String] = []
        var tokens: [String: String] = [:]
        let authenticator = "web_\(suffix)"
        try await WebLogins.createAuthenticator(authenticator, password: nil, on: admin)
        roles.append(authenticator)
        for (key, role) in [("registrar", LoginRole.registrar), ("board", .boardStaff), ("auditor", .auditor)] {
            let login = "\(key)_\(suffix)"
            try await Logins.create(login, role: role, on: admin)
            roles.append(login)
            tokens[key] = try await WebLogins.issueAPIToken(login: login, expiresAt: nil, label: "test", on: admin).token
        }
        for agency in clerks {
            let login = "clerk_\(suffix)_\(roles.count)"
            try await Logins.create(login, role: .agencyClerk, agencyID: agency, on: admin)
            roles.append(login)
            tokens[agency] = try await WebLogins.issueAPIToken(login: login, expiresAt: nil, label: agency, on: admin).token
        }
        await admin.close()
        let executable = try #require(DaemonProcess.executable, "build the sbie executable first (swift build)")
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--log-level", "error",
                             "--database", ConnectionString.replacingUser(in: dsn, with: authenticator), "--heartbeat", "1"]
            + (withDaemon ? ["--with-daemon", "--daemon-database", dsn] : ["--ready-max-queue-age", "2"])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = try await Task.detached { () -> String in
            var text = ""
            while !text.contains("\n") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            return text
        }.value
        let url = try #require(line.split(separator: " ").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) },
                               "no address in: \(line)")
        let fixture = ServerFixture(dsn: dsn, suffix: suffix, base: try #require(URL(string: url)), process: process)
        fixture.tokens = tokens
        fixture.roles = roles
        return fixture
    }

    private init(dsn: String, suffix: String, base: URL, process: Process) {
        self.dsn = dsn
        self.suffix = suffix
        self.base = base
        self.processHandle = process
    }
    let processHandle: Process

    /// SIGTERM; returns the exit status. Then drops the database and the roles.
    @discardableResult
    func stop() async -> Int32 {
        if processHandle.isRunning {
            kill(processHandle.processIdentifier, SIGTERM)
            processHandle.waitUntilExit()
        }
        await TestDatabase.drop(dsn)
        if let admin = try? await Connection.connect(try TestDatabase.adminDSN()) {
            for role in roles.reversed() { _ = try? await admin.executeScript("DROP ROLE IF EXISTS \(role)") }
            await admin.close()
        }
        return processHandle.terminationStatus
    }

    func request(_ method: String, _ path: String, token: String? = nil, json: String? = nil,
                 headers: [String: String] = [:]) async throws -> HTTPReply {
        var request = URLRequest(url: try #require(URL(string: base.absoluteString + path)))
        request.httpMethod = method
        request.timeoutInterval = 60
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = Data(json.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields { fields["\(key)"] = "\(value)" }
        return HTTPReply(status: http.statusCode, headers: fields, body: data)
    }

    /// Submits a command and waits for its outcome (`Prefer: wait=30`).
    func submit(_ command: DomainCommand, token: String?, key: String) async throws -> HTTPReply {
        try await request("POST", "/v1/actions/\(command.commandType)", token: token,
                          json: String(decoding: command.payloadJSON(), as: UTF8.self),
                          headers: ["Prefer": "wait=30", "Idempotency-Key": key])
    }

    /// Reads `/v1/events/stream` with curl for at most `seconds` (or until event `expected`
    /// arrived), into complete events (id, type).
    static func readStream(_ url: String, lastEventID: Int64? = nil, seconds: Int, until expected: Int64? = nil)
        async throws -> [(id: Int64, type: String)]
    {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        var arguments = ["-sN", "--max-time", String(seconds)]
        if let lastEventID { arguments += ["-H", "Last-Event-ID: \(lastEventID)"] }
        curl.arguments = arguments + [url + "/v1/events/stream"]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        let data = await Task.detached { () -> Data in
            var data = Data()
            while true {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                data.append(chunk)
                if let expected, String(decoding: data.suffix(8192), as: UTF8.self).contains("id: \(expected)\n"),
                   parse(data).last?.id == expected {
                    // SIGKILL: children of a libdispatch thread inherit its blocked SIGTERM.
                    kill(curl.processIdentifier, SIGKILL)
                }
            }
            return data
        }.value
        curl.waitUntilExit()
        return parse(data)
    }

    /// Complete events only (terminated by a blank line), as an EventSource would dispatch them.
    static func parse(_ data: Data) -> [(id: Int64, type: String)] {
        let text = String(decoding: data, as: UTF8.self)
        var events: [(Int64, String)] = []
        let blocks = text.components(separatedBy: "\n\n")
        for block in blocks.dropLast() {  // the last piece is unterminated (or empty)
            var id: Int64?
            var type = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("id: ") { id = Int64(line.dropFirst(4)) }
                if line.hasPrefix("event: ") { type = String(line.dropFirst(7)) }
            }
            if let id { events.append((id, type)) }
        }
        return events
    }
}

@Suite("The HTTP front door: a real sbie serve process and PostgreSQL",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"), .serialized)
struct HTTPTests {
    static let scenarioAgencies = [
        "south-miami-police-department", "escambia-county-sheriffs-office", "alachua-county-sheriffs-office",
        "tallahassee-police-department", "arcadia-police-department", "bay-county-sheriffs-office",
    ]

    @Test("the demo's scenario over HTTP with the tokens of clerks, Board staff and the registrar: outcomes as the rules require")
    func scenario() async throws {
        let server = try await ServerFixture.start(clerks: Self.scenarioAgencies)
        do {
            for (index, (name, type, model, signed)) in ScenarioTests.agreements.enumerated() {
                let body = try String(decoding: JSONSerialization.data(withJSONObject: [
                    "agency_name": name, "agency_type": type, "model": model, "signed_on": signed, "source_edition": "2025-07-18pm",
                ]), as: UTF8.self)
                let reply = try await server.request("POST", "/v1/actions/register_agreement", token: server.tokens["registrar"],
                                                     json: body, headers: ["Prefer": "wait=30", "Idempotency-Key": "reg-\(index)"])
                #expect(reply.status == 200, "\(reply.text)")
                #expect(try reply.json()["status"] as? String == "accepted")
            }
            let seed = try Data(contentsOf: TestDatabase.root.appendingPathComponent("data/board-seats-2025.json"))
            for (index, command) in try BoardSeed.commands(from: seed).get().enumerated() {
                let reply = try await server.submit(command, token: server.tokens["board"], key: "seat-\(index)")
                #expect(reply.status == 200, "\(reply.text)")
            }
            for part in try IllustrativeScenario.parts() {
                for step in part.steps {
                    let token: String?
                    switch step.command.actorKind {
                    case .agency: token = server.tokens[step.command.agencyID?.slug ?? ""]
                    case .board: token = server.tokens["board"]
                    default: token = server.tokens["registrar"]
                    }
                    let reply = try await server.submit(step.command, token: token, key: step.key)
                    if let code = step.expectedRejection {
                        #expect(reply.status == 422, "\(step.title): \(reply.text)")
                        #expect(reply.header("Content-Type") == "application/problem+json")
                        #expect(try reply.json()["code"] as? String == code, "\(step.title)")
                    } else {
                        #expect(reply.status == 200, "\(step.title): \(reply.text)")
                        #expect(try reply.json()["status"] as? String == "accepted", "\(step.title): \(reply.text)")
                    }
                    // The same key again returns the first command, never a second effect.
                    if step.key.hasSuffix(":3") {
                        let again = try await server.submit(step.command, token: token, key: step.key)
                        #expect(try again.json()["command_id"] as? String == (try reply.json()["command_id"] as? String))
                    }
                }
            }
            // The register as the public reads it.
            let register = try await server.request("GET", "/v1/register?agency=Alachua%20County%20Sheriff%27s%20Office")
            let rows = try #require(try register.json()["agreements"] as? [[String: Any]])
            let states = Dictionary(uniqueKeysWithValues: rows.map { ($0["agreement_id"] as? String ?? "", $0["state"] as? String ?? "") })
            #expect(states == ["alachua-county-sheriffs-office.tfm.2025-02-26": "terminated",
                               "alachua-county-sheriffs-office.wso.2025-02-24": "active"])
            let denied = try await server.request("GET", "/v1/requests/287e0000-0000-4000-8000-000000000004")
            #expect(try denied.json()["state"] as? String == "denied", "\(denied.text)")

            // The public sees no login names: not in the log, not anywhere in it.
            let events = try await server.request("GET", "/v1/events?after=0&limit=1000")
            #expect(events.status == 200)
            for role in server.roles { #expect(!events.text.contains(role), "the public log shows login \(role)") }
            #expect(events.text.contains("\"role\": \"agency_clerk\""))
            // Board staff see the actors.
            let staff = try await server.request("GET", "/v1/events?after=0&limit=1000", token: server.tokens["board"])
            #expect(staff.text.contains(server.name("board")))
            let verify = try await server.request("GET", "/v1/verify", token: server.tokens["auditor"])
            #expect(try verify.json()["ok"] as? Bool == true, "\(verify.text)")
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }

    @Test("a clerk's token cannot read or act for another agency; the database decides")
    func clerkConfined() async throws {
        let server = try await ServerFixture.start(clerks: ["tallahassee-police-department", "arcadia-police-department"])
        do {
            for (index, (name, type, model, signed)) in ScenarioTests.agreements.enumerated() {
                let reply = try await server.submit(.registerAgreement(RegisterAgreement(
                    agencyName: name, agencyType: try #require(AgencyType(rawValue: type)), county: nil,
                    model: try #require(Model(codeOrName: model)), signedOn: try #require(FloridaDate(iso: signed)),
                    moaURL: nil, sourceEdition: "2025-07-18pm")), token: server.tokens["registrar"], key: "r\(index)")
                #expect(reply.status == 200, "\(reply.text)")
            }
            let tallahassee = try #require(AgencyID(slug: "tallahassee-police-department"))
            let arcadia = try #require(AgencyID(slug: "arcadia-police-department"))
            let request = UUID()
            let filed = try await server.submit(.submitTerminationRequest(SubmitTerminationRequest(
                requestID: request, agencyID: arcadia, model: .taskForce, reason: "r", localAuthorization: "a",
                filedOn: try #require(FloridaDate(iso: "2025-08-01")))), token: server.tokens[arcadia.slug], key: "f1")
            #expect(filed.status == 200, "\(filed.text)")

            // Tallahassee's clerk files for Arcadia: refused by submit_command (CQ003).
            let forged = try await server.submit(.submitTerminationRequest(SubmitTerminationRequest(
                requestID: UUID(), agencyID: arcadia, model: .taskForce, reason: "r", localAuthorization: "a",
                filedOn: try #require(FloridaDate(iso: "2025-08-01")))), token: server.tokens[tallahassee.slug], key: "f2")
            #expect(forged.status == 403)
            #expect(try forged.json()["code"] as? String == "agency_mismatch")
            // ... and cannot read Arcadia's request, nor its command (row-level security: 404).
            let read = try await server.request("GET", "/v1/requests/\(request.uuidString.lowercased())", token: server.tokens[tallahassee.slug])
            #expect(read.status == 404, "\(read.text)")
            let commandURL = try #require(try filed.json()["url"] as? String)
            #expect(try await server.request("GET", commandURL, token: server.tokens[tallahassee.slug]).status == 404)
            #expect(try await server.request("GET", commandURL, token: server.tokens[arcadia.slug]).status == 200)
            // A clerk may not submit Board commands.
            let board = try await server.submit(.scheduleReview(ScheduleReview(requestID: request, meetingDate: try #require(FloridaDate(iso: "2025-09-16")))),
                                                token: server.tokens[arcadia.slug], key: "s1")
            #expect(board.status == 403)
            #expect(try board.json()["code"] as? String == "permission_denied")

            // The server's data layer, with the HTTP layer's checks bypassed: the database refuses.
            let data = DataLayer(conninfo: ConnectionString.replacingUser(in: server.dsn, with: "web_\(server.suffix)"),
                                 poolSize: 2, logger: TestDatabase.logger)
            let payload = String(decoding: DomainCommand.submitTerminationRequest(SubmitTerminationRequest(
                requestID: UUID(), agencyID: arcadia, model: .taskForce, reason: "r", localAuthorization: "a",
                filedOn: try #require(FloridaDate(iso: "2025-08-01")))).payloadJSON(), as: UTF8.self)
            let clerkToken = try #require(server.tokens[tallahassee.slug])
            let mismatch = await #expect(throws: SubmissionError.self) {
                try await data.run(as: .token(clerkToken)) { c, _ in
                    try CommandQueue.submit(type: "submit_termination_request", payload: payload, idempotencyKey: "forged", on: c)
                }
            }
            #expect(mismatch?.code == "agency_mismatch")
            #expect(mismatch?.message.contains("login \(server.roles[4]) files for agency tallahassee-police-department") == true)
            // Forged roles: the owner, a group, a login never enabled for the web.
            for role in ["workflow_owner", "workflow_daemon", "postgres"] {
                await #expect(throws: PostgresError.self, "switching into \(role)") {
                    try await data.run(unauthenticatedRole: role) { _, _ in 0 }
                }
            }
            let groupRefusal = await #expect(throws: SubmissionError.self) {
                try await data.run(unauthenticatedRole: "agency_clerk") { c, _ in
                    try CommandQueue.submit(type: "submit_termination_request", payload: payload, idempotencyKey: "group", on: c)
                }
            }
            #expect(groupRefusal?.code == "permission_denied")
            let anonymous = await #expect(throws: PostgresError.self) {
                try await data.run(as: .anonymous) { c, _ in try c.query("SELECT count(*) FROM commands") }
            }
            #expect(anonymous?.sqlState == "42501")
            await #expect(throws: AccessError.invalidToken) {
                try await data.run(as: .token("sbie_not-a-token-at-all-0000000000000000000")) { _, _ in 0 }
            }
            await data.shutdown()

            // The owner's and the daemon's logins (and superusers) are never web-enabled.
            let admin = try await Connection.connect(server.dsn)
            let daemonLogin = server.name("daemon")
            try await Logins.create(daemonLogin, role: .daemon, on: admin)
            server.roles.append(daemonLogin)
            for login in [daemonLogin, "postgres"] {
                await #expect(throws: LoginError.invalidName(login)) { try await WebLogins.enable(login, on: admin) }
            }
            await admin.close()
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test("bad input gets a problem+json with the CLI's code and field, never a 500")
    func badInput() async throws {
        let server = try await ServerFixture.start(clerks: ["tallahassee-police-department"])
        do {
            let clerk = server.tokens["tallahassee-police-department"]
            func problem(_ reply: HTTPReply) throws -> (Int, String?, String?) {
                #expect(reply.header("Content-Type") == "application/problem+json", "\(reply.status) \(reply.text)")
                let json = try reply.json()
                return (reply.status, json["code"] as? String, json["field"] as? String)
            }
            let path = "/v1/actions/submit_termination_request"
            #expect(try problem(await server.request("POST", path, json: "{}")) == (401, "authentication_required", nil))
            #expect(try problem(await server.request("POST", path, token: clerk, json: "{\"request_id\":")) == (400, "malformed_payload", nil))
            #expect(try problem(await server.request("POST", path, token: clerk, json: "{\"bogus\":1}")) == (400, "unknown_field", "payload.bogus"))
            let missing = "{\"request_id\":\"\(UUID())\",\"agency_id\":\"tallahassee-police-department\",\"model\":\"TFM\",\"reason\":\"r\",\"local_authorization\":\"a\"}"
            #expect(try problem(await server.request("POST", path, token: clerk, json: missing)) == (400, "missing_field", "payload.filed_on"))
            let badDate = missing.dropLast() + ",\"filed_on\":\"2025-02-30\"}"
            #expect(try problem(await server.request("POST", path, token: clerk, json: String(badDate))) == (400, "invalid_date", "payload.filed_on"))
            #expect(try problem(await server.request("POST", "/v1/actions/launch_rockets", token: clerk, json: "{}")) == (404, "unknown_command_type", nil))
            var wrongType = try await server.request("POST", path, token: clerk, headers: ["Content-Type": "text/plain"])
            #expect(try problem(wrongType) == (415, "unsupported_media_type", "Content-Type"))
            let huge = "{\"reason\":\"" + String(repeating: "x", count: 100_000) + "\"}"
            #expect(try problem(await server.request("POST", path, token: clerk, json: huge)).0 == 413)
            #expect(try problem(await server.request("GET", "/v1/me", token: "sbie_nope")) == (401, "invalid_token", nil))
            wrongType = try await server.request("GET", "/v1/me", headers: ["Authorization": "Basic abc"])
            #expect(try problem(wrongType) == (401, "invalid_credentials", "Authorization"))
            #expect(try problem(await server.request("GET", "/v1/requests/not-a-uuid")) == (400, "invalid_field_value", "id"))
            #expect(try problem(await server.request("GET", "/v1/requests/\(UUID())")) == (404, "request_not_found", nil))
            #expect(try problem(await server.request("GET", "/v1/register?as_of=yesterday")) == (400, "invalid_date", "as_of"))
            #expect(try problem(await server.request("GET", "/v1/register?model=XYZ")) == (400, "invalid_field_value", "model"))
            #expect(try problem(await server.request("GET", "/v1/events?limit=0")) == (400, "invalid_field_value", "limit"))
            #expect(try problem(await server.request("GET", "/v1/events/stream", headers: ["Last-Event-ID": "x"])) == (400, "invalid_field_value", "Last-Event-ID"))
            #expect(try problem(await server.request("GET", "/v1/nowhere")) == (404, "not_found", nil))
            #expect(try problem(await server.request("GET", "/v1/commands")) == (401, "authentication_required", nil))
            let valid = String(badDate.dropLast(12)) + "2025-08-01\"}"
            #expect(try problem(await server.request("POST", path, token: clerk, json: valid, headers: ["Prefer": "wait=600"])) == (400, "invalid_field_value", "Prefer"))
            // A web session by password: this test cluster trusts local logins, so the server refuses
            // (a password nobody checked proves nothing).
            let session = try await server.request("POST", "/v1/session", json: "{\"login\":\"\(server.name("board"))\",\"password\":\"guess\"}")
            #expect(try problem(session) == (401, "password_not_checked", nil))
            #expect(try problem(await server.request("POST", "/v1/session", json: "{\"login\":\"x\"}")) == (400, "missing_field", "password"))
            // Health, metrics and the contract.
            #expect(try await server.request("GET", "/health/live").status == 200)
            let ready = try await server.request("GET", "/health/ready")
            #expect(ready.status == 200, "\(ready.text)")
            #expect(try ready.json()["migrations"] as? String == "current")
            let metrics = try await server.request("GET", "/metrics")
            for name in ["sbie_queue_depth{status=\"pending\"}", "sbie_events_appended", "sbie_sse_subscribers", "sbie_projection_lag_events"] {
                #expect(metrics.text.contains(name), "metrics lack \(name)")
            }
            let spec = try await server.request("GET", "/v1/openapi.json")
            #expect(try spec.json()["openapi"] as? String == "3.1.0")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// Commands submitted by 8 concurrent clients in the SSE test (the acceptance figure is
    /// 5,000; `SBIE_SSE_COMMANDS` lowers it for quick local runs).
    static let sseCommands = Int(ProcessInfo.processInfo.environment["SBIE_SSE_COMMANDS"] ?? "") ?? 5_000

    @Test("SSE: a subscriber from position 0 receives every event exactly once, in order, while 8 clients submit; a reconnect with Last-Event-ID misses nothing")
    func eventStream() async throws {
        let server = try await ServerFixture.start()
        do {
            let url = server.base.absoluteString
            let total = Self.sseCommands
            let registrar = try #require(server.tokens["registrar"])
            async let live = ServerFixture.readStream(url, seconds: 600, until: Int64(total))
            // A second subscriber that drops after 2 seconds and resumes from its last complete event.
            async let first = ServerFixture.readStream(url, seconds: 2)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<8 {
                    group.addTask {
                        for n in stride(from: client, to: total, by: 8) {
                            let body = "{\"agency_name\":\"Agency \(n) Police Department\",\"agency_type\":\"Municipality\","
                                + "\"model\":\"TFM\",\"signed_on\":\"2025-03-10\",\"source_edition\":\"2025-07-18pm\"}"
                            let reply = try await server.request("POST", "/v1/actions/register_agreement", token: registrar,
                                                                 json: body, headers: ["Idempotency-Key": "load-\(n)"])
                            #expect(reply.status == 202 || reply.status == 200, "\(reply.text)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let firstPart = try await first
            let resumeFrom = firstPart.last?.id ?? 0
            let rest = try await ServerFixture.readStream(url, lastEventID: resumeFrom, seconds: 600, until: Int64(total))
            let events = try await live
            #expect(events.map(\.id) == Array(1...Int64(total)), "live subscriber: \(events.count) events")
            #expect(Set(events.map(\.type)) == ["AgreementRegistered"])
            #expect((firstPart + rest).map(\.id) == Array(1...Int64(total)),
                    "reconnected at \(resumeFrom): \(firstPart.count) + \(rest.count) events")
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0)
    }
}

@Suite("The OpenAPI document")
struct OpenAPIDocumentTests {
    @Test("the served document is what scripts/openapi.py generates (edit the script, then regenerate)")
    func generatedDocumentIsCurrent() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).swift")
        defer { try? FileManager.default.removeItem(at: output) }
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", TestDatabase.root.appendingPathComponent("scripts/openapi.py").path, output.path]
        try python.run()
        python.waitUntilExit()
        #expect(python.terminationStatus == 0)
        let committed = try String(contentsOf: TestDatabase.root.appendingPathComponent("Sources/Workflow/HTTP/API/OpenAPIDocument.swift"), encoding: .utf8)
        #expect(try String(contentsOf: output, encoding: .utf8) == committed)
    }
}
