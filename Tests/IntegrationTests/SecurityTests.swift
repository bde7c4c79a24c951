import Foundation
import Logging
import Testing
import Workflow

/// Logins for one test: unique names (roles are cluster-wide and tests run in parallel
/// databases), created in a fresh migrated database with `createLogin` as the
/// superuser, dropped afterwards.
struct SecurityFixture {
    var dsn: String
    var admin: Connection
    var clerkA: String
    var clerkB: String
    var board: String
    var registrar: String
    var auditor: String
    var daemon: String

    static let agencyA = "tallahassee-police-department"
    static let agencyB = "gainesville-police-department"

    var everyLogin: [String] { [clerkA, clerkB, board, registrar, auditor, daemon] }

    /// A new connection logged in as `login` (trust auth on the test cluster).
    func connect(_ login: String) async throws -> Connection {
        try await Connection.connect(ConnectionString.replacingUser(in: dsn, with: login), logger: TestDatabase.logger)
    }

    static func with(_ body: (SecurityFixture) async throws -> Void) async throws {
        let tag = UUID().uuidString.prefix(8).lowercased()
        let names = ["clerk_a", "clerk_b", "board", "registrar", "auditor", "daemon"].map { "t\(tag)_\($0)" }
        do {
            try await TestDatabase.with { dsn in
                let admin = try await Connection.connect(dsn, logger: TestDatabase.logger)
                try await Logins.create(names[0], role: .agencyClerk, agencyID: agencyA, on: admin)
                try await Logins.create(names[1], role: .agencyClerk, agencyID: agencyB, on: admin)
                try await Logins.create(names[2], role: .boardStaff, on: admin)
                try await Logins.create(names[3], role: .registrar, on: admin)
                try await Logins.create(names[4], role: .auditor, on: admin)
                try await Logins.create(names[5], role: .daemon, on: admin)
                let fixture = SecurityFixture(dsn: dsn, admin: admin, clerkA: names[0], clerkB: names[1], board: names[2],
                                              registrar: names[3], auditor: names[4], daemon: names[5])
                try await body(fixture)
                await admin.close()
            }
        } catch {
            await dropRoles(names)
            throw error
        }
        await dropRoles(names)
    }

    static func dropRoles(_ names: [String]) async {
        guard let dsn = TestDatabase.dsn, let admin = try? await Connection.connect(dsn, logger: TestDatabase.logger)
        else { return }
        for name in names { _ = try? await admin.executeScript("DROP ROLE IF EXISTS \(name)") }
        await admin.close()
    }
}

/// The SQLSTATE of what `body` threw (nil when it did not throw or threw something else).
func sqlState(_ body: () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch let error as PostgresError {
        return error.sqlState ?? "?"
    } catch {
        return "not a PostgresError: \(error)"
    }
}

/// The code of the `SubmissionError` thrown by `body` (nil when none).
func submissionCode(_ body: () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch let error as SubmissionError {
        return error.code
    } catch {
        return "not a SubmissionError: \(error)"
    }
}

func json(_ object: [String: Any]) -> String {
    (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
}

/// Submits through raw SQL, as psql would.
@discardableResult
func rawSubmit(_ db: Connection, _ type: String, _ payload: String, key: String = UUID().uuidString) async throws -> UUID {
    try await db.query("SELECT command_id FROM submit_command($1, $2::json, $3)", [type, payload, key]).rows[0].decode(0)
}

func registration(_ name: String, model: String = "TFM", type: String = "Municipality") -> [String: Any] {
    ["agency_name": name, "agency_type": type, "model": model, "signed_on": "2025-03-10",
     "source_edition": "2025-07-18pm"]
}

func terminationRequest(_ agency: String, model: String = "TFM", id: UUID = UUID()) -> [String: Any] {
    ["request_id": id.uuidString.lowercased(), "agency_id": agency, "model": model,
     "reason": "City commission vote", "local_authorization": "Resolution 2025-17", "filed_on": "2025-08-01"]
}

@Suite("Security: roles, row-level security, bad input (live database)",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct SecurityTests {
    @Test("the SQL actor kinds match DomainCommand.actorKind(ofType:)")
    func actorKinds() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            for type in DomainCommand.commandTypes + ["launch_rocket", ""] {
                let sql: String? = try await db.query("SELECT command_actor_kind($1)", [type]).rows[0].decodeIfPresent(0)
                #expect(sql == DomainCommand.actorKind(ofType: type)?.rawValue, "\(type)")
            }
        }
    }

    @Test("a clerk reads only its own agency's commands and projection rows, and no events")
    func clerkIsolation() async throws {
        try await SecurityFixture.with { f in
            let registrar = try await f.connect(f.registrar)
            for name in ["Tallahassee Police Department", "Gainesville Police Department"] {
                try await rawSubmit(registrar, "register_agreement", json(registration(name)))
            }
            let a = try await f.connect(f.clerkA)
            let b = try await f.connect(f.clerkB)
            try await rawSubmit(a, "submit_termination_request", json(terminationRequest(SecurityFixture.agencyA)))
            try await rawSubmit(b, "submit_termination_request", json(terminationRequest(SecurityFixture.agencyB)))
            var processor = CommandProcessor()
            let result = try await drain(&processor, try await f.connect(f.daemon))
            #expect(result.accepted == 4)
            try await f.admin.executeScript("""
                INSERT INTO agency_timeline VALUES
                  (1, '\(SecurityFixture.agencyA)', now(), now(), 'X', 'agreement-a', 'x', 'a'),
                  (2, '\(SecurityFixture.agencyB)', now(), now(), 'X', 'agreement-b', 'x', 'b')
                """)

            for (clerk, own, other) in [(a, SecurityFixture.agencyA, SecurityFixture.agencyB),
                                        (b, SecurityFixture.agencyB, SecurityFixture.agencyA)] {
                let seen = try await clerk.query("SELECT count(*) FROM commands WHERE agency_id = $1", [other])
                #expect(try seen.rows[0].decode(0, as: Int.self) == 0)
                let all = try await clerk.query("SELECT DISTINCT agency_id FROM commands").rows.map { try $0.decode(0, as: String.self) }
                #expect(all == [own])
                for table in ["agreement_status", "termination_requests", "board_docket", "agency_timeline"] {
                    let agencies = try await clerk.query("SELECT DISTINCT agency_id FROM \(table)").rows
                        .map { try $0.decode(0, as: String.self) }
                    #expect(agencies == [own], "\(table)")
                }
                #expect(await sqlState { _ = try await clerk.query("SELECT count(*) FROM events") } == "42501")
                #expect(await sqlState { _ = try await clerk.query("SELECT count(*) FROM agency_logins") } == "42501")
                // The library's reads go through the same policies.
                #expect(try await CommandQueue.commands(on: clerk).allSatisfy { $0.agencyID == own })
            }
            // Board staff and auditors read everything; the register commands have no agency.
            for login in [f.board, f.auditor, f.registrar] {
                let db = try await f.connect(login)
                #expect(try await db.query("SELECT count(*) FROM commands").rows[0].decode(0, as: Int.self) == 4)
                #expect(try await db.query("SELECT count(*) FROM agreement_status").rows[0].decode(0, as: Int.self) == 2)
                #expect(try await db.query("SELECT count(*) FROM agency_timeline").rows[0].decode(0, as: Int.self) == 2)
                #expect(try await EventStore.lastPosition(on: db) == 4)
            }
        }
    }

    @Test("submissions outside a login's role or agency are refused")
    func submissionsRefused() async throws {
        try await SecurityFixture.with { f in
            let a = try await f.connect(f.clerkA)
            // Another agency, through raw SQL and through the library.
            #expect(await sqlState {
                try await rawSubmit(a, "submit_termination_request", json(terminationRequest(SecurityFixture.agencyB)))
            } == "CQ003")
            #expect(await submissionCode {
                _ = try await submit(a, "withdraw_termination_request", [
                    "request_id": UUID().uuidString, "agency_id": SecurityFixture.agencyB, "withdrawn_on": "2025-08-02"])
            } == "agency_mismatch")
            // A repeated agency_id key cannot smuggle another agency past the check.
            #expect(await submissionCode {
                _ = try await CommandQueue.submit(
                    type: "submit_termination_request",
                    payload: #"{"agency_id": "\#(SecurityFixture.agencyB)", "agency_id": "\#(SecurityFixture.agencyA)"}"#,
                    idempotencyKey: "dup", on: a)
            } == "malformed_payload")
            // Board and register commands as a clerk.
            let vote = json(["request_id": UUID().uuidString, "meeting_date": "2025-09-10", "votes": ["governor": "yes"]])
            #expect(await sqlState { try await rawSubmit(a, "record_board_vote", vote) } == "42501")
            #expect(await submissionCode { _ = try await CommandQueue.submit(type: "record_board_vote", payload: vote, idempotencyKey: "v", on: a) }
                    == "permission_denied")
            #expect(await sqlState { try await rawSubmit(a, "register_agreement", json(registration("Evil PD"))) } == "42501")
            #expect(await sqlState { try await rawSubmit(a, "end_agreement", "{}") } == "42501")
            // Direct INSERT bypassing submit_command (and forging submitted_by) is refused.
            #expect(await sqlState {
                _ = try await a.execute("""
                    INSERT INTO commands (idempotency_key, command_type, payload, agency_id, submitted_by)
                    VALUES ('x', 'submit_termination_request', '{}', $1, 'someone_else')
                    """, [SecurityFixture.agencyA])
            } == "42501")
            // A missing agency_id is queued under the clerk's own agency (the daemon names the field).
            let missing = try await submit(a, "submit_termination_request", ["request_id": UUID().uuidString])
            #expect(missing.agencyID == SecurityFixture.agencyA)
            // A clerk login mapped to no agency submits nothing.
            let unmapped = "\(f.clerkA)_x"
            try await f.admin.executeScript("CREATE ROLE \(unmapped) LOGIN IN ROLE agency_clerk")
            let u = try await f.connect(unmapped)
            #expect(await sqlState {
                try await rawSubmit(u, "submit_termination_request", json(terminationRequest(SecurityFixture.agencyA)))
            } == "42501")
            #expect(try await u.query("SELECT count(*) FROM commands").rows[0].decode(0, as: Int.self) == 0)
            await u.close()
            try await f.admin.executeScript("DROP ROLE \(unmapped)")

            // Board staff: board commands only.
            let board = try await f.connect(f.board)
            try await rawSubmit(board, "schedule_review", json(["request_id": UUID().uuidString, "meeting_date": "2025-09-10"]))
            #expect(await sqlState {
                try await rawSubmit(board, "submit_termination_request", json(terminationRequest(SecurityFixture.agencyA)))
            } == "42501")
            #expect(await sqlState { try await rawSubmit(board, "register_agreement", json(registration("X PD"))) } == "42501")
            // Registrar: register commands only.
            let registrar = try await f.connect(f.registrar)
            try await rawSubmit(registrar, "register_agreement", json(registration("Tallahassee Police Department")))
            #expect(await sqlState { try await rawSubmit(registrar, "schedule_review", vote) } == "42501")
            // Unknown types are refused to every role but the owner.
            #expect(await sqlState { try await rawSubmit(board, "launch_rocket", "{}") } == "42501")

            // Auditors write nothing.
            let auditor = try await f.connect(f.auditor)
            #expect(await sqlState { try await rawSubmit(auditor, "register_agreement", json(registration("X PD"))) } == "42501")
            #expect(await submissionCode { _ = try await submit(auditor, "schedule_review", [:]) } == "permission_denied")
            for sql in [
                "INSERT INTO commands (idempotency_key, command_type, payload) VALUES ('k', 'schedule_review', '{}')",
                "UPDATE commands SET status = 'rejected'",
                "DELETE FROM commands",
                "INSERT INTO agreement_status SELECT * FROM agreement_status",
                "UPDATE termination_requests SET state = 'approved'",
                "DELETE FROM board_docket",
                "INSERT INTO agency_logins VALUES ('x', 'y')",
                "INSERT INTO projection_checkpoints VALUES ('x', 1)",
            ] {
                #expect(await sqlState { try await auditor.executeScript(sql) } == "42501", "\(sql)")
            }
            // Nobody but the owner maps logins to agencies.
            for login in f.everyLogin {
                let db = try await f.connect(login)
                #expect(await sqlState { try await db.executeScript("INSERT INTO agency_logins VALUES ('\(login)', 'x')") } == "42501")
                #expect(await sqlState { try await db.executeScript("UPDATE agency_logins SET agency_id = 'x'") } == "42501")
            }
            #expect(try await f.admin.query("SELECT count(*) FROM commands").rows[0].decode(0, as: Int.self) == 3)
        }
    }

    @Test("nobody updates, deletes or truncates events; only the daemon calls append_events")
    func eventsAreAppendOnly() async throws {
        try await SecurityFixture.with { f in
            let registrar = try await f.connect(f.registrar)
            try await rawSubmit(registrar, "register_agreement", json(registration("Tallahassee Police Department")))
            var processor = CommandProcessor()
            _ = try await drain(&processor, try await f.connect(f.daemon))
            #expect(try await EventStore.lastPosition(on: f.admin) == 1)

            let append = """
                SELECT * FROM append_events('agreement-forged', 'any',
                  '[{"event_id": "\(UUID().uuidString.lowercased())", "event_type": "AgreementRegistered", "data": {}}]')
                """
            // The typed core (0017), called directly.
            let appendArrays = """
                SELECT * FROM append_events_batch('{agreement-forged}', '{any}', '{1}', '{\(UUID().uuidString.lowercased())}',
                  '{AgreementRegistered}', '{"{}"}', '{"{}"}', '{2026-12-01T00:00:00Z}')
                """
            for login in f.everyLogin {
                let db = try await f.connect(login)
                for sql in ["UPDATE events SET data = '{}'", "DELETE FROM events", "TRUNCATE events",
                            "INSERT INTO events SELECT * FROM events"] {
                    #expect(await sqlState { try await db.executeScript(sql) } == "42501", "\(login): \(sql)")
                }
                if login != f.daemon {
                    #expect(await sqlState { try await db.executeScript(append) } == "42501", "\(login) append_events")
                    #expect(await sqlState { try await db.executeScript(appendArrays) } == "42501",
                            "\(login) append_events_batch")
                }
            }
            // Even the owner (a superuser here) is stopped by the triggers.
            for sql in ["UPDATE events SET data = '{}'", "DELETE FROM events", "TRUNCATE events"] {
                #expect(await sqlState { try await f.admin.executeScript(sql) } == "ES003", "\(sql)")
            }
            // The daemon may append, through the function only.
            let daemon = try await f.connect(f.daemon)
            try await daemon.executeScript(append)
            #expect(try await EventStore.lastPosition(on: f.admin) == 2)
            try await daemon.executeScript(appendArrays)
            #expect(try await EventStore.lastPosition(on: f.admin) == 3)
            #expect(try await ChainVerifier.verify(on: f.admin).isIntact)
        }
    }

    @Test("each event records the submitting login as its actor; a workflow_daemon login runs the whole workflow")
    func actorsAndDaemonLogin() async throws {
        try await SecurityFixture.with { f in
            let registrar = try await f.connect(f.registrar)
            let clerk = try await f.connect(f.clerkA)
            let board = try await f.connect(f.board)
            let daemonDB = try await f.connect(f.daemon)
            var processor = CommandProcessor()
            func run() async throws -> CommandProcessor.BatchResult { try await drain(&processor, daemonDB) }

            for seat in BoardSeat.allCases {
                try await rawSubmit(board, "fill_board_seat",
                                    json(["seat": seat.rawValue, "member": "Member \(seat.rawValue)", "effective_on": "2025-01-01"]))
            }
            try await rawSubmit(registrar, "register_agreement",
                                json(registration("Tallahassee Police Department", model: "WSO")))
            #expect(try await run().accepted == 5)
            let request = UUID()
            try await rawSubmit(clerk, "submit_termination_request",
                                json(terminationRequest(SecurityFixture.agencyA, model: "WSO", id: request)))
            #expect(try await run().accepted == 1)
            try await rawSubmit(board, "schedule_review",
                                json(["request_id": request.uuidString.lowercased(), "meeting_date": "2025-09-10"]))
            let votes = Dictionary(uniqueKeysWithValues: BoardSeat.allCases.map { ($0.rawValue, "yes") })
            try await rawSubmit(board, "record_board_vote",
                                json(["request_id": request.uuidString.lowercased(), "meeting_date": "2025-09-10", "votes": votes]))
            #expect(try await run().accepted == 2)
            // The notice schedules the WSO's 90-day end: the daemon enqueues the timer itself.
            try await rawSubmit(clerk, "record_termination_notice",
                                json(["request_id": request.uuidString.lowercased(), "agency_id": SecurityFixture.agencyA,
                                      "received_on": "2025-09-15"]))
            let result = try await run()
            #expect(result.failed == 0)
            #expect(result.accepted == 2)  // the notice, then the due timer (2025-12-14 is past)
            let state = try await clerk.query("SELECT state FROM agreement_status").rows.map { try $0.decode(0, as: String.self) }
            #expect(state == ["terminated"])
            let failed = try await f.admin.query("SELECT count(*) FROM commands WHERE status <> 'accepted'")
            #expect(try failed.rows[0].decode(0, as: Int.self) == 0)

            // Actors: the login that submitted each command, for every event it caused.
            let rows = try await f.admin.query("""
                SELECT e.metadata->>'actor', c.submitted_by, c.command_type FROM events e
                JOIN commands c ON c.command_id = (e.metadata->>'command_id')::uuid ORDER BY e.global_position
                """).rows
            #expect(rows.count == (try await EventStore.lastPosition(on: f.admin)))
            for row in rows {
                let (actor, submitter, type) = (try row.decode(0, as: String.self), try row.decode(1, as: String.self),
                                                try row.decode(2, as: String.self))
                #expect(actor == submitter)
                let expected: String
                switch DomainCommand.actorKind(ofType: type) {
                case .agency: expected = f.clerkA
                case .board: expected = f.board
                case .register: expected = f.registrar
                case .system, nil: expected = f.daemon
                }
                #expect(actor == expected, "\(type)")
            }
            #expect(try await ChainVerifier.verify(on: daemonDB).isIntact)
            #expect(try await Projections.rebuild(checkOnly: true, on: daemonDB).matches)
        }
    }

    @Test("sbie run as a workflow_daemon login decides a clerk's command and writes the clerk's timeline")
    func daemonProcessAsDaemonLogin() async throws {
        try await SecurityFixture.with { f in
            let daemon = try DaemonProcess(ConnectionString.replacingUser(in: f.dsn, with: f.daemon))
            let registrar = try await f.connect(f.registrar)
            let clerk = try await f.connect(f.clerkA)
            let registered = try await submit(registrar, "register_agreement", registration("Tallahassee Police Department"))
            #expect(try await CommandQueue.waitForOutcome(registered.commandID, timeout: .seconds(10), on: registrar)?.status == .accepted)
            let request = try await submit(clerk, "submit_termination_request", terminationRequest(SecurityFixture.agencyA))
            #expect(try await CommandQueue.waitForOutcome(request.commandID, timeout: .seconds(10), on: clerk)?.status == .accepted)
            // The catch-up projection follows (at most once a second while busy).
            let deadline = ContinuousClock.now.advanced(by: .seconds(15))
            var actors: [String] = []
            while ContinuousClock.now < deadline {
                actors = try await clerk.query("SELECT actor FROM agency_timeline ORDER BY global_position").rows
                    .map { try $0.decode(0, as: String.self) }
                if actors.count == 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(actors == [f.registrar, f.clerkA])
            #expect(daemon.terminate() == 0)
            // `sbie rebuild`'s work, as the daemon's login.
            let daemonDB = try await f.connect(f.daemon)
            #expect(try await AgencyTimeline.rebuild(on: daemonDB) == 2)
            #expect(try await clerk.query("SELECT count(*) FROM agency_timeline").rows[0].decode(0, as: Int.self) == 2)
            #expect(try await Projections.rebuild(checkOnly: false, on: daemonDB).matches)
            let failed = try await f.admin.query("SELECT count(*) FROM commands WHERE status <> 'accepted'")
            #expect(try failed.rows[0].decode(0, as: Int.self) == 0)
        }
    }

    @Test("the ICE list import runs as a registrar login (and is refused to a clerk)")
    func importAsRegistrar() async throws {
        try await SecurityFixture.with { f in
            let parsed = try IceImport.parse(contentsOf: iceListURL)
            let clerk = try await f.connect(f.clerkA)
            #expect(await sqlState { _ = try await ImportSubmission.submitImport(parsed, on: clerk) } == "42501")
            let registrar = try await f.connect(f.registrar)
            let report = try await ImportSubmission.submitImport(parsed, on: registrar)
            #expect(report.submitted == 309)
            var processor = CommandProcessor()
            let result = try await drain(&processor, try await f.connect(f.daemon))
            #expect(result.accepted == 309)
            let outcome = try await ImportSubmission.importOutcome(of: report.commandIDs, on: registrar)
            #expect(outcome.accepted == 309)
            // A second run by the same login submits nothing new.
            #expect(try await ImportSubmission.submitImport(parsed, on: registrar).submitted == 0)
            let mine = try await clerk.query("SELECT count(*) FROM agreement_status").rows[0].decode(0, as: Int.self)
            #expect(mine == 1)  // Tallahassee PD's one agreement on the list
        }
    }

    @Test("sbie login's API: names are validated, duplicates refused, logins listed with their agency")
    func loginManagement() async throws {
        try await SecurityFixture.with { f in
            for bad in ["", "pg_x", "auditor", "a b", "x\"; DROP ROLE postgres; --", "é", String(repeating: "a", count: 64)] {
                await #expect(throws: LoginError.invalidName(bad)) { try await Logins.create(bad, role: .auditor, on: f.admin) }
            }
            await #expect(throws: LoginError.invalidAgency("Not A Slug")) {
                try await Logins.create("\(f.clerkA)_y", role: .agencyClerk, agencyID: "Not A Slug", on: f.admin)
            }
            await #expect(throws: LoginError.alreadyExists(f.board)) { try await Logins.create(f.board, role: .auditor, on: f.admin) }
            // Only the owner creates logins.
            let board = try await f.connect(f.board)
            await #expect(throws: LoginError.self) { try await Logins.create("\(f.board)_z", role: .boardStaff, on: board) }
            let mine = Dictionary(uniqueKeysWithValues: try await Logins.list(on: f.admin)
                .filter { f.everyLogin.contains($0.name) }.map { ($0.name, $0) })
            #expect(mine.count == 6)
            #expect(mine[f.clerkA]?.agencyID == SecurityFixture.agencyA)
            #expect(mine[f.clerkA]?.roles == ["agency_clerk"])
            #expect(mine[f.daemon]?.roles == ["workflow_daemon"])
            #expect(mine[f.auditor]?.canLogin == true)
            // A password is quoted, not interpreted.
            let withPassword = "\(f.auditor)_pw"
            try await Logins.create(withPassword, role: .auditor, password: "it's \"secret\"; DROP TABLE events; --", on: f.admin)
            #expect(try await f.admin.query("SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = $1", [withPassword])
                        .rows[0].decode(0, as: Bool.self))
            try await f.admin.executeScript("DROP ROLE \(withPassword)")
        }
    }

    @Test("agency names with quotes, Unicode and SQL fragments round-trip unchanged")
    func trickyNames() async throws {
        try await SecurityFixture.with { f in
            let names = [
                "O'Brien \"Quoted\" Police Department",
                "Robert'); DROP TABLE events; -- Sheriff's Office",
                "Policía de Miami-Dade 中文 🚔 Department",
                "Back\\slash $1 %s ${x} \\u0041 Police",
            ]
            let registrar = try await f.connect(f.registrar)
            for name in names {
                try await rawSubmit(registrar, "register_agreement", json(registration(name)))
            }
            // A zero-width (format) character is refused, not stored (0016, CQ006).
            #expect(await sqlState { _ = try await rawSubmit(registrar, "register_agreement", json(registration("Zero\u{200B}Width Police Department"))) } == "CQ006")
            var processor = CommandProcessor()
            let result = try await drain(&processor, try await f.connect(f.daemon))
            #expect(result.accepted == names.count)
            let stored = try await f.admin.query("SELECT agency_name FROM agreement_status").rows
                .map { try $0.decode(0, as: String.self) }
            #expect(Set(stored) == Set(names))
            let (state, _, _) = try await Projections.foldLog(on: f.admin)
            #expect(Set(state.agencies.values.map(\.name)) == Set(names))
            // Rename one to another tricky name.
            let id = try #require(state.agencies.first { $0.value.name == names[0] }?.key.slug)
            let renamed = "Renamed 'n' \"quoted\"; SELECT pg_sleep(10); -- ☃"
            try await rawSubmit(registrar, "rename_agency", json(["agency_id": id, "new_name": renamed]))
            #expect(try await drain(&processor, try await f.connect(f.daemon)).accepted == 1)
            let row = try await f.admin.query("SELECT agency_name FROM agreement_status WHERE agency_id = $1", [id])
            #expect(try row.rows[0].decode(0, as: String.self) == renamed)
        }
    }
}
