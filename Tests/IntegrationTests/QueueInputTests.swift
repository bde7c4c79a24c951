import Foundation
import Testing
import Workflow

/// Submits through raw SQL with an `available_at` given as text (e.g. `infinity`), as psql would.
private func submitAt(_ db: Connection, _ type: String, _ payload: String, availableAt: String) async throws {
    _ = try await db.query("SELECT command_id FROM submit_command($1, $2::json, $3, $4::timestamptz)",
                           [type, payload, UUID().uuidString, availableAt])
}

/// Issue 10, item 7: what reaches the queue is checked by the database at submission,
/// and nothing a submitter sends can stop the daemon.
@Suite("Queue input: available_at, repeated keys, sane timestamps (live database)",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct QueueInputTests {
    static let register = json(registration("Tallahassee Police Department"))

    @Test("available_at from a submitter (infinity, year 10000, 1970) is refused with CQ004; the daemon is unaffected")
    func availableAtOnlyForTheDaemon() async throws {
        try await SecurityFixture.with { f in
            let registrar = try await f.connect(f.registrar)
            let board = try await f.connect(f.board)
            let clerk = try await f.connect(f.clerkA)
            for value in ["infinity", "10000-01-01 00:00:00+00", "1970-01-01 00:00:00+00", "-infinity", "2026-01-01"] {
                #expect(await sqlState { try await submitAt(registrar, "register_agreement", Self.register, availableAt: value) } == "CQ004",
                        "registrar, \(value)")
            }
            let vote = json(["request_id": UUID().uuidString.lowercased(), "meeting_date": "2025-09-16", "votes": [:] as [String: Any]])
            #expect(await sqlState { try await submitAt(board, "record_board_vote", vote, availableAt: "1970-01-01") } == "CQ004")
            let filed = json(terminationRequest(SecurityFixture.agencyA))
            #expect(await sqlState { try await submitAt(clerk, "submit_termination_request", filed, availableAt: "infinity") } == "CQ004")
            // Through the library: the stable code, and the message names the field.
            let error = await #expect(throws: SubmissionError.self) {
                _ = try await CommandQueue.submit(type: "register_agreement", payload: Self.register, idempotencyKey: "early",
                                                      availableAt: Timestamp(Date(timeIntervalSince1970: 0)), on: registrar)
            }
            #expect(error?.code == "available_at_not_allowed")
            #expect(error?.message.contains("available_at") == true)
            #expect(try await f.admin.query("SELECT count(*) FROM commands").rows[0].decode(0, as: Int.self) == 0)

            // The daemon's login (and the owner) may schedule, within the sane range only.
            let daemonDB = try await f.connect(f.daemon)
            let end = json(["agreement_id": "tallahassee-police-department.tfm.2025-03-10",
                            "request_id": UUID().uuidString.lowercased(), "effective_on": "2026-02-01"])
            for value in ["infinity", "-infinity", "10000-01-01 00:00:00+00", "2200-01-01 00:00:00+00", "1899-12-31 23:59:59+00"] {
                #expect(await sqlState { try await submitAt(daemonDB, "end_agreement", end, availableAt: value) } == "CQ005",
                        "daemon, \(value)")
                #expect(await sqlState { try await submitAt(f.admin, "register_agreement", Self.register, availableAt: value) } == "CQ005",
                        "owner, \(value)")
            }
            let late = await #expect(throws: SubmissionError.self) {
                _ = try await CommandQueue.submit(type: "end_agreement", payload: end, idempotencyKey: "late",
                                                     availableAt: Timestamp(Date(timeIntervalSince1970: 8_000_000_000)), on: daemonDB)
            }
            #expect(late?.code == "timestamp_out_of_range")
            // A direct writer meets the CHECK (the owner may INSERT; the daemon does for its timers).
            #expect(await sqlState {
                try await f.admin.execute("INSERT INTO commands (idempotency_key, command_type, payload, available_at) "
                                          + "VALUES ('direct', 'register_agreement', '{}', 'infinity')")
            } == "23514")
            // The daemon's login may not INSERT into commands at all (0005: its timers go through
            // enqueue_timers(), which meets the same CHECK).
            #expect(await sqlState {
                try await daemonDB.execute("INSERT INTO commands (idempotency_key, command_type, payload, available_at) "
                                           + "VALUES ('direct', 'end_agreement', '{}', '10000-01-01')")
            } == "42501")
            let timer = try await CommandQueue.submit(type: "end_agreement", payload: end, idempotencyKey: "timer",
                                                         availableAt: Timestamp(Date(timeIntervalSince1970: 1_900_000_000)), on: daemonDB)
            #expect(timer.status == .pending)

            // The daemon's idle query still works and it decides the next command normally.
            let due = try #require(try await QueueSleepers.timeUntilNextDueCommand(on: daemonDB))
            #expect(due > .seconds(3600))
            _ = try await CommandQueue.submit(type: "register_agreement", payload: Self.register, idempotencyKey: "ok", on: registrar)
            var processor = CommandProcessor()
            let result = try await drain(&processor, daemonDB)
            #expect(result.accepted == 1 && result.failed == 0)
            #expect(try await QueueSleepers.timeUntilNextDueCommand(on: daemonDB) != nil)
        }
    }

    @Test("submit_command refuses a reused idempotency key for another command (CQ007, the first command named); the same command is returned")
    func reusedKeyRefusedBySQL() async throws {
        try await SecurityFixture.with { f in
            let registrar = try await f.connect(f.registrar)
            let clerk = try await f.connect(f.clerkA)
            let first = try await rawSubmit(registrar, "register_agreement", Self.register, key: "k1")
            // The same command (keys reordered, spacing changed): the first command, nothing new.
            let reordered = """
                { "source_edition": "2025-07-18pm", "signed_on": "2025-03-10", "model": "TFM",
                  "agency_type": "Municipality", "agency_name": "Tallahassee Police Department" }
                """
            #expect(Self.register == json(registration("Tallahassee Police Department")))
            #expect(try await rawSubmit(registrar, "register_agreement", reordered, key: "k1") == first)
            // Another payload, another type, under the same key: refused, the first named, nothing queued.
            let other = json(registration("Arcadia Police Department"))
            do {
                _ = try await rawSubmit(registrar, "register_agreement", other, key: "k1")
                Issue.record("a reused key with another payload was accepted")
            } catch let error as PostgresError {
                #expect(error.sqlState == "CQ007")
                #expect(error.message.contains("idempotency_key_reused") && error.message.contains(first.uuidString.lowercased()))
                #expect(error.detail == "command_id=\(first.uuidString.lowercased())")
            }
            #expect(await sqlState { _ = try await rawSubmit(registrar, "rename_agency", #"{"agency_id":"x","new_name":"Y"}"#, key: "k1") } == "CQ007")
            // Another login's key is its own.
            _ = try await rawSubmit(f.admin, "register_agreement", other, key: "k1")
            // A termination request retried with a fresh request_id (as `sbie request` does) is the
            // same command; another reason is not.
            let filed = terminationRequest(SecurityFixture.agencyA)
            let request = try await rawSubmit(clerk, "submit_termination_request", json(filed), key: "r1")
            var retry = terminationRequest(SecurityFixture.agencyA)
            #expect(retry["request_id"] as? String != filed["request_id"] as? String)
            #expect(try await rawSubmit(clerk, "submit_termination_request", json(retry), key: "r1") == request)
            retry["reason"] = "Another reason"
            #expect(await sqlState { _ = try await rawSubmit(clerk, "submit_termination_request", json(retry), key: "r1") } == "CQ007")
            // Through the library: the stable code and the first command's id.
            let error = await #expect(throws: SubmissionError.self) {
                _ = try await CommandQueue.submit(type: "register_agreement", payload: other, idempotencyKey: "k1", on: registrar)
            }
            #expect(error?.code == "idempotency_key_reused")
            #expect(error?.commandID == first)
            #expect(error?.message.contains("(register_agreement, submitted ") == true)
            #expect(try await f.admin.query("SELECT count(*)::int FROM commands").rows[0].decode(0, as: Int.self) == 3)
        }
    }

    @Test("a key repeated at any depth of a payload is refused with CQ002, in SQL as in the daemon's parser")
    func repeatedKeysAtAnyDepth() async throws {
        try await SecurityFixture.with { f in
            let board = try await f.connect(f.board)
            let request = UUID().uuidString.lowercased()
            let attack = """
                {"request_id":"\(request)","meeting_date":"2025-09-16","votes":{"governor":"no",\
                "attorney_general":"yes","chief_financial_officer":"yes","commissioner_of_agriculture":"yes","governor":"yes"}}
                """
            let error = await #expect(throws: SubmissionError.self) {
                _ = try await CommandQueue.submit(type: "record_board_vote", payload: attack, idempotencyKey: "vote", on: board)
            }
            #expect(error?.code == "malformed_payload")
            #expect(error?.message.contains("votes.governor") == true)
            let registrar = try await f.connect(f.registrar)
            for payload in [
                #"{"agency_name":"A","agency_name":"B"}"#,
                #"{"sources":[{"x":1},{"y":[{"z":1,"z":2}]}]}"#,
                #"{"a":{"\u0062":1,"b":2}}"#,
                #"{"a":"x:y","b":{"c\":":1,"c\":":[]}}"#,
                // Past the 32 levels the walk names keys in: still refused, without the path.
                "{\"a\":" + String(repeating: "[", count: 40) + #"{"k":1,"k":2}"# + String(repeating: "]", count: 40) + "}",
            ] {
                #expect(await sqlState { try await rawSubmit(registrar, "register_agreement", payload) } == "CQ002", "\(payload)")
            }
            let named = await #expect(throws: SubmissionError.self) {
                _ = try await CommandQueue.submit(type: "register_agreement", payload: #"{"sources":[{"x":1},{"y":[{"z":1,"z":2}]}]}"#,
                                                      idempotencyKey: "nested", on: registrar)
            }
            #expect(named?.message.contains("repeats the key 'sources[1].y[0].z'") == true, "\(named?.message ?? "")")
            // Deep nesting without a repeated key is queued; the daemon's parser rejects it.
            let deep = "{\"a\":" + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}"
            let deepID = try await rawSubmit(registrar, "register_agreement", deep)
            var processor = CommandProcessor()
            _ = try await drain(&processor, try await f.connect(f.daemon))
            #expect(try await CommandQueue.command(deepID, on: f.admin)?.errorCode == "malformed_payload")
            // The same key in sibling objects is fine (queued; the daemon judges the fields).
            try await rawSubmit(registrar, "register_agreement", #"{"a":{"k":1},"b":{"k":1}}"#)
            // The payload the daemon reads is the one SQL checked: the owner bypasses
            // submit_command's role checks, not its payload checks.
            #expect(await sqlState { try await rawSubmit(f.admin, "record_board_vote", attack) } == "CQ002")
            #expect(try await f.admin.query("SELECT count(*) FROM commands").rows[0].decode(0, as: Int.self) == 2)
        }
    }

    @Test("the repeated-key check over a large payload is cheap")
    func repeatedKeyCheckIsCheap() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn, logger: TestDatabase.logger)
            // 28 levels of arrays, each holding 60 small objects (whose own arrays reach
            // depth 32): about the worst shape within the limits.
            func build(innermost: String) -> String {
                var payload = "{\"k\":"
                for _ in 0..<28 { payload += "[" + String(repeating: "{\"a\":1,\"b\":[2]},", count: 60) }
                return payload + innermost + String(repeating: "]", count: 28) + "}"
            }
            let payload = build(innermost: "0")
            #expect(payload.utf8.count < 65_536)
            let clock = ContinuousClock()
            var found = true
            let check = try await clock.measure {
                found = try await db.query("SELECT json_has_repeated_key($1::json)", [payload]).rows[0].decode(0, as: Bool.self)
            }
            #expect(!found)
            // A bound against blow-up (a walk exponential in depth takes minutes), not a
            // timing: it takes tens of milliseconds on an idle machine, and CI machines are not idle.
            #expect(check < .seconds(15), "\(check)")
            // A refused payload is walked to name the key: bounded too.
            let repeated = build(innermost: #"{"z":1,"z":2}"#)
            var path: String?
            let walk = try await clock.measure {
                path = try await db.query("SELECT json_repeated_key($1::json)", [repeated]).rows[0].decodeIfPresent(0, as: String.self)
            }
            #expect(path == "k" + String(repeating: "[60]", count: 28) + ".z")
            #expect(walk < .seconds(30), "\(walk)")
        }
    }

    @Test("migration 0006 rejects queued commands whose due time is absurd and keeps the rest")
    func migrationRepairsTheQueue() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let db = try await Connection.connect(dsn, logger: TestDatabase.logger)
            let all = try Migrator.load(from: TestDatabase.root.appendingPathComponent("Sql"))
            try await Migrator(migrations: all.migrations.filter { $0.version < 6 }).migrate(on: db, logger: TestDatabase.logger)
            // Up to 0006 the objects are in schema public (0007 moves them to sbie): a session of
            // that time searched public.
            try await db.execute("SET search_path = public")
            for (key, at) in [("inf", "infinity"), ("y10000", "10000-01-01"), ("y1970", "1970-01-01"), ("now", "now")] {
                try await db.execute("INSERT INTO commands (idempotency_key, command_type, payload, available_at) "
                                     + "VALUES ($1, 'register_agreement', '{}', $2::timestamptz)", [key, at])
            }
            try await all.migrate(on: db, logger: TestDatabase.logger)
            try await db.execute("SET search_path = sbie")
            let rows = try await db.query("SELECT idempotency_key, status, coalesce(error_code, '') FROM commands ORDER BY seq").rows
            let states = try rows.map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: String.self)) \(try $0.decode(2, as: String.self))" }
            #expect(states == ["inf rejected timestamp_out_of_range", "y10000 rejected timestamp_out_of_range",
                               "y1970 pending ", "now pending "])
            #expect(try await QueueSleepers.timeUntilNextDueCommand(on: db) == .zero)
        }
    }
}
