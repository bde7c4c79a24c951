import Foundation
import Testing
import Workflow

/// Runs the real `sbie` executable as a child process.
final class DaemonProcess: @unchecked Sendable {
    static let executable: URL? = {
        let directory = Bundle.main.executableURL?.deletingLastPathComponent()
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory.appendingPathComponent("sbie"),
                          TestDatabase.root.appendingPathComponent(".build/debug/sbie")]
        where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate
        }
        return nil
    }()

    let process = Process()

    init(_ dsn: String, _ arguments: [String] = []) throws {
        struct ExecutableMissing: Error, CustomStringConvertible {
            var description: String { "build the sbie executable first (swift build)" }
        }
        guard let executable = DaemonProcess.executable else { throw ExecutableMissing() }
        process.executableURL = executable
        process.arguments = ["run", "--database", dsn, "--log-level", "error"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// A test that fails before stopping its daemon does not leave it running (reconnecting
    /// forever to a dropped database) for the rest of the suite.
    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// SIGTERM, then the exit status.
    func terminate() -> Int32 {
        Foundation.kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }
}

func registerPayload(_ index: Int) -> String {
    let name = String(format: "Test Police Department %05d", index)
    return "{\"agency_name\":\"\(name)\",\"agency_type\":\"Municipality\",\"model\":\"TFM\","
        + "\"signed_on\":\"2025-03-10\",\"source_edition\":\"test\"}"
}

func pendingCount(_ db: Connection) async throws -> Int {
    try await db.query("SELECT count(*) FROM commands WHERE status = 'pending'").rows[0].decode(0)
}

func waitUntilDrained(_ db: Connection, timeout: Duration = .seconds(120)) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while try await pendingCount(db) > 0 {
        guard ContinuousClock.now < deadline else {
            Issue.record("commands still pending after \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Every event belongs to exactly one accepted command, and every command's
/// recorded positions are exactly its events.
func assertEventsMatchOutcomes(_ db: Connection, expectedEvents: Int) async throws {
    let row = try await db.query(
        """
        SELECT (SELECT count(*) FROM events),
               (SELECT count(*) FROM events e JOIN commands c
                  ON c.command_id = (e.metadata->>'command_id')::uuid AND e.global_position = ANY (c.event_positions)
                 WHERE c.status = 'accepted'),
               (SELECT coalesce(sum(cardinality(event_positions)), 0) FROM commands),
               (SELECT count(*) FROM commands WHERE status = 'pending' OR processed_at IS NULL)
        """).rows[0]
    #expect(try row.decode(0, as: Int.self) == expectedEvents)
    #expect(try row.decode(1, as: Int.self) == expectedEvents)
    #expect(try row.decode(2, as: Int.self) == expectedEvents)
    #expect(try row.decode(3, as: Int.self) == 0)
}

@Suite("Daemon processes (live database, real child processes)", .serialized,
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct DaemonProcessTests {
    @Test("SIGKILL at random moments 5 times: every command takes effect exactly once", .timeLimit(.minutes(5)))
    func exactlyOnceUnderCrashes() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let statements = (0..<2_000).map {
                Statement("SELECT submit_command('register_agreement', $1::json, $2)", [registerPayload($0), "crash-\($0)"])
            }
            try await db.pipeline(statements)
            // Every append takes at least 2 ms (a real sleep in the database, per event), so that
            // the 2,000 one-command transactions outlast the kills even when this test process is
            // starved of CPU by the tests running beside it while the daemon runs freely.
            try await db.executeScript("""
                CREATE FUNCTION sbie.test_slow_append() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN PERFORM pg_catalog.pg_sleep(0.002); RETURN NEW; END $$;
                CREATE TRIGGER test_slow_append BEFORE INSERT ON sbie.events
                    FOR EACH ROW EXECUTE FUNCTION sbie.test_slow_append();
                """)
            var kills = 0
            var interrupted = 0
            while kills < 5 {
                // Kill at a random moment once the daemon is deciding (its first batch committed):
                // a fixed delay would find the whole queue decided on a fast machine.
                let before = try await pendingCount(db)
                guard before > 0 else { break }
                // One command per transaction: 2,000 transactions, so a kill lands mid-work.
                let daemon = try DaemonProcess(dsn, ["--batch-size", "1"])
                let deadline = ContinuousClock.now.advanced(by: .seconds(5))
                while try await pendingCount(db) == before, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(2))
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...40)))
                daemon.kill()
                kills += 1
                if try await pendingCount(db) > 0 { interrupted += 1 }
            }
            #expect(interrupted > 0, "the kills should interrupt the work")
            try await db.executeScript("DROP TRIGGER test_slow_append ON sbie.events")
            let daemon = try DaemonProcess(dsn, ["--batch-size", "10"])
            try await waitUntilDrained(db)
            // Give a daemon that found nothing left to do the time to install its SIGTERM handler.
            try await Task.sleep(for: .milliseconds(500))
            #expect(daemon.terminate() == 0)
            try await assertEventsMatchOutcomes(db, expectedEvents: 2_000)
            #expect(try await db.query("SELECT count(*) FROM commands WHERE status = 'accepted'").rows[0]
                .decode(0, as: Int.self) == 2_000)
            let check = try await Projections.rebuild(checkOnly: true, on: db)
            #expect(check.matches)
            #expect(check.tables["agreement_status"]?[0] == 2_000)
            #expect(try await ChainVerifier.verify(on: db).isIntact)
        }
    }

    @Test("two daemons on one queue give the same log and projections as one", .timeLimit(.minutes(5)))
    func twoDaemonsEqualOne() async throws {
        func workload() -> [Statement] {
            var statements: [Statement] = (0..<4_000).map {
                Statement("SELECT submit_command('register_agreement', $1::json, $2)", [registerPayload($0), "r-\($0)"])
            }
            for index in stride(from: 0, to: 4_000, by: 4) {
                let agency = String(format: "test-police-department-%05d", index)
                let request = UUID(uuidString: String(format: "00000000-0000-4000-8000-%012d", index))?.uuidString.lowercased() ?? ""
                let payload = "{\"request_id\":\"\(request)\",\"agency_id\":\"\(agency)\",\"model\":\"TFM\","
                    + "\"reason\":\"council vote\",\"local_authorization\":\"Resolution \(index)\",\"filed_on\":\"2025-08-01\"}"
                statements.append(Statement("SELECT submit_command('submit_termination_request', $1::json, $2)",
                                            [payload, "q-\(index)"]))
            }
            return statements
        }
        func projections(_ db: Connection) async throws -> [String] {
            var out: [String] = []
            for table in Projections.inlineTables {
                let rows = try await db.query("SELECT t::text FROM \(table) t ORDER BY 1").rows
                out.append(contentsOf: try rows.map { try $0.decode(0, as: String.self) })
            }
            return out
        }
        try await TestDatabase.with { two in
            try await TestDatabase.with { one in
                let dbTwo = try await Connection.connect(two)
                let dbOne = try await Connection.connect(one)
                try await dbTwo.pipeline(workload())
                try await dbOne.pipeline(workload())
                let a = try DaemonProcess(two, ["--batch-size", "50"])
                let b = try DaemonProcess(two, ["--batch-size", "50"])
                let single = try DaemonProcess(one, ["--batch-size", "50"])
                try await waitUntilDrained(dbTwo)
                try await waitUntilDrained(dbOne)
                #expect(a.terminate() == 0)
                #expect(b.terminate() == 0)
                #expect(single.terminate() == 0)
                #expect(try await ChainVerifier.verify(on: dbTwo).isIntact)
                try await assertEventsMatchOutcomes(dbTwo, expectedEvents: 5_000)
                let left = try await projections(dbTwo)
                let right = try await projections(dbOne)
                #expect(left.count == 4_000 + 1_000 + 1_000)
                #expect(left == right)
                let types = "SELECT event_type, count(*) FROM events GROUP BY 1 ORDER BY 1"
                #expect(try await dbTwo.query(types).rows.map(\.values) == (try await dbOne.query(types).rows.map(\.values)))
            }
        }
    }

    @Test("SIGTERM while idle exits 0 promptly; an idle daemon wakes within milliseconds")
    func gracefulAndPrompt() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let daemon = try DaemonProcess(dsn, ["--poll-interval", "5000"])
            try await Task.sleep(for: .milliseconds(700))
            let record = try await CommandQueue.submit(type: "register_agreement", payload: registerPayload(1), idempotencyKey: "w", on: db)
            let outcome = try await CommandQueue.waitForOutcome(record.commandID, timeout: .seconds(4), on: db)
            #expect(outcome?.status == .accepted)
            let latency = try #require(outcome?.processedAt).microsecondsSinceEpoch - record.submittedAt.microsecondsSinceEpoch
            #expect(latency < 3_500_000, "woken by NOTIFY, not by the 5 s poll: \(latency) µs")
            let started = ContinuousClock.now
            #expect(daemon.terminate() == 0)
            #expect(ContinuousClock.now - started < .seconds(4), "SIGTERM stops it without waiting out the 5 s poll")
        }
    }

    @Test("SIGTERM while the database is unreachable exits 0 promptly, not after the reconnect backoff")
    func gracefulWhileDisconnected() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let login = "sigterm_daemon_\(UUID().uuidString.prefix(6).lowercased())"
            try await db.executeScript("CREATE ROLE \(login) LOGIN IN ROLE workflow_daemon")
            let daemon = try DaemonProcess(ConnectionString.replacingUser(in: dsn, with: login), ["--poll-interval", "200"])
            let first = try await CommandQueue.submit(type: "register_agreement", payload: registerPayload(1), idempotencyKey: "a", on: db)
            #expect(try await CommandQueue.waitForOutcome(first.commandID, timeout: .seconds(10), on: db)?.status == .accepted)
            // The daemon's login may no longer connect and its sessions are ended: it backs off
            // (250 ms doubling to 5 s) between attempts to reconnect.
            try await db.executeScript("ALTER ROLE \(login) NOLOGIN")
            let ended: Int = try await db.query(
                "SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE usename = $1", [login]).rows[0].decode(0)
            #expect(ended >= 2)
            try await Task.sleep(for: .seconds(4))  // by now a backoff of 2-5 s is under way
            let started = ContinuousClock.now
            let status = daemon.terminate()
            let took = ContinuousClock.now - started
            try await db.executeScript("DROP OWNED BY \(login); DROP ROLE \(login)")
            #expect(status == 0)
            #expect(took < .milliseconds(1_500), "SIGTERM waited out the backoff: \(took)")
        }
    }

    @Test("the daemon reconnects when its database sessions are terminated and keeps processing")
    func reconnects() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let daemon = try DaemonProcess(dsn, ["--poll-interval", "200"])
            let first = try await CommandQueue.submit(type: "register_agreement", payload: registerPayload(1), idempotencyKey: "a", on: db)
            #expect(try await CommandQueue.waitForOutcome(first.commandID, timeout: .seconds(10), on: db)?.status == .accepted)
            let killed: Int = try await db.query(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    + "WHERE datname = current_database() AND pid <> pg_backend_pid()").rows[0].decode(0)
            #expect(killed >= 2)
            let second = try await CommandQueue.submit(type: "register_agreement", payload: registerPayload(2), idempotencyKey: "b", on: db)
            #expect(try await CommandQueue.waitForOutcome(second.commandID, timeout: .seconds(15), on: db)?.status == .accepted)
            #expect(daemon.terminate() == 0)
        }
    }
}
