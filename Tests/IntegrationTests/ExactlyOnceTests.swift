import Foundation
import Testing
import Workflow

/// Issue 10 (exactly once, fenced) and issue 11 items 1 and 4, against a live PostgreSQL with
/// real `sbie run` processes.

/// (status, error code, event positions) of every command, by idempotency key; timers (whose
/// keys name their parent's random command id) by their parent's key.
func outcomesByKey(_ db: Connection) async throws -> [String: String] {
    let rows = try await db.query(
        """
        SELECT coalesce(p.idempotency_key || '/timer', c.idempotency_key),
               c.status || ' ' || coalesce(c.error_code, '-') || ' ' || array_to_string(c.event_positions, ',')
        FROM commands c
        LEFT JOIN commands p ON c.idempotency_key LIKE 'timer:%' AND p.command_id::text = split_part(c.idempotency_key, ':', 2)
        """).rows
    var out: [String: String] = [:]
    for row in rows { out[try row.decode(0, as: String.self), default: ""] += try row.decode(1, as: String.self) }
    return out
}

/// An order-sensitive workload: registrations, repeated registrations (rejected when the
/// first is decided before them), requests and withdrawals for the same agreements.
func orderSensitiveWorkload(_ count: Int, from first: Int = 0, prefix: String = "") -> [Statement] {
    var statements: [Statement] = []
    for index in first..<(first + count) {
        let agency = String(format: "test-police-department-%05d", index)
        statements.append(Statement("SELECT submit_command('register_agreement', $1::json, $2)",
                                    [registerPayload(index), "\(prefix)r-\(index)"]))
        if index % 10 == 3 {
            statements.append(Statement("SELECT submit_command('register_agreement', $1::json, $2)",
                                        [registerPayload(index - 2), "\(prefix)again-\(index)"]))
        }
        if index % 7 == 0 {
            // A request for the next agency, before its registration: rejected, whatever the batch.
            let next = String(format: "test-police-department-%05d", index + 1)
            let early = String(format: "00000000-0000-4000-9000-%012d", index)
            statements.append(Statement(
                "SELECT submit_command('submit_termination_request', $1::json, $2)",
                ["{\"request_id\":\"\(early)\",\"agency_id\":\"\(next)\",\"model\":\"TFM\",\"reason\":\"vote\","
                    + "\"local_authorization\":\"Early\",\"filed_on\":\"2025-08-01\"}", "\(prefix)early-\(index)"]))
        }
        if index % 5 == 0 {
            let request = String(format: "00000000-0000-4000-8000-%012d", index)
            statements.append(Statement(
                "SELECT submit_command('submit_termination_request', $1::json, $2)",
                ["{\"request_id\":\"\(request)\",\"agency_id\":\"\(agency)\",\"model\":\"TFM\",\"reason\":\"vote\","
                    + "\"local_authorization\":\"Resolution \(index)\",\"filed_on\":\"2025-08-01\"}", "\(prefix)q-\(index)"]))
            if index % 10 == 0 {
                statements.append(Statement(
                    "SELECT submit_command('withdraw_termination_request', $1::json, $2)",
                    ["{\"request_id\":\"\(request)\",\"agency_id\":\"\(agency)\",\"withdrawn_on\":\"2025-08-02\"}",
                     "\(prefix)w-\(index)"]))
            }
            // A second request for the same agreement: refused while the first is open.
            let second = String(format: "00000000-0000-4000-a000-%012d", index)
            statements.append(Statement(
                "SELECT submit_command('submit_termination_request', $1::json, $2)",
                ["{\"request_id\":\"\(second)\",\"agency_id\":\"\(agency)\",\"model\":\"TFM\",\"reason\":\"vote\","
                    + "\"local_authorization\":\"Again \(index)\",\"filed_on\":\"2025-08-03\"}", "\(prefix)q2-\(index)"]))
        }
    }
    return statements
}

/// Waits until nothing is pending (backoff included), then returns.
func drainQueue(_ processor: inout CommandProcessor, _ db: Connection, timeout: Duration = .seconds(120)) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while try await pendingCount(db) > 0 {
        guard ContinuousClock.now < deadline else { Issue.record("commands still pending after \(timeout)"); return }
        if try await processor.processBatch(on: db, logger: TestDatabase.logger).processed == 0 {
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

func isAlive(_ daemon: DaemonProcess) -> Bool { daemon.process.isRunning }

@Suite("Exactly once, fenced (live database, real child processes)", .serialized,
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct ExactlyOnceTests {
    @Test("the decision order is a function of the queue: batch sizes 1, 17 and 200, with and without backoff, agree")
    func orderIndependentOfBatchSize() async throws {
        var results: [[String: String]] = []
        var logs: [[String]] = []
        for (size, inject) in [(1, false), (17, true), (200, false), (200, true)] {
            try await TestDatabase.with { dsn in
                let db = try await Connection.connect(dsn)
                try await db.pipeline(orderSensitiveWorkload(120))
                if inject {
                    // The first three appends fail: their commands back off and hold back the queue.
                    try await db.executeScript(
                        """
                        CREATE SEQUENCE inject_seq;
                        CREATE FUNCTION inject_failure() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
                        BEGIN IF nextval('inject_seq') <= 3 THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NULL; END $$;
                        CREATE TRIGGER inject AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION inject_failure();
                        """)
                }
                var configuration = CommandProcessor.Configuration()
                configuration.batchSize = size
                var processor = CommandProcessor(configuration: configuration)
                try await drainQueue(&processor, db)
                results.append(try await outcomesByKey(db))
                logs.append(try await db.query("SELECT event_type || ' ' || stream_id || ' ' || data::text FROM events ORDER BY 1")
                    .rows.map { try $0.decode(0, as: String.self) })
                if inject {
                    let attempts: Int = try await db.query("SELECT count(*) FROM command_attempts").rows[0].decode(0)
                    // The first failure is a whole batch's (its commands are then retried one at a
                    // time, uncharged); the next two are the head command's, each kept.
                    #expect(attempts == 2, "each failed attempt of a command is kept")
                }
                try await assertEventsMatchOutcomes(db, expectedEvents: try await db.query("SELECT count(*) FROM events").rows[0].decode(0))
            }
        }
        let rejected = results[0].values.filter { $0.hasPrefix("rejected") }.count
        #expect(rejected >= 12, "the workload has order-dependent rejections: \(rejected)")
        for other in results.dropFirst() {
            #expect(other == results[0])
        }
        for other in logs.dropFirst() { #expect(other == logs[0]) }
    }

    @Test("a failure is fenced: a stale record changes nothing; attempts are kept and survive retry")
    func fencedFailureRecords() async throws {
        try await SecurityFixture.with { fixture in
            let daemon = try await fixture.connect(fixture.daemon)
            let admin = fixture.admin
            let id = try await rawSubmit(admin, "register_agreement", registerPayload(7))
            // A failure recorded at a stale attempt count: nothing changes.
            let stale = try await daemon.query(
                "SELECT applied FROM record_command_failure($1, 3, 'internal_error', 'x', 'test', 5)", [id]).rows[0]
            #expect(try stale.decode(0, as: Bool.self) == false)
            // Dead-lettered after max attempts (1 here), kept in command_attempts, and kept by retry.
            let applied = try await daemon.query(
                "SELECT applied, dead_letter FROM record_command_failure($1, 0, 'internal_error', 'disk on fire', 'test', 1)",
                [id]).rows[0]
            #expect(try applied.decode(0, as: Bool.self) && applied.decode(1, as: Bool.self))
            #expect(try await CommandQueue.command(id, on: admin)?.status == .failed)
            #expect(try await CommandQueue.retryFailed(id, on: admin) == 1)
            let attempts = try await CommandQueue.attempts(id, on: admin)
            #expect(attempts.count == 1)
            #expect(attempts.first?.errorMessage == "disk on fire")
            #expect(attempts.first?.daemonID == "\(fixture.daemon)/test")
            #expect(attempts.first?.deadLetter == true)
            // An outcome for a command that is not pending is refused whole (CQ010).
            var processor = CommandProcessor()
            _ = try await drain(&processor, admin)
            #expect(try await CommandQueue.command(id, on: admin)?.status == .accepted)
            let outcome = "[{\"command_id\":\"\(id.uuidString.lowercased())\",\"status\":\"rejected\",\"error_code\":\"x\"}]"
            #expect(await sqlState { try await daemon.query("SELECT record_outcomes($1::json)", [outcome]) } == "CQ010")
            #expect(try await CommandQueue.command(id, on: admin)?.status == .accepted)
        }
    }

    @Test("the daemon's login has only its functions: no INSERT or UPDATE on commands, timers only for system commands")
    func daemonRights() async throws {
        try await SecurityFixture.with { fixture in
            let daemon = try await fixture.connect(fixture.daemon)
            let id = try await rawSubmit(fixture.admin, "register_agreement", registerPayload(1))
            #expect(await sqlState {
                try await daemon.query(
                    "INSERT INTO commands (submitted_by, idempotency_key, command_type, payload) VALUES ($1, 'k', 'register_agreement', '{}')",
                    [fixture.clerkA])
            } == "42501")
            #expect(await sqlState {
                try await daemon.query("UPDATE commands SET payload = '{\"agency_name\":\"X\"}' WHERE command_id = $1", [id])
            } == "42501")
            #expect(await sqlState { try await daemon.query("DELETE FROM commands") } == "42501")
            #expect(await sqlState { try await daemon.query("SELECT * FROM writer_lock FOR UPDATE") } == "42501")
            let registerTimer = "[{\"idempotency_key\":\"t\",\"command_type\":\"register_agreement\","
                + "\"payload\":{},\"available_at\":\"2025-01-01T00:00:00Z\"}]"
            #expect(await sqlState { try await daemon.query("SELECT enqueue_timers($1::json)", [registerTimer]) } == "42501")
            // Its one kind of insert: a system timer, under its own login.
            let timer = "[{\"idempotency_key\":\"t\",\"command_type\":\"end_agreement\",\"payload\":{\"agreement_id\":\"x\"},"
                + "\"available_at\":\"2025-01-01T00:00:00Z\"}]"
            #expect(try await daemon.query("SELECT enqueue_timers($1::json)", [timer]).rows[0].decode(0, as: Int.self) == 1)
            let by: String = try await fixture.admin.query(
                "SELECT submitted_by FROM commands WHERE idempotency_key = 't'").rows[0].decode(0)
            #expect(by == fixture.daemon)
            #expect(try await CommandQueue.command(id, on: fixture.admin)?.status == .pending)
        }
    }

    @Test("a clerk holding advisory locks (the old writer key and others) delays no command; the writer's lock is out of reach")
    func clerkCannotStallTheWriter() async throws {
        try await SecurityFixture.with { fixture in
            let clerk = try await fixture.connect(fixture.clerkA)
            let auditor = try await fixture.connect(fixture.auditor)
            for key in [287000001, 287000000, 287000002, 1] { try await clerk.query("SELECT pg_advisory_lock($1::bigint)", [key]) }
            try await auditor.query("SELECT pg_advisory_lock(28700, 1)")
            #expect(await sqlState { try await clerk.query("SELECT * FROM writer_lock FOR UPDATE") } == "42501")
            #expect(await sqlState { try await auditor.query("SELECT * FROM writer_lock_acquire(0)") } == "42501")
            #expect(await sqlState { try await clerk.query("SELECT * FROM claim_commands(10)") } == "42501")
            #expect(await sqlState { try await clerk.executeScript("BEGIN; LOCK TABLE writer_lock; ROLLBACK") } == "42501")
            try await clerk.executeScript("ROLLBACK")
            let dsn = ConnectionString.replacingUser(in: fixture.dsn, with: fixture.daemon)
            let daemon = try DaemonProcess(dsn, ["--poll-interval", "100"])
            let started = ContinuousClock.now
            let ids = try await (0..<20).asyncMap { try await rawSubmit(fixture.admin, "register_agreement", registerPayload($0)) }
            for id in ids {
                #expect(try await CommandQueue.waitForOutcome(id, timeout: .seconds(10), on: fixture.admin)?.status == .accepted)
            }
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(daemon.terminate() == 0)
        }
    }

    @Test("occurred_at outside 1900 .. 2200, or not a timestamp, is refused with ES004")
    func occurredAtRange() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            for bad in ["1899-12-31T23:59:59Z", "2200-01-01T00:00:00Z", "infinity", "-infinity", "yesterday-ish", "10000-01-01"] {
                let events = "[{\"event_id\":\"\(UUID().uuidString.lowercased())\",\"event_type\":\"X\",\"data\":{},\"occurred_at\":\"\(bad)\"}]"
                #expect(await sqlState { try await db.query("SELECT * FROM append_events('x-1', 'any', $1::json)", [events]) } == "ES004",
                        "\(bad)")
            }
            let good = "[{\"event_id\":\"\(UUID().uuidString.lowercased())\",\"event_type\":\"X\",\"data\":{},\"occurred_at\":\"1900-01-01T00:00:00Z\"}]"
            #expect(try await db.query("SELECT global_position FROM append_events('x-1', 'any', $1::json)", [good]).rows.count == 1)
        }
    }

    @Test("an unknown event stops deciding (not ready, alive); cancels and a 1 s statement_timeout don't kill it; restoring an earlier copy resumes it")
    func unreadableEventsAndCancels() async throws {
        try await TestDatabase.with { dsn in
            let admin = try await Connection.connect(try TestDatabase.adminDSN())
            let name = try #require(dsn.components(separatedBy: "dbname='").last?.replacingOccurrences(of: "'", with: ""))
            var db = try await Connection.connect(dsn)
            let daemon = try DaemonProcess(dsn, ["--poll-interval", "100"])
            defer { daemon.kill() }
            let first = try await rawSubmit(db, "register_agreement", registerPayload(1))
            #expect(try await CommandQueue.waitForOutcome(first, timeout: .seconds(10), on: db)?.status == .accepted)
            // A 1 s statement_timeout for new sessions, and cancels of whatever the daemon runs.
            try await admin.executeScript("ALTER DATABASE \(name) SET statement_timeout = '1s'")
            try await db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            for _ in 0..<20 {
                try await db.query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(isAlive(daemon))
            let second = try await rawSubmit(db, "register_agreement", registerPayload(2))
            #expect(try await CommandQueue.waitForOutcome(second, timeout: .seconds(15), on: db)?.status == .accepted)
            try await admin.executeScript("ALTER DATABASE \(name) RESET statement_timeout")

            // An earlier copy, taken now (connections held off while it is copied).
            try await swapDatabase(admin, name, copyTo: "\(name)_copy")
            db = try await Connection.connect(dsn)
            // An event of a type this version does not know, appended as the design allows.
            let events = "[{\"event_id\":\"\(UUID().uuidString.lowercased())\",\"event_type\":\"FromTheFuture\",\"data\":{\"x\":1}}]"
            try await db.query("SELECT * FROM append_events('future-1', 'any', $1::json)", [events])
            let blocked = try await rawSubmit(db, "register_agreement", registerPayload(3))
            try await Task.sleep(for: .seconds(2))
            #expect(isAlive(daemon))
            #expect(try await CommandQueue.command(blocked, on: db)?.status == .pending, "nothing is decided past an unreadable event")
            #expect(try await ChainVerifier.verify(on: db).isIntact, "verify reads bytes, not types")
            await #expect(throws: UnreadableEvent.self) { try await Projections.rebuild(checkOnly: true, on: db) }
            // Restore the earlier copy: the event is gone, the daemon rebuilds its state and resumes.
            try await swapDatabase(admin, name, replaceWith: "\(name)_copy")
            db = try await Connection.connect(dsn)
            let third = try await rawSubmit(db, "register_agreement", registerPayload(3))
            #expect(try await CommandQueue.waitForOutcome(third, timeout: .seconds(20), on: db)?.status == .accepted)
            #expect(isAlive(daemon))
            #expect(try await ChainVerifier.verify(on: db).isIntact)
            _ = try? await admin.executeScript("DROP DATABASE IF EXISTS \(name)_old WITH (FORCE)")
        }
    }

    @Test("the database replaced by an earlier copy under a running daemon: outcomes equal a clean run's", .timeLimit(.minutes(5)))
    func restoredDatabase() async throws {
        let before = (0..<300).map { Statement("SELECT submit_command('register_agreement', $1::json, $2)", [registerPayload($0), "a-\($0)"]) }
        // After the restore: the same registrations as the lost future, so a stale state rejects them.
        let after = orderSensitiveWorkload(300, from: 300, prefix: "b-")
        let lost = (300..<600).map { Statement("SELECT submit_command('register_agreement', $1::json, $2)", [registerPayload($0), "l-\($0)"]) }
        var clean: [String: String] = [:]
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            try await db.pipeline(before)
            var processor = CommandProcessor()
            try await drainQueue(&processor, db)
            try await db.pipeline(after)
            try await drainQueue(&processor, db)
            clean = try await outcomesByKey(db)
        }
        try await TestDatabase.with { dsn in
            let admin = try await Connection.connect(try TestDatabase.adminDSN())
            let name = try #require(dsn.components(separatedBy: "dbname='").last?.replacingOccurrences(of: "'", with: ""))
            var db = try await Connection.connect(dsn)
            let daemon = try DaemonProcess(dsn, ["--poll-interval", "100", "--batch-size", "50"])
            defer { daemon.kill() }
            try await db.pipeline(before)
            try await waitUntilDrained(db)
            try await swapDatabase(admin, name, copyTo: "\(name)_copy")
            db = try await Connection.connect(dsn)
            try await db.pipeline(lost)
            try await waitUntilDrained(db)
            try await swapDatabase(admin, name, replaceWith: "\(name)_copy")
            db = try await Connection.connect(dsn)
            try await db.pipeline(after)
            try await waitUntilDrained(db)
            #expect(isAlive(daemon))
            let restored = try await outcomesByKey(db)
            #expect(restored == clean)
            #expect(try await db.query("SELECT count(*) FROM commands WHERE status = 'failed'").rows[0].decode(0, as: Int.self) == 0)
            #expect(try await ChainVerifier.verify(on: db).isIntact)
            #expect(try await Projections.rebuild(checkOnly: true, on: db).matches)
            _ = try? await admin.executeScript("DROP DATABASE IF EXISTS \(name)_old WITH (FORCE)")
        }
    }

    @Test("two daemons, one failing 1 batch in 20 (trigger on its login): one outcome each, equal to one clean daemon's",
          .timeLimit(.minutes(8)))
    func twoDaemonsWithInjectedFailures() async throws {
        let count = Int(ProcessInfo.processInfo.environment["SBIE_FENCING_COMMANDS"] ?? "") ?? 2_500
        var clean: [String: String] = [:]
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            try await db.pipeline(orderSensitiveWorkload(count))
            let single = try DaemonProcess(dsn, ["--batch-size", "50"])
            try await waitUntilDrained(db, timeout: .seconds(300))
            #expect(single.terminate() == 0)
            clean = try await outcomesByKey(db)
        }
        try await SecurityFixture.with { fixture in
            let second = "\(fixture.daemon)_2"
            try await Logins.create(second, role: .daemon, on: fixture.admin)
            defer { Task { await SecurityFixture.dropRoles([second]) } }
            try await fixture.admin.executeScript(
                """
                CREATE SEQUENCE injected;
                CREATE FUNCTION inject_failure() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
                BEGIN
                    IF session_user = '\(second)' AND random() < 0.05 THEN
                        PERFORM nextval('injected');
                        RAISE EXCEPTION 'injected transient failure';
                    END IF;
                    RETURN NULL;
                END $$;
                CREATE TRIGGER inject AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION inject_failure();
                """)
            let db = fixture.admin
            try await db.pipeline(orderSensitiveWorkload(count))
            let a = try DaemonProcess(ConnectionString.replacingUser(in: fixture.dsn, with: fixture.daemon), ["--batch-size", "20"])
            let b = try DaemonProcess(ConnectionString.replacingUser(in: fixture.dsn, with: second), ["--batch-size", "20"])
            try await waitUntilDrained(db, timeout: .seconds(300))
            #expect(a.terminate() == 0)
            #expect(b.terminate() == 0)
            let failures: Int = try await db.query("SELECT count(*) FROM command_attempts").rows[0].decode(0)
            let injected: Int = try await db.query("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM injected").rows[0].decode(0)
            #expect(injected > 0, "the trigger failed some of the second daemon's batches")
            #expect(try await outcomesByKey(db) == clean)
            let events: Int = try await db.query("SELECT count(*) FROM events").rows[0].decode(0)
            try await assertEventsMatchOutcomes(db, expectedEvents: events)
            #expect(try await ChainVerifier.verify(on: db).isIntact)
            print("fencing: \(count) workload rows, \(injected) injected failures, \(failures) failed attempts recorded")
        }
    }

    @Test("a frozen daemon (SIGSTOP mid-batch) holds no one hostage; woken, it commits nothing", .timeLimit(.minutes(5)))
    func frozenDaemon() async throws {
        let trials = Int(ProcessInfo.processInfo.environment["SBIE_TAKEOVER_TRIALS"] ?? "") ?? 2
        var takeovers: [Duration] = []
        try await SecurityFixture.with { fixture in
            let frozen = fixture.daemon
            let healthyLogin = "\(fixture.daemon)_h"
            try await Logins.create(healthyLogin, role: .daemon, on: fixture.admin)
            defer { Task { await SecurityFixture.dropRoles([healthyLogin]) } }
            // The frozen daemon's appends are slow, so it can be stopped mid-batch.
            try await fixture.admin.executeScript(
                """
                CREATE FUNCTION slow_append() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF session_user = '\(frozen)' THEN PERFORM pg_sleep(1); END IF; RETURN NULL; END $$;
                CREATE TRIGGER slow AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION slow_append();
                """)
            let db = fixture.admin
            var next = 0
            for _ in 0..<trials {
                let stuck = try DaemonProcess(ConnectionString.replacingUser(in: fixture.dsn, with: frozen), ["--poll-interval", "100"])
                try await rawSubmit(db, "register_agreement", registerPayload(next))
                next += 1
                // Wait until it is inside its batch (in the trigger's sleep), then freeze it.
                var inside = false
                for _ in 0..<100 where !inside {
                    inside = try await db.query(
                        "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND wait_event = 'PgSleep'", [frozen]
                    ).rows[0].decode(0, as: Int.self) > 0
                    if !inside { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(inside)
                kill(stuck.process.processIdentifier, SIGSTOP)
                let healthy = try DaemonProcess(ConnectionString.replacingUser(in: fixture.dsn, with: healthyLogin),
                                                ["--poll-interval", "100"])
                let started = ContinuousClock.now
                try await db.pipeline((next..<(next + 100)).map {
                    Statement("SELECT submit_command('register_agreement', $1::json, $2)", [registerPayload($0), "f-\($0)"])
                })
                next += 100
                try await waitUntilDrained(db, timeout: .seconds(30))
                takeovers.append(ContinuousClock.now - started)
                kill(stuck.process.processIdentifier, SIGCONT)
                try await Task.sleep(for: .seconds(1))
                _ = stuck.terminate()
                #expect(healthy.terminate() == 0)
                try await assertEventsMatchOutcomes(db, expectedEvents: next)
            }
            #expect(try await ChainVerifier.verify(on: db).isIntact)
            #expect(try await Projections.rebuild(checkOnly: true, on: db).matches)
        }
        let sorted = takeovers.sorted()
        print("takeover over \(sorted.count) trials: min \(sorted.first ?? .zero), median \(sorted[sorted.count / 2]), max \(sorted.last ?? .zero)")
        #expect((sorted.last ?? .zero) < .seconds(15))
    }
}

/// Holds connections off `name`, ends its sessions, then either copies it to `copyTo` or renames
/// `replaceWith` into its place (the old one becomes `name_old`); connections are allowed again.
func swapDatabase(_ admin: Connection, _ name: String, copyTo: String? = nil, replaceWith: String? = nil) async throws {
    try await admin.executeScript("ALTER DATABASE \(name) WITH ALLOW_CONNECTIONS false")
    try await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name])
    var done = false
    for _ in 0..<50 where !done {
        do {
            if let copyTo {
                try await admin.executeScript("CREATE DATABASE \(copyTo) TEMPLATE \(name)")
            } else if let replaceWith {
                try await admin.executeScript("DROP DATABASE IF EXISTS \(name)_old WITH (FORCE)")
                try await admin.executeScript("ALTER DATABASE \(name) RENAME TO \(name)_old")
                try await admin.executeScript("ALTER DATABASE \(replaceWith) RENAME TO \(name)")
            }
            done = true
        } catch {
            try await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name])
            try await Task.sleep(for: .milliseconds(100))
        }
    }
    try await admin.executeScript("ALTER DATABASE \(name) WITH ALLOW_CONNECTIONS true")
    if replaceWith != nil { _ = try? await admin.executeScript("ALTER DATABASE \(name)_old WITH ALLOW_CONNECTIONS true") }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
