import Foundation
import Logging
import Testing
import Workflow

extension SecurityFixture {
    /// Like `with`, on a database whose defaults are as permissive as PostgreSQL 14's
    /// (and old templates'): PUBLIC may create in schema public (and has TEMP) when the
    /// migrations run. Also creates `owner`, a login that is a member of workflow_owner
    /// (not a superuser).
    static func withPermissiveDefaults(_ body: (SecurityFixture, _ owner: String) async throws -> Void) async throws {
        let tag = UUID().uuidString.prefix(8).lowercased()
        let names = ["clerk_a", "clerk_b", "board", "registrar", "auditor", "daemon", "owner"].map { "t\(tag)_\($0)" }
        do {
            try await TestDatabase.with(migrated: false) { dsn in
                let admin = try await Connection.connect(dsn, logger: TestDatabase.logger)
                try await admin.executeScript("GRANT CREATE ON SCHEMA public TO PUBLIC")
                try await Migrator.load(from: TestDatabase.root.appendingPathComponent("Sql"))
                    .migrate(on: admin, logger: TestDatabase.logger)
                try await Logins.create(names[0], role: .agencyClerk, agencyID: agencyA, on: admin)
                try await Logins.create(names[1], role: .agencyClerk, agencyID: agencyB, on: admin)
                try await Logins.create(names[2], role: .boardStaff, on: admin)
                try await Logins.create(names[3], role: .registrar, on: admin)
                try await Logins.create(names[4], role: .auditor, on: admin)
                try await Logins.create(names[5], role: .daemon, on: admin)
                try await admin.executeScript("CREATE ROLE \(names[6]) LOGIN IN ROLE workflow_owner")
                let fixture = SecurityFixture(dsn: dsn, admin: admin, clerkA: names[0], clerkB: names[1], board: names[2],
                                              registrar: names[3], auditor: names[4], daemon: names[5])
                try await body(fixture, names[6])
                await admin.close()
            }
        } catch {
            await dropRoles(names)
            throw error
        }
        await dropRoles(names)
    }
}

extension Row {
    func bools(_ columns: ClosedRange<Int>) throws -> [Bool] { try columns.map { try decode($0, as: Bool.self) } }
}

/// The attacks of issue 11 (items 2, 3, 5 and 6), each run from a plain libpq connection
/// as the attacking login, with SQL a psql user could type (docs/security.md, "Attacks tried").
@Suite("Security: attacks from psql (issue 11), on PostgreSQL 14 defaults (live database)",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct SecurityHardeningTests {
    @Test("item 2: a workflow_owner member cannot change or remove an event or a decided command")
    func ownerCannotRewriteTheRecord() async throws {
        try await SecurityFixture.withPermissiveDefaults { f, owner in
            let registrar = try await f.connect(f.registrar)
            try await rawSubmit(registrar, "register_agreement", json(registration("Tallahassee Police Department")))
            var processor = CommandProcessor()
            #expect(try await drain(&processor, try await f.connect(f.daemon)).accepted == 1)
            let before = try await f.admin.query("SELECT hash FROM events WHERE global_position = 1").rows[0]
                .decode(0, as: [UInt8].self)
            let decided: UUID = try await f.admin.query("SELECT command_id FROM commands").rows[0].decode(0)

            let o = try await f.connect(owner)
            // What the issue's attacker did, and every other way round the triggers we know of.
            let refused: [(String, String)] = [
                ("ALTER TABLE events DISABLE TRIGGER USER", "42501"),
                ("ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete", "42501"),
                ("UPDATE events SET data = '{\"forged\": true}'", "42501"),
                ("DELETE FROM events", "42501"),
                ("TRUNCATE events", "42501"),
                ("ALTER TABLE events OWNER TO \(owner)", "42501"),
                ("DROP TABLE events", "42501"),
                ("ALTER TABLE events RENAME TO old_events", "42501"),
                ("CREATE OR REPLACE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'",
                 "42501"),
                ("SET session_replication_role = replica", "42501"),
                ("DROP SCHEMA sbie CASCADE", "42501"),
                ("ALTER SCHEMA sbie RENAME TO old_sbie", "42501"),
                ("SET ROLE workflow_record", "42501"),
                ("GRANT workflow_record TO \(owner)", "42501"),
                ("ALTER TABLE commands DISABLE TRIGGER USER", "42501"),
                ("DELETE FROM commands", "42501"),
                ("TRUNCATE commands", "42501"),
                ("UPDATE commands SET error_message = 'rewritten'", "SE001"),
                ("UPDATE commands SET status = 'rejected', error_code = 'x'", "SE001"),
                ("UPDATE commands SET payload = '{}'", "SE001"),
            ]
            for (sql, state) in refused {
                #expect(await sqlState { try await o.executeScript(sql) } == state, "\(sql)")
            }
            // The privileges say so too (the issue: has_table_privilege said it may).
            let may: [Bool] = try await o.query(
                """
                SELECT has_table_privilege('events', 'UPDATE'), has_table_privilege('events', 'DELETE'),
                       has_table_privilege('events', 'TRUNCATE'), pg_has_role('workflow_record', 'MEMBER')
                """).rows[0].bools(0...3)
            #expect(may == [false, false, false, false])
            // Nothing changed.
            #expect(try await f.admin.query("SELECT hash FROM events WHERE global_position = 1").rows[0]
                .decode(0, as: [UInt8].self) == before)
            #expect(try await CommandQueue.command(decided, on: f.admin)?.status == .accepted)
            #expect(try await ChainVerifier.verify(on: f.admin).isIntact)
            // workflow_record: no login, no members.
            let record: [Bool] = try await f.admin.query(
                """
                SELECT r.rolcanlogin, EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.roleid = r.oid)
                FROM pg_roles r WHERE r.rolname = 'workflow_record'
                """).rows[0].bools(0...1)
            #expect(record == [false, false])
        }
    }

    @Test("item 2: what a superuser can still do is caught by verify (the chain not recomputed)")
    func superuserRewriteIsDetected() async throws {
        try await SecurityFixture.withPermissiveDefaults { f, _ in
            let registrar = try await f.connect(f.registrar)
            for name in ["Tallahassee Police Department", "Gainesville Police Department"] {
                try await rawSubmit(registrar, "register_agreement", json(registration(name)))
            }
            var processor = CommandProcessor()
            _ = try await drain(&processor, try await f.connect(f.daemon))
            try await f.admin.executeScript("""
                ALTER TABLE events DISABLE TRIGGER USER;
                UPDATE events SET data = '{"forged": true}' WHERE global_position = 1;
                ALTER TABLE events ENABLE TRIGGER USER;
                """)
            let report = try await ChainVerifier.verify(on: f.admin)
            #expect(report.firstHashMismatch == 1)
        }
    }

    @Test("item 3: PUBLIC may not create in public after migrating; look-alike functions never run")
    func lookAlikeFunctionsDoNotHijack() async throws {
        try await SecurityFixture.withPermissiveDefaults { f, _ in
            let attack = "CREATE FUNCTION public.pg_has_role(name, text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true'"
            let clerk = try await f.connect(f.clerkA)
            // The migration took CREATE on public back from PUBLIC.
            #expect(await sqlState { try await clerk.executeScript(attack) } == "42501")
            #expect(try await clerk.query("SELECT has_schema_privilege('public', 'public', 'CREATE')").rows[0]
                .decode(0, as: Bool.self) == false)

            // A DBA grants it again (or the database is restored from an old template):
            // the functions' pinned search_path still keeps the clerk's functions out.
            try await f.admin.executeScript("GRANT CREATE ON SCHEMA public TO PUBLIC")
            try await clerk.executeScript("SET search_path = public, sbie, pg_catalog")
            try await clerk.executeScript(attack)
            // Look-alikes of what our SQL and our clients call; each one fails loudly if it ever runs.
            for signature in [
                "current_agency_id() RETURNS text", "command_actor_kind(text) RETURNS text",
                "octet_length(text) RETURNS integer", "json_typeof(json) RETURNS text", "length(text) RETURNS integer",
                "left(text, integer) RETURNS text", "json_object_keys(json) RETURNS SETOF text",
                "submit_command(text, text, text, text) RETURNS SETOF uuid",
                "append_events(text, text, text) RETURNS SETOF uuid",
                "pg_notify(text, text) RETURNS void",
            ] {
                try await clerk.executeScript("""
                    CREATE FUNCTION public.\(signature) LANGUAGE plpgsql AS
                    $$ BEGIN RAISE EXCEPTION 'hijacked' USING ERRCODE = 'XX999'; END $$
                    """)
            }
            // The issue's attack: a registrar command, and a command for another agency.
            #expect(await sqlState { try await rawSubmit(clerk, "register_agreement", json(registration("Evil PD"))) } == "42501")
            #expect(await sqlState {
                try await rawSubmit(clerk, "record_board_vote", json(["request_id": UUID().uuidString]))
            } == "42501")
            #expect(await sqlState {
                try await rawSubmit(clerk, "submit_termination_request", json(terminationRequest(SecurityFixture.agencyB)))
            } == "CQ003")
            // The key escaped (json unescapes it before the check), and repeated in escaped form.
            #expect(await sqlState {
                try await rawSubmit(clerk, "submit_termination_request", #"{"agency\u005fid": "\#(SecurityFixture.agencyB)"}"#)
            } == "CQ003")
            #expect(await sqlState {
                try await rawSubmit(clerk, "submit_termination_request",
                                    #"{"agency_id": "\#(SecurityFixture.agencyA)", "agency\u005fid": "\#(SecurityFixture.agencyB)"}"#)
            } == "CQ002")
            // Everyone else's normal work still runs, and none of the look-alikes did.
            let registrar = try await f.connect(f.registrar)
            try await rawSubmit(registrar, "register_agreement", json(registration("Tallahassee Police Department")))
            try await rawSubmit(clerk, "submit_termination_request", json(terminationRequest(SecurityFixture.agencyA)))
            var processor = CommandProcessor()
            let result = try await drain(&processor, try await f.connect(f.daemon))
            #expect(result.accepted == 2)
            #expect(result.failed == 0)
            #expect(try await f.admin.query("SELECT count(*) FROM commands WHERE command_type = 'register_agreement'").rows[0]
                .decode(0, as: Int.self) == 1)
            // Every function of ours that resolves names at run time has its search_path pinned.
            let unpinned: [String] = try await f.admin.query(
                """
                SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
                WHERE p.pronamespace = 'sbie'::regnamespace AND p.prosqlbody IS NULL AND (p.prosecdef OR l.lanname <> 'sql')
                  AND NOT coalesce('search_path=pg_catalog, sbie, pg_temp' = ANY (p.proconfig), false)
                """).rows.map { try $0.decode(0) }
            #expect(unpinned == [])
            // Nothing of ours is left in public.
            #expect(try await f.admin.query(
                "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relowner <> 'pg_database_owner'::regrole "
                    + "AND relname NOT LIKE 'pg_%'").rows[0].decode(0, as: Int.self) == 0)
        }
    }

    @Test("item 3: a database migrated before 0007 (objects in public) is moved into sbie and hardened")
    func legacyDatabaseIsMoved() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let admin = try await Connection.connect(dsn, logger: TestDatabase.logger)
            try await admin.executeScript("GRANT CREATE ON SCHEMA public TO PUBLIC")
            let all = try Migrator.load(from: TestDatabase.root.appendingPathComponent("Sql"))
            // 0001-0004 as they were applied in the field: in public, by the migrator of the time.
            try await admin.executeScript("SET search_path = public")
            try await Migrator(migrations: all.migrations.filter { $0.version <= 4 }).migrate(on: admin, logger: TestDatabase.logger)
            try await admin.executeScript("SET search_path = public")
            #expect(try await admin.query("SELECT to_regclass('public.events') IS NOT NULL").rows[0].decode(0, as: Bool.self))
            try await admin.executeScript("""
                SELECT * FROM append_events('agreement-x', 'no_stream',
                  '[{"event_id": "\(UUID().uuidString.lowercased())", "event_type": "Happened", "data": {}}]')
                """)
            let applied = try await all.migrate(on: admin, logger: TestDatabase.logger)
            #expect(applied.map(\.version).contains(7))
            let moved: [Bool] = try await admin.query(
                """
                SELECT to_regclass('public.events') IS NULL, to_regclass('sbie.events') IS NOT NULL,
                       to_regclass('sbie.schema_migrations') IS NOT NULL, to_regprocedure('public.submit_command(text,json,text,timestamptz)') IS NULL,
                       has_schema_privilege('public', 'public', 'CREATE') = false
                """).rows[0].bools(0...4)
            #expect(moved == [true, true, true, true, true])
            #expect(try await admin.query("SELECT count(*) FROM sbie.events").rows[0].decode(0, as: Int.self) == 1)
            #expect(try await ChainVerifier.verify(on: admin).isIntact)
            // A second run changes nothing.
            #expect(try await all.migrate(on: admin, logger: TestDatabase.logger).isEmpty)
            await admin.close()
        }
    }

    @Test("item 5: a clerk's rejection for another agency's request is the one for an unknown id")
    func rejectionsDoNotLeakOtherAgencies() async throws {
        try await SecurityFixture.withPermissiveDefaults { f, _ in
            let registrar = try await f.connect(f.registrar)
            for name in ["Tallahassee Police Department", "Gainesville Police Department"] {
                try await rawSubmit(registrar, "register_agreement", json(registration(name)))
            }
            let a = try await f.connect(f.clerkA)
            let b = try await f.connect(f.clerkB)
            let theirs = UUID()
            try await rawSubmit(a, "submit_termination_request", json(terminationRequest(SecurityFixture.agencyA, id: theirs)))
            var processor = CommandProcessor()
            let daemon = try await f.connect(f.daemon)
            _ = try await drain(&processor, daemon)

            func withdraw(_ id: UUID) -> String {
                json(["request_id": id.uuidString.lowercased(), "agency_id": SecurityFixture.agencyB, "withdrawn_on": "2025-08-05"])
            }
            let unknown = UUID()
            let probe = try await rawSubmit(b, "withdraw_termination_request", withdraw(theirs))
            let control = try await rawSubmit(b, "withdraw_termination_request", withdraw(unknown))
            _ = try await drain(&processor, daemon)
            let rows = try await b.query(
                "SELECT command_id, error_code, error_message FROM commands WHERE command_id = ANY ($1::uuid[])",
                ["{\(probe),\(control)}"]).rows
            var seen: [UUID: (String, String)] = [:]
            for row in rows { seen[try row.decode(0)] = (try row.decode(1), try row.decode(2)) }
            let answer = try #require(seen[probe])
            let reference = try #require(seen[control])
            #expect(answer.0 == "request_not_found")
            #expect(answer.0 == reference.0)
            #expect(answer.1.replacingOccurrences(of: theirs.uuidString.lowercased(), with: "ID")
                    == reference.1.replacingOccurrences(of: unknown.uuidString.lowercased(), with: "ID"))
            #expect(!answer.1.contains(SecurityFixture.agencyA))
            #expect(!answer.1.lowercased().contains("tallahassee"))
        }
    }

    @Test("item 6: no large objects, no temporary tables for user logins; 22007 and 22021 are catalogued refusals")
    func defaultsNoRoleNeeds() async throws {
        try await SecurityFixture.withPermissiveDefaults { f, _ in
            for login in [f.auditor, f.clerkA, f.board, f.registrar, f.daemon] {
                let db = try await f.connect(login)
                #expect(await sqlState { _ = try await db.query("SELECT lo_creat(-1)") } == "42501", "\(login) lo_creat")
                #expect(await sqlState { _ = try await db.query("SELECT lo_from_bytea(0, '\\x00'::bytea)") } == "42501",
                        "\(login) lo_from_bytea")
            }
            for login in [f.clerkA, f.board, f.registrar] {
                let db = try await f.connect(login)
                #expect(await sqlState { try await db.executeScript("CREATE TEMP TABLE t (x int)") } == "42501", "\(login) TEMP")
            }
            // The roles whose code needs temporary tables keep them (timeline catch-up, rebuild --check).
            for login in [f.daemon, f.auditor] {
                let db = try await f.connect(login)
                try await db.executeScript("CREATE TEMP TABLE t (x int)")
            }
            // 22007 (bad timestamp), 22008 (out of range), 22021 (invalid UTF-8): mapped to stable codes.
            let board = try await f.connect(f.board)
            let payload = json(["request_id": UUID().uuidString, "meeting_date": "2025-09-10"])
            #expect(await sqlState {
                _ = try await board.query("SELECT submit_command('schedule_review', $1::json, 'k1', 'not a date'::timestamptz)", [payload])
            } == "22007")
            #expect(await sqlState {
                _ = try await board.query("SELECT submit_command('schedule_review', $1::json, 'k2', '294277-01-01'::timestamptz)", [payload])
            } == "22008")
            var utf8Error: PostgresError?
            do {
                try await board.executeScript(#"SELECT submit_command('schedule_review', E'{"x": "\xff"}', 'k3')"#)
            } catch let error as PostgresError { utf8Error = error }
            let error = try #require(utf8Error)
            #expect(error.sqlState == "22021")
            #expect(Refusal.describe(error).hasPrefix("malformed_payload: the text sent is not valid UTF-8"))
            for state in ["22007", "22008", "22021"] {
                #expect(Refusal.forSQLState(state) != nil, "\(state)")
            }
        }
    }
}
