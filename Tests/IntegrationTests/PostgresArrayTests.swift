import Foundation
import Testing
import Workflow

@Suite("Arrays as parameters (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct PostgresArrayDatabaseTests {
    @Test("text with commas, braces, quotes, backslashes, NULL and Unicode arrives element by element; uuid[] and bigint[] too")
    func roundTrip() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let db = try await Connection.connect(dsn)
            let texts: [String?] = ["a,b", "{c}", #"say "hi""#, #"back\slash"#, "NULL", nil, "", "caf\u{e9} \u{1F600}", " x "]
            for (index, expected) in texts.enumerated() {
                let row = try await db.query("SELECT ($1::text[])[$2::int], array_length($1::text[], 1)",
                                             [PostgresArray(texts), index + 1]).rows[0]
                #expect(try row.decodeIfPresent(0, as: String.self) == expected, "element \(index + 1)")
                #expect(try row.decode(1, as: Int.self) == texts.count)
            }
            let ids = [UUID(), UUID()]
            let found: Int = try await db.query("SELECT count(*)::int FROM unnest($1::uuid[]) u WHERE u = ANY ($2::uuid[])",
                                                 [PostgresArray(ids), PostgresArray([ids[1]])]).rows[0].decode(0)
            #expect(found == 1)
            let sum: Int64 = try await db.query("SELECT sum(x)::bigint FROM unnest($1::bigint[]) x",
                                                [PostgresArray([Int64(5), -2, 9_000_000_000])]).rows[0].decode(0)
            #expect(sum == 9_000_000_003)
            let empty: Int = try await db.query("SELECT cardinality($1::text[])", [PostgresArray([String]())]).rows[0].decode(0)
            #expect(empty == 0)
            await db.close()
        }
    }
}
