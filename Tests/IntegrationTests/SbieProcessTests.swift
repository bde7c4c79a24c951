import Foundation
import Testing
import Workflow

/// What a finished `sbie` run printed.
struct SbieRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `sbie ARGS -d DSN`; `meanwhile` runs repeatedly (e.g. draining the queue like a
/// daemon would) until the process exits.
func sbie(_ arguments: [String], dsn: String, meanwhile: () async throws -> Void = {}) async throws -> SbieRun {
    let executable = try #require(DaemonProcess.executable, "build the sbie executable first (swift build)")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments + ["--database", dsn]
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    while process.isRunning {
        try await meanwhile()
        try await Task.sleep(for: .milliseconds(50))
    }
    process.waitUntilExit()
    return SbieRun(
        status: process.terminationStatus,
        stdout: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
        stderr: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
}

@Suite("The sbie executable as a client (live database)",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"), .serialized)
struct SbieProcessTests {
    static let register = """
        {"agency_name":"Tallahassee Police Department","agency_type":"Municipality","model":"TFM",\
        "signed_on":"2025-03-10","source_edition":"2025-07-18pm"}
        """

    @Test("request --no-wait enqueues and prints the ids; status --json reads the result")
    func requestNoWaitThenStatus() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            _ = try await CommandQueue.submit(type: "register_agreement", payload: Self.register, idempotencyKey: "r1", on: db)
            var processor = CommandProcessor()
            _ = try await drain(&processor, db)

            let filed = try await sbie([
                "request", "--agency", "Tallahassee Police Department", "--model", "TFM",
                "--reason", "Commission vote", "--authorization", "Resolution 25-31", "--filed", "2025-08-01", "--no-wait",
            ], dsn: dsn)
            #expect(filed.status == 0, "\(filed.stderr)")
            let lines = filed.stdout.split(separator: "\n").map(String.init)
            let requestID = try #require(lines.first?.split(separator: " ").last.flatMap { UUID(uuidString: String($0)) })
            #expect(lines.count == 2 && lines[1].hasPrefix("queued command "))
            #expect(try await CommandQueue.commands(status: .pending, on: db).map(\.commandType) == ["submit_termination_request"])
            #expect(try await drain(&processor, db).accepted == 1)

            let status = try await sbie(["status", "--agency", "tallahassee-police-department", "--json"], dsn: dsn)
            #expect(status.status == 0, "\(status.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            let agreements = try #require(report["agreements"] as? [[String: Any]])
            let requests = try #require(report["requests"] as? [[String: Any]])
            #expect(agreements.map { $0["state"] as? String } == ["termination_requested"])
            #expect(requests.map { $0["request_id"] as? String } == [requestID.uuidString.lowercased()])

            let usage = try await sbie(["history"], dsn: dsn)
            #expect(usage.status == 2 && usage.stderr.contains("exactly one of --agency and --request"))

            let before = try await sbie(["status", "--as-of", "1", "--json"], dsn: dsn)
            let old = try #require(try JSONSerialization.jsonObject(with: Data(before.stdout.utf8)) as? [String: Any])
            #expect((old["agreements"] as? [[String: Any]])?.map { $0["state"] as? String } == ["active"])
        }
    }

    @Test("with `sbie run` as a child process, a request waits for and prints its outcome")
    func withDaemon() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            _ = try await CommandQueue.submit(type: "register_agreement", payload: Self.register, idempotencyKey: "r1", on: db)
            let daemon = try DaemonProcess(dsn)
            let filed = try await sbie([
                "request", "--agency", "Tallahassee Police Department", "--model", "TFM",
                "--reason", "Commission vote", "--authorization", "Resolution 25-31", "--filed", "2025-08-01",
                "--timeout", "60",
            ], dsn: dsn)
            #expect(daemon.terminate() == 0)
            #expect(filed.status == 0, "\(filed.stderr)")
            #expect(filed.stdout.contains("agreement tallahassee-police-department.tfm.2025-03-10: termination_requested"))
        }
    }

    @Test("a waiting command prints the daemon's outcome: accepted (exit 0), rejected (exit 1), no daemon (exit 2)")
    func waitForOutcome() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            _ = try await CommandQueue.submit(type: "register_agreement", payload: Self.register, idempotencyKey: "r1", on: db)
            var processor = CommandProcessor()
            _ = try await drain(&processor, db)
            let daemon: () async throws -> Void = { _ = try await drain(&processor, db) }

            let filed = try await sbie([
                "request", "--agency", "Tallahassee Police Department", "--model", "TFM",
                "--reason", "Commission vote", "--authorization", "Resolution 25-31", "--filed", "2025-08-01",
            ], dsn: dsn, meanwhile: daemon)
            #expect(filed.status == 0, "\(filed.stderr)")
            #expect(filed.stdout.contains("accepted: submit_termination_request"))
            #expect(filed.stdout.contains("TerminationRequestSubmitted"))
            #expect(filed.stdout.contains("agreement tallahassee-police-department.tfm.2025-03-10: termination_requested"))
            let requestID = try #require(filed.stdout.split(separator: "\n").first?.split(separator: " ").last.map(String.init))

            let notice = try await sbie(["notice", requestID, "--received", "2025-09-20"], dsn: dsn, meanwhile: daemon)
            #expect(notice.status == 1)
            #expect(notice.stdout.contains("rejected: not_approved"))
            #expect(notice.stdout.contains("s. 908.11"))

            let unattended = try await sbie(["schedule", requestID, "--meeting", "2025-09-16", "--timeout", "0.3"], dsn: dsn)
            #expect(unattended.status == 2)
            #expect(unattended.stderr.contains("is `sbie run` running?"))
            #expect(try await CommandQueue.commands(status: .pending, on: db).map(\.commandType) == ["schedule_review"])
        }
    }
}
