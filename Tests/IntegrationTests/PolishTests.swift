import Foundation
import Testing
import Workflow

// Rough edges after the new-user trial (issues 14, 15, 18 follow-ups): exit codes of every
// "not found", a reused idempotency key refused (CLI and HTTP), /health/ready from a real
// sign of the daemon, anonymous reads of the public log, HTML 404 pages, and CLI input that
// must not trap. Real `sbie` processes against a real PostgreSQL.

/// Registers Tallahassee PD's Task Force Model agreement (as the owner) and decides it.
private func seedTallahassee(_ db: Connection) async throws {
    _ = try await CommandQueue.submit(
        type: "register_agreement",
        payload: "{\"agency_name\":\"Tallahassee Police Department\",\"agency_type\":\"Municipality\",\"model\":\"TFM\",\"signed_on\":\"2025-03-10\",\"source_edition\":\"2025-07-18pm\"}",
        idempotencyKey: "seed-tallahassee", on: db)
    var processor = CommandProcessor()
    #expect(try await drain(&processor, db).accepted == 1)
}

private func lower(_ id: UUID) -> String { id.uuidString.lowercased() }

private let fileArguments = ["request", "--agency", "Tallahassee Police Department", "--model", "TFM",
                             "--reason", "City commission vote", "--authorization", "Resolution 25-R-31", "--filed", "2025-08-18"]

@Suite("Polish: exit codes, reused keys, readiness, public reads, 404 pages, no traps (live database)",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"), .serialized)
struct PolishTests {
    @Test("every 'not found' exits 2, as the README's table says; a rule's rejection still exits 1")
    func notFoundExitsTwo() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            try await seedTallahassee(db)
            var processor = CommandProcessor()
            let daemon: () async throws -> Void = { _ = try await drain(&processor, db) }
            let unknown = UUID().uuidString.lowercased()

            // Queued, then rejected by the daemon because the id names nothing: exit 2, not 1.
            let withdraw = try await sbie(["withdraw", unknown, "--agency", "tallahassee-police-department", "--date", "2025-09-01"],
                                          dsn: dsn, meanwhile: daemon)
            #expect(withdraw.status == 2, "\(withdraw.stdout) \(withdraw.stderr)")
            #expect(withdraw.stdout.hasPrefix("rejected: request_not_found"))
            for arguments in [["schedule", unknown, "--meeting", "2025-09-16"],
                              ["vote", unknown, "--meeting", "2025-09-16", "--governor", "yes"]] {
                let result = try await sbie(arguments, dsn: dsn, meanwhile: daemon)
                #expect(result.status == 2, "\(arguments[0]): \(result.stdout) \(result.stderr)")
                #expect(result.stdout.hasPrefix("rejected: request_not_found"), "\(arguments[0]): \(result.stdout)")
            }
            // The CLI's own look-ups.
            let command = try await sbie(["commands", "--id", unknown], dsn: dsn)
            #expect(command.status == 2 && command.stderr.contains("no command \(unknown)"), "\(command.stderr)")
            let retry = try await sbie(["retry", unknown], dsn: dsn)
            #expect(retry.status == 2 && retry.stderr.contains("no command \(unknown)"), "\(retry.stderr)")
            let checkpoint = try await sbie(["checkpoint", "show", "7"], dsn: dsn)
            #expect(checkpoint.status == 2 && checkpoint.stderr.contains("no checkpoint 7"), "\(checkpoint.stderr)")
            let history = try await sbie(["history", "--request", unknown], dsn: dsn)
            #expect(history.status == 2 && history.stderr.contains("no request \(unknown)"))

            // A rule's rejection is still 1: a vote with no review scheduled.
            let filed = try await sbie(fileArguments, dsn: dsn, meanwhile: daemon)
            #expect(filed.status == 0, "\(filed.stderr)")
            let request = try #require(filed.stdout.split(separator: "\n").first.map { String($0.dropFirst("request ".count)) })
            let vote = try await sbie(["vote", request, "--meeting", "2025-09-16", "--governor", "yes"], dsn: dsn, meanwhile: daemon)
            #expect(vote.status == 1, "\(vote.stdout) \(vote.stderr)")
            #expect(vote.stdout.hasPrefix("rejected: ") && !vote.stdout.contains("not_found"), "\(vote.stdout)")
            // A command that exists but is not failed: refused, 1.
            let accepted = try #require(try await CommandQueue.commands(status: .accepted, on: db).last?.commandID)
            let notFailed = try await sbie(["retry", lower(accepted)], dsn: dsn)
            #expect(notFailed.status == 1 && notFailed.stderr.contains("is not failed (accepted)"), "\(notFailed.stderr)")
            await db.close()
        }
    }

    @Test("a reused idempotency key with another payload is refused (exit 1, idempotency_key_reused, the first command named); a retry of the same request is not")
    func reusedKeyRefused() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            try await seedTallahassee(db)
            var processor = CommandProcessor()
            let daemon: () async throws -> Void = { _ = try await drain(&processor, db) }
            let key = ["--idempotency-key", "tpd-2025-08-18"]
            let first = try await sbie(fileArguments + key, dsn: dsn, meanwhile: daemon)
            #expect(first.status == 0, "\(first.stderr)")
            // The same request again (its id drawn afresh by the CLI): the first command, exit 0.
            let again = try await sbie(fileArguments + key, dsn: dsn, meanwhile: daemon)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.split(separator: "\n").first == first.stdout.split(separator: "\n").first)
            let commandID = try #require(try await CommandQueue.commands(on: db).first { $0.idempotencyKey == "tpd-2025-08-18" }?.commandID)
            // Another reason under the same key: refused before anything is queued.
            var changed = fileArguments
            changed[try #require(changed.firstIndex(of: "City commission vote"))] = "Another reason"
            let reused = try await sbie(changed + key, dsn: dsn, meanwhile: daemon)
            #expect(reused.status == 1, "\(reused.stdout) \(reused.stderr)")
            #expect(reused.stderr.contains("error: refused: idempotency_key_reused: idempotency key 'tpd-2025-08-18' was already used for command \(lower(commandID)) (submit_termination_request, submitted "),
                    "\(reused.stderr)")
            #expect(reused.stderr.contains("with a different payload; nothing new was submitted"))
            #expect(reused.stdout.isEmpty)
            // A request id given explicitly is part of the command: another id is another command.
            let explicit = try await sbie(fileArguments + key + ["--request-id", UUID().uuidString], dsn: dsn, meanwhile: daemon)
            #expect(explicit.status == 1 && explicit.stderr.contains("idempotency_key_reused"), "\(explicit.stderr)")
            #expect(try await CommandQueue.commands(on: db).filter { $0.idempotencyKey == "tpd-2025-08-18" }.count == 1)

            // The library refuses alike (the HTTP API and the pages submit through it).
            do {
                _ = try await CommandQueue.submit(type: "register_agreement", payload: "{\"agency_name\":\"X\"}", idempotencyKey: "seed-tallahassee", on: db)
                Issue.record("a reused key with another payload was accepted")
            } catch let error as SubmissionError {
                #expect(error.code == "idempotency_key_reused")
                #expect(error.commandID != nil)
            }
            await db.close()
        }
    }

    @Test("CLI input that must not trap: empty and blank CSV said as empty, oversized numbers refused as usage (exit 2)")
    func noTrapsFromInput() async throws {
        try await TestDatabase.with { dsn in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sbie-polish-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            for (name, bytes) in [("empty", [UInt8]()), ("blank", Array("\n \r\n\n".utf8)), ("bom", [0xEF, 0xBB, 0xBF, 0x0A])] {
                let file = folder.appendingPathComponent("\(name)-2025-07-18.csv")
                try Data(bytes).write(to: file)
                let result = try await sbie(["import", file.path], dsn: dsn)
                #expect(result.status == 2, "\(name): \(result.stderr)")
                #expect(result.stderr.contains("the file is empty (no header, no rows)"), "\(name): \(result.stderr)")
            }
            let notUTF8 = folder.appendingPathComponent("bytes-2025-07-18.csv")
            try Data([0xFF, 0xFE, 0x00, 0x41]).write(to: notUTF8)
            let bytes = try await sbie(["import", notUTF8.path], dsn: dsn)
            #expect(bytes.status == 2 && bytes.stderr.contains("not UTF-8 text"), "\(bytes.stderr)")
            let seats = try await sbie(["seat", "load", notUTF8.path], dsn: dsn)
            #expect(seats.status == 2 && seats.stderr.contains("not a JSON object"), "\(seats.stderr)")

            let overflow = try await sbie(["commands", "--limit", "99999999999999999999"], dsn: dsn)
            #expect(overflow.status == 2 && overflow.stderr.contains("is invalid for '--limit"), "\(overflow.stderr)")
            let largest = try await sbie(["commands", "--limit", "9223372036854775807"], dsn: dsn)
            #expect(largest.status == 0 && largest.stdout.contains("no commands"), "\(largest.stderr)")
            let position = try await sbie(["status", "--as-of", "9223372036854775807"], dsn: dsn)
            #expect(position.status == 0, "\(position.stderr)")
            // Clamped: a daemon told to retry 10^18 times, to poll every 292 million years.
            let run = try await sbie(["run", "--once", "--max-attempts", "1000000000000000000", "--poll-interval", "9223372036854775807"], dsn: dsn)
            #expect(run.status == 0, "\(run.stderr)")
        }
    }

    @Test("HTTP: a reused key is 409 naming the first command; anonymous reads of history, as_of, seats and verify come from the public log (a clerk's token: 403); HTML 404 for browsers; ready from the in-process daemon")
    func http() async throws {
        let server = try await ServerFixture.start(clerks: ["tallahassee-police-department"])
        do {
            let clerk = server.tokens["tallahassee-police-department"]
            for (index, (name, type, model, signed)) in ScenarioTests.agreements.enumerated() {
                let reply = try await server.submit(.registerAgreement(RegisterAgreement(
                    agencyName: name, agencyType: try #require(AgencyType(rawValue: type)), county: nil,
                    model: try #require(Model(codeOrName: model)), signedOn: try #require(FloridaDate(iso: signed)),
                    moaURL: nil, sourceEdition: "2025-07-18pm")), token: server.tokens["registrar"], key: "r\(index)")
                #expect(reply.status == 200, "\(reply.text)")
            }
            let tallahassee = try #require(AgencyID(slug: "tallahassee-police-department"))
            let request = UUID()
            func filing(_ reason: String) throws -> DomainCommand {
                .submitTerminationRequest(SubmitTerminationRequest(
                    requestID: request, agencyID: tallahassee, model: .taskForce, reason: reason, localAuthorization: "Resolution 25-R-31",
                    filedOn: try #require(FloridaDate(iso: "2025-08-18"))))
            }
            let filed = try await server.submit(try filing("City commission vote"), token: clerk, key: "k1")
            #expect(filed.status == 200, "\(filed.text)")
            let commandID = try #require(try filed.json()["command_id"] as? String)
            let again = try await server.submit(try filing("City commission vote"), token: clerk, key: "k1")
            #expect(again.status == 200)
            #expect(try again.json()["command_id"] as? String == commandID)
            let reused = try await server.submit(try filing("Another reason"), token: clerk, key: "k1")
            #expect(reused.status == 409, "\(reused.text)")
            #expect(reused.header("Content-Type") == "application/problem+json")
            let problem = try reused.json()
            #expect(problem["code"] as? String == "idempotency_key_reused")
            #expect(problem["command_id"] as? String == commandID)
            #expect(problem["field"] as? String == "Idempotency-Key")
            #expect((problem["detail"] as? String)?.contains("already used for command \(commandID) (submit_termination_request") == true)

            // Anonymous: the public log, as the pages show it. Never a login name.
            let id = request.uuidString.lowercased()
            let history = try await server.request("GET", "/v1/requests/\(id)/history")
            #expect(history.status == 200, "\(history.text)")
            let events = try #require(try history.json()["events"] as? [[String: Any]])
            #expect(events.first?["event_type"] as? String == "TerminationRequestSubmitted")
            #expect(events.first?["actor"] as? String == "agency_clerk (tallahassee-police-department)")
            #expect(!history.text.contains("clerk_\(server.suffix)"))
            let agencyHistory = try await server.request("GET", "/v1/agencies/tallahassee-police-department/history")
            #expect(agencyHistory.status == 200 && !agencyHistory.text.contains("clerk_\(server.suffix)"), "\(agencyHistory.text)")
            let asOf = try await server.request("GET", "/v1/register?as_of=3")
            #expect(asOf.status == 200, "\(asOf.text)")
            #expect((1...3).contains((try asOf.json()["agreements"] as? [Any])?.count ?? 0), "\(asOf.text)")
            let requestAsOf = try await server.request("GET", "/v1/requests/\(id)?as_of=2025-12-31")
            #expect(requestAsOf.status == 200, "\(requestAsOf.text)")
            #expect(try requestAsOf.json()["state"] as? String == "submitted", "\(requestAsOf.text)")
            let seats = try await server.request("GET", "/v1/seats")
            #expect(seats.status == 200, "\(seats.text)")
            let verify = try await server.request("GET", "/v1/verify")
            #expect(verify.status == 200, "\(verify.text)")
            #expect(try verify.json()["ok"] as? Bool == true)
            #expect(try verify.json()["scope"] as? String == "links")
            let full = try await server.request("GET", "/v1/verify", token: server.tokens["auditor"])
            #expect(try full.json()["ok"] as? Bool == true)
            #expect(try full.json()["scope"] as? String == "full")
            // The pages show the same to the public.
            #expect(try await server.request("GET", "/board").status == 200)
            #expect(try await server.request("GET", "/verify").status == 200)
            // A clerk's token folds nothing: its grants decide (no log access), not the public view.
            for path in ["/v1/seats", "/v1/verify", "/v1/register?as_of=3", "/v1/requests/\(id)/history"] {
                let refused = try await server.request("GET", path, token: clerk)
                #expect(refused.status == 403, "\(path): \(refused.status) \(refused.text)")
                #expect(try refused.json()["code"] as? String == "permission_denied")
            }

            // Unknown paths: HTML for a browser, problem+json for the API and for other clients.
            let page = try await server.request("GET", "/no/such/page", headers: ["Accept": "text/html,application/xhtml+xml"])
            #expect(page.status == 404)
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true, "\(page.headers)")
            #expect(page.text.contains("No such page") && page.text.contains("<html"))
            let plain = try await server.request("GET", "/no/such/page")
            #expect(plain.status == 404 && plain.header("Content-Type") == "application/problem+json")
            let api = try await server.request("GET", "/v1/nowhere", headers: ["Accept": "text/html"])
            #expect(api.status == 404 && api.header("Content-Type") == "application/problem+json")
            #expect(try api.json()["code"] as? String == "not_found")

            // Ready, from the daemon in this process.
            let ready = try await server.request("GET", "/health/ready")
            #expect(ready.status == 200, "\(ready.text)")
            #expect(try ready.json()["daemon"] as? String == "deciding (in this process)")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test("/health/ready with the daemon in another process: absent without one, ready while one waits on the queue, absent once it is killed")
    func readyFromTheDatabase() async throws {
        let server = try await ServerFixture.start(withDaemon: false)
        do {
            func ready() async throws -> (Int, String) {
                let reply = try await server.request("GET", "/health/ready")
                return (reply.status, try reply.json()["daemon"] as? String ?? "")
            }
            let before = try await ready()
            #expect(before.0 == 503 && before.1.hasPrefix("absent: no daemon waits for commands"), "\(before)")
            let daemon = try DaemonProcess(server.dsn)
            var during = try await ready()
            for _ in 0..<100 where during.0 != 200 {
                try await Task.sleep(for: .milliseconds(100))
                during = try await ready()
            }
            #expect(during.0 == 200 && during.1 == "deciding: 1 daemon(s) waiting for commands", "\(during)")
            daemon.kill()
            var after = try await ready()
            for _ in 0..<100 where after.0 != 503 {
                try await Task.sleep(for: .milliseconds(100))
                after = try await ready()
            }
            #expect(after.0 == 503 && after.1.hasPrefix("absent"), "\(after)")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
