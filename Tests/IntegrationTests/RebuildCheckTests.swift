import Foundation
import Testing
@testable import Workflow

/// The rebuild check's in-memory comparison (`Projections.compareInMemory`, `CopyText`) against
/// a real PostgreSQL: it reads what COPY prints exactly, it never finds a difference the server
/// would not count, and a table that differs is counted exactly (on the server).
@Suite("Rebuild check compared in memory (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct RebuildCheckTests {
    @Test("CopyText's lines are byte for byte what COPY TO prints: control characters, backslash, Unicode, NULL and empty, duplicates")
    func copyTextMatchesTheServer() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            try await db.executeScript("""
                CREATE TABLE copy_form (a text, b text, c date, d uuid, e boolean, f json)
                """)
            // Every ASCII byte but NUL (text cannot hold it), some Unicode, NULL and the empty string.
            let ascii = String(decoding: (1...127).map { UInt8($0) }, as: UTF8.self)
            let rows: [[String?]] = [
                [ascii, "Peñón \u{2019}s \\N \\\\ end\\", "2025-03-10", "5f0c3b8e-8f0a-4c1e-9a57-0d6f1c2b3a4d", "t", #"{"k": [1, "a\tb"]}"#],
                ["", nil, nil, nil, "f", nil],
                [nil, "", "0001-01-01", nil, nil, "[]"],
                ["dup", "dup", "9999-12-31", nil, "t", nil],
                ["dup", "dup", "9999-12-31", nil, "t", nil],
            ]
            try await db.copyIn("COPY copy_form (a, b, c, d, e, f) FROM STDIN", rows: rows)
            let printed = try await db.copyOut("COPY (SELECT a, b, c, d, e, f FROM copy_form) TO STDOUT")
            let live = CopyText.Lines(copyOutput: printed)
            #expect(live.count == 5)
            #expect(CopyText.differing(live, CopyText.Lines(rows: rows)) == 0)
            #expect(CopyText.differing(live, CopyText.Lines(rows: rows.reversed())) == 0)
            // NULL is not the empty string, in either direction.
            var changed = rows
            changed[1][0] = nil
            #expect(CopyText.differing(live, CopyText.Lines(rows: changed)) == 2)
            changed = rows
            changed[1][1] = ""
            #expect(CopyText.differing(live, CopyText.Lines(rows: changed)) == 2)
            // Multisets: a third copy of the duplicate, or one copy fewer, is one row off.
            #expect(CopyText.differing(live, CopyText.Lines(rows: rows + [rows[3]])) == 1)
            #expect(CopyText.differing(live, CopyText.Lines(rows: Array(rows.dropLast()))) == 1)
            // A date in another form is the same value but not the same text: not counted as equal.
            changed = rows
            changed[0][2] = "2025-3-10"
            #expect(CopyText.differing(live, CopyText.Lines(rows: changed)) == 2)
        }
    }

    @Test("a check compares in memory when the tables match; a tampered table is counted exactly (on the server); a rebuild repairs it")
    func tamperedTablesCountedExactly() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            for name in ["Tallahassee Police Department", "Back\\slash Police Department", "Key West Police Department"] {
                _ = try await submit(db, "register_agreement", registration(name))
            }
            _ = try await submit(db, "submit_termination_request", terminationRequest("tallahassee-police-department"))
            var processor = CommandProcessor()
            #expect(try await drain(&processor, db).accepted == 4)

            func counts() async throws -> [String: [Int]] { try await Projections.rebuild(checkOnly: true, on: db).tables }
            let clean = ["agreement_status": [3, 3, 0], "termination_requests": [1, 1, 0], "board_docket": [1, 1, 0]]
            #expect(try await counts() == clean)
            // Every table matched in memory, without the server's comparison.
            let state = try await Projections.foldLog(on: db).state
            let rows = Projections.allRows(state)
            for table in Projections.tables {
                let inMemory = try await db.transaction("ISOLATION LEVEL REPEATABLE READ") { c in
                    try Projections.compareInMemory(table, rebuilt: rows[table.name] ?? [], on: c)
                }
                #expect(inMemory == clean[table.name], "\(table.name)")
            }

            // NULL made empty (one row each way), a row removed, a row added: exact counts.
            try await db.executeScript("""
                UPDATE agreement_status SET moa_url = '' WHERE agency_id = 'key-west-police-department';
                DELETE FROM board_docket;
                INSERT INTO termination_requests (request_id, agreement_id, agency_id, state, filed_on, reason, local_authorization)
                VALUES ('00000000-0000-4000-8000-000000000001', 'x', 'x', 'filed', '2025-08-01', 'r', 'l')
                """)
            let tampered = try await Projections.rebuild(checkOnly: true, on: db)
            #expect(!tampered.matches)
            #expect(tampered.tables == ["agreement_status": [3, 3, 2], "termination_requests": [2, 1, 1], "board_docket": [0, 1, 1]])
            for table in Projections.tables {
                let inMemory = try await db.transaction("ISOLATION LEVEL REPEATABLE READ") { c in
                    try Projections.compareInMemory(table, rebuilt: rows[table.name] ?? [], on: c)
                }
                #expect(inMemory == nil, "\(table.name): a difference goes to the server")
            }
            // A rebuild reports the same counts and replaces the tables; then they match again.
            #expect(try await Projections.rebuild(checkOnly: false, on: db).tables == tampered.tables)
            #expect(try await counts() == clean)
        }
    }

    @Test("dates printed in another DateStyle: the same values, so no difference (the server compares them)")
    func otherDateStyle() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            _ = try await submit(db, "register_agreement", registration("Tallahassee Police Department"))
            var processor = CommandProcessor()
            #expect(try await drain(&processor, db).accepted == 1)
            try await db.executeScript("SET DateStyle = 'SQL, DMY'")
            let check = try await Projections.rebuild(checkOnly: true, on: db)
            #expect(check.matches)
            #expect(check.tables["agreement_status"] == [1, 1, 0])
        }
    }
}
