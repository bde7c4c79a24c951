import Foundation
import Testing
import Workflow

/// Issue 10, item 8: a waiting `sbie` client survives the end of its session (server
/// restart, `pg_terminate_backend`), and every submission carries an idempotency key
/// that a retry can reuse.
@Suite("The sbie client across a lost session (live database, subprocess)",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"), .serialized)
struct ClientRestartTests {
    static let request = [
        "request", "--agency", "Tallahassee Police Department", "--model", "TFM",
        "--reason", "Commission vote", "--authorization", "Resolution 25-31", "--filed", "2025-08-01",
    ]

    /// Ends every other session on the test database (the client's), as a restart would.
    static func terminateOthers(_ db: Connection) async throws -> Int {
        try await db.query(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                + "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).rows[0].decode(0)
    }

    @Test("a waiting `sbie request` reconnects after its session is terminated, keeps waiting and prints the outcome")
    func waitSurvivesTerminatedSession() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn, logger: TestDatabase.logger)
            _ = try await CommandQueue.submit(type: "register_agreement", payload: SbieProcessTests.register, idempotencyKey: "r1", on: db)
            var processor = CommandProcessor()
            _ = try await drain(&processor, db)

            var terminated = 0
            var terminatedAt: ContinuousClock.Instant?
            let run = try await sbie(Self.request + ["--timeout", "60"], dsn: dsn) {
                if terminatedAt == nil {
                    // Once the command is queued (the client is waiting), end the client's session.
                    guard try await pendingCount(db) == 1 else { return }
                    try await Task.sleep(for: .milliseconds(300))
                    terminated = try await Self.terminateOthers(db)
                    terminatedAt = .now
                } else if let at = terminatedAt, at.duration(to: .now) > .seconds(1) {
                    _ = try await drain(&processor, db)  // the daemon decides after the client reconnected
                }
            }
            #expect(terminated == 1)
            #expect(run.status == 0, "\(run.stderr)")
            let commandID = try #require(try await CommandQueue.commands(on: db).last(where: { $0.commandType == "submit_termination_request" })?.commandID)
            let id = commandID.uuidString.lowercased()
            #expect(run.stderr.contains("note: connection lost while waiting for command \(id)"), "\(run.stderr)")
            #expect(run.stderr.contains("note: reconnected; still waiting for command \(id)"), "\(run.stderr)")
            #expect(run.stdout.contains("accepted: submit_termination_request (command \(id))"), "\(run.stdout)")
            #expect(try await CommandQueue.commands(on: db).filter { $0.commandType == "submit_termination_request" }.count == 1)
        }
    }

    @Test("the generated idempotency key is printed; retried with it, the command is submitted once")
    func generatedKeyMakesRetriesSafe() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn, logger: TestDatabase.logger)
            _ = try await CommandQueue.submit(type: "register_agreement", payload: SbieProcessTests.register, idempotencyKey: "r1", on: db)
            var processor = CommandProcessor()
            _ = try await drain(&processor, db)

            // No daemon: the client gives up, naming the command and the key to retry with.
            let first = try await sbie(Self.request + ["--timeout", "0.5"], dsn: dsn)
            #expect(first.status == 2)
            let note = try #require(first.stderr.split(separator: "\n").first { $0.hasPrefix("note: idempotency key ") })
            let key = try #require(note.split(separator: " ").dropFirst(3).first.map(String.init))
            let queued = try #require(try await CommandQueue.commands(status: .pending, on: db).first)
            #expect(queued.idempotencyKey == key)
            #expect(first.stderr.contains("Command \(queued.commandID.uuidString.lowercased()) stays queued"))
            #expect(first.stderr.contains("--idempotency-key \(key) returns it, never a second one"))

            // The retry with that key returns the same command: still one in the queue.
            let retry = try await sbie(Self.request + ["--idempotency-key", key, "--no-wait"], dsn: dsn)
            #expect(retry.status == 0, "\(retry.stderr)")
            #expect(retry.stdout.contains("queued command \(queued.commandID.uuidString.lowercased())"))
            #expect(!retry.stderr.contains("note: idempotency key"))
            #expect(try await pendingCount(db) == 1)
        }
    }
}
