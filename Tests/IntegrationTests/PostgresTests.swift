import Foundation
import Testing
import Workflow

@Suite("PostgreSQL layer (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct PostgresTests {
    @Test("parameters with quotes, Unicode and NULL round-trip unchanged")
    func parameters() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let db = try await Connection.connect(dsn)
            let tricky = "O'Brien \"quoted\" \\ back; DROP TABLE events; -- é 中文 🚔 \u{0001}"
            let row = try #require(try await db.query(
                "SELECT $1::text, $2::text IS NULL, $3::int8, $4::bool, $5::uuid, $6::timestamptz, $7::json",
                [tricky, String?.none, Int64.max, true, UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF"),
                 Timestamp(microsecondsSinceEpoch: 1_762_146_000_123_456), "{\"a\": [1, \"x\"]}"]).first)
            #expect(try row.decode(0, as: String.self) == tricky)
            #expect(try row.decode(1, as: Bool.self) == true)
            #expect(try row.decode(2, as: Int64.self) == Int64.max)
            #expect(try row.decode(3, as: Bool.self) == true)
            #expect(try row.decode(4, as: UUID.self) == UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF"))
            #expect(try row.decode(5, as: Timestamp.self) == Timestamp(microsecondsSinceEpoch: 1_762_146_000_123_456))
            #expect(try row.decode(6, as: String.self) == "{\"a\": [1, \"x\"]}")
            let null = try #require(try await db.query("SELECT NULL::text").first)
            #expect(try null.decodeIfPresent(0, as: String.self) == nil)
            #expect(throws: PostgresDecodingError.self) { try null.decode(0, as: String.self) }
        }
    }

    @Test("bytea of all 256 byte values round-trips")
    func bytea() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let db = try await Connection.connect(dsn)
            let bytes = (0...255).map { UInt8($0) }
            let row = try #require(try await db.query("SELECT $1::bytea, length($1::bytea)", [bytes]).first)
            #expect(try row.decode(0, as: [UInt8].self) == bytes)
            #expect(try row.decode(1, as: Int.self) == 256)
        }
    }

    @Test("a unique violation is reported as SQLSTATE 23505, without parameter values")
    func uniqueViolation() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let db = try await Connection.connect(dsn)
            try await db.executeScript("CREATE TABLE t (k text PRIMARY KEY)")
            try await db.execute("INSERT INTO t VALUES ($1)", ["secret-value"])
            let error = try await #require(throws: PostgresError.self) {
                try await db.execute("INSERT INTO t VALUES ($1)", ["secret-value"], name: "insert t")
            }
            #expect(error.sqlState == PostgresError.State.uniqueViolation)
            #expect(error.constraint == "t_pkey")
            #expect(error.statement == "insert t")
            #expect(!error.description.contains("secret-value"))
            // The session stays usable after an error.
            #expect(try await db.query("SELECT 1").rows.count == 1)
        }
    }

    @Test("a transaction commits on return and rolls back on throw")
    func transactions() async throws {
        struct Planned: Error {}
        try await TestDatabase.with(migrated: false) { dsn in
            let db = try await Connection.connect(dsn)
            try await db.executeScript("CREATE TABLE t (n int)")
            try await db.transaction { try $0.execute("INSERT INTO t VALUES (1)") }
            await #expect(throws: Planned.self) {
                try await db.transaction { c in
                    try c.execute("INSERT INTO t VALUES (2)")
                    throw Planned()
                }
            }
            #expect(await db.inTransaction == false)
            let count = try await db.query("SELECT count(*), max(n) FROM t").rows[0]
            #expect(try count.decode(0, as: Int.self) == 1)
            #expect(try count.decode(1, as: Int.self) == 1)
        }
    }

    @Test("a notification from a second connection arrives; none means a timeout, not an error")
    func notifications() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let listener = try await Connection.connect(dsn)
            let sender = try await Connection.connect(dsn)
            try await listener.listen("wake up")
            #expect(try await listener.waitForNotification(timeout: .milliseconds(100)) == nil)
            let waiting = Task { try await listener.waitForNotification(timeout: .seconds(5)) }
            try await Task.sleep(for: .milliseconds(50))
            let started = ContinuousClock.now
            try await sender.notify("wake up", payload: "hello")
            let received = try await waiting.value
            #expect(received?.channel == "wake up")
            #expect(received?.payload == "hello")
            #expect(received?.processID == (await sender.backendPID))
            #expect(ContinuousClock.now - started < .seconds(4), "woken by the notification, before the 5 s timeout")
        }
    }

    @Test("LISTEN is sent once per session, again after a rollback undid it and after reconnect")
    func listenOncePerSession() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let db = try await Connection.connect(dsn)
            func channels() async throws -> [String] {
                try await db.query("SELECT pg_listening_channels() ORDER BY 1").rows.map { try $0.decode(0) }
            }
            try await db.listen("a")
            try await db.executeScript("UNLISTEN a")  // behind listen's back: it does not look again
            try await db.listen("a")
            #expect(try await channels() == [], "a channel already listened to costs no round trip")
            // Inside a transaction block a rollback undoes LISTEN: listen does not remember it.
            try await db.executeScript("BEGIN")
            try await db.listen("b")
            try await db.executeScript("ROLLBACK")
            #expect(try await channels() == [])
            try await db.listen("b")
            #expect(try await channels() == ["b"])
            try await db.reconnect()
            try await db.listen("a")
            try await db.listen("b")
            #expect(try await channels() == ["a", "b"])
        }
    }

    @Test("transactionInPipelines: BEGIN and COMMIT in the body's pipelines; a failure rolls back, nothing left open")
    func transactionInPipelines() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let db = try await Connection.connect(dsn)
            try await db.executeScript("CREATE TABLE t (n int PRIMARY KEY)")
            try await db.transactionInPipelines { c in
                try c.pipeline([Statement("BEGIN"), Statement("INSERT INTO t VALUES (1)")])
                try c.pipeline([Statement("INSERT INTO t VALUES (2)"), Statement("COMMIT")])
            }
            #expect(await db.inTransaction == false)
            // A failure before the COMMIT: PostgreSQL skips it; the wrapper rolls back.
            await #expect(throws: PostgresError.self) {
                try await db.transactionInPipelines { c in
                    try c.pipeline([Statement("BEGIN"), Statement("INSERT INTO t VALUES (3)")])
                    try c.pipeline([Statement("INSERT INTO t VALUES (1)"), Statement("COMMIT")])
                }
            }
            #expect(await db.inTransaction == false)
            // A body that leaves its transaction open is committed on return.
            try await db.transactionInPipelines { c in
                try c.pipeline([Statement("BEGIN"), Statement("INSERT INTO t VALUES (4)")])
            }
            #expect(await db.inTransaction == false)
            #expect(try await db.query("SELECT array_to_string(array_agg(n ORDER BY n), ',') FROM t").rows[0]
                .decode(0, as: String.self) == "1,2,4")
        }
    }

    @Test("10,000 rows through pipeline mode and 100,000 through COPY are counted back")
    func bulk() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let db = try await Connection.connect(dsn)
            try await db.executeScript("CREATE TABLE p (n int, s text); CREATE TABLE c (n int, s text, x text)")
            let statements = (1...10_000).map { Statement("INSERT INTO p VALUES ($1, $2)", [$0, "row \($0)"]) }
            let results = try await db.pipeline(statements)
            #expect(results.count == 10_000)
            #expect(results.allSatisfy { $0.affectedRows == 1 })
            #expect(try await db.query("SELECT count(*), sum(n) FROM p").rows[0].decode(1, as: Int.self) == 50_005_000)

            let rows = (1...100_000).lazy.map { [String($0), "tab\there\nnewline \\ é", $0 % 7 == 0 ? nil : "x"] }
            let copied = try await db.copyIn("COPY c (n, s, x) FROM STDIN", rows: rows)
            #expect(copied == 100_000)
            let check = try await db.query(
                "SELECT count(*), count(x), count(*) FILTER (WHERE s = $1) FROM c", ["tab\there\nnewline \\ é"]).rows[0]
            #expect(try check.decode(0, as: Int.self) == 100_000)
            #expect(try check.decode(1, as: Int.self) == 100_000 - 14_285)
            #expect(try check.decode(2, as: Int.self) == 100_000)
        }
    }

    @Test("a failing statement in a pipeline reports its error and nothing after it runs")
    func pipelineFailure() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let db = try await Connection.connect(dsn)
            try await db.executeScript("CREATE TABLE p (n int PRIMARY KEY)")
            let error = try await #require(throws: PostgresError.self) {
                try await db.pipeline([
                    Statement("INSERT INTO p VALUES (1)"), Statement("INSERT INTO p VALUES (1)"),
                    Statement("INSERT INTO p VALUES (2)"),
                ])
            }
            #expect(error.sqlState == "23505")
            #expect(try await db.query("SELECT count(*) FROM p").rows[0].decode(0, as: Int.self) == 0)
        }
    }

    @Test("a pipeline prepares each statement text once per session, in the pipeline; a failed prepare is not kept")
    func pipelinePrepares() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let db = try await Connection.connect(dsn)
            try await db.executeScript("CREATE TABLE p (n int PRIMARY KEY)")
            let insert = "INSERT INTO p VALUES ($1)"
            let prepared = "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1"
            // The same new text twice in one pipeline: prepared once, run twice.
            try await db.pipeline([Statement(insert, [1]), Statement(insert, [2])])
            #expect(try await db.query(prepared, [insert]).rows[0].decode(0, as: Int.self) == 1)
            try await db.pipeline([Statement(insert, [3]), Statement("SELECT sum(n) FROM p")])
            #expect(try await db.query(prepared, [insert]).rows[0].decode(0, as: Int.self) == 1)
            #expect(try await db.query("SELECT sum(n) FROM p").rows[0].decode(0, as: Int.self) == 6)

            // A text the server refuses to prepare fails the pipeline with its SQLSTATE; nothing
            // after it runs, and it is not remembered as prepared (the next use reports it again).
            let broken = "SELEC 1"
            for _ in 0..<2 {
                let error = try await #require(throws: PostgresError.self) {
                    try await db.pipeline([Statement(insert, [4]), Statement(broken), Statement(insert, [5])])
                }
                #expect(error.sqlState == "42601")
            }
            #expect(try await db.query("SELECT count(*) FROM p").rows[0].decode(0, as: Int.self) == 3)
            // A statement after an aborted one is not prepared either; once it runs, it is.
            let later = "INSERT INTO p SELECT $1::int + 100"
            _ = try? await db.pipeline([Statement(broken), Statement(later, [1])])
            #expect(try await db.query(prepared, [later]).rows[0].decode(0, as: Int.self) == 0)
            let results = try await db.pipeline([Statement(later, [1]), Statement(later, [2])])
            #expect(results.map(\.affectedRows) == [1, 1])
            #expect(try await db.query(prepared, [later]).rows[0].decode(0, as: Int.self) == 1)
        }
    }

    @Test("migrations apply once; an edited applied migration is refused")
    func migrations() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let db = try await Connection.connect(dsn)
            let sql = TestDatabase.root.appendingPathComponent("Sql")
            let migrator = try Migrator.load(from: sql)
            let first = try await migrator.migrate(on: db, logger: TestDatabase.logger)
            #expect(first.count == migrator.migrations.count)
            #expect(first.first?.version == 1)
            let second = try await migrator.migrate(on: db, logger: TestDatabase.logger)
            #expect(second.isEmpty)
            let recorded = try await db.query("SELECT count(*) FROM schema_migrations").rows[0]
            #expect(try recorded.decode(0, as: Int.self) == migrator.migrations.count)

            var edited = migrator
            edited.migrations[0] = Migration(version: 1, name: edited.migrations[0].name,
                                             sql: edited.migrations[0].sql + "\n-- edited\n")
            let error = try await #require(throws: MigrationError.self) {
                try await edited.migrate(on: db, logger: TestDatabase.logger)
            }
            guard case .checksumMismatch(let version, _, _, _) = error else {
                Issue.record("expected a checksum mismatch, got \(error)")
                return
            }
            #expect(version == 1)
        }
    }
}
