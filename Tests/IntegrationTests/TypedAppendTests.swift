import Foundation
import Testing
import Workflow

/// Issue 16 item 3 (0017): the append request as typed PostgreSQL arrays. The array overload of
/// `append_events_batch` is the one implementation of the append; `append_events_batch(json)` and `append_events` are thin
/// wrappers. These tests call it as a raw-SQL client would (a plain libpq connection, literal SQL),
/// and check the client's array binding against a real server.
@Suite("Typed append (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct TypedAppendTests {
    static let call = """
        SELECT event_id::text, global_position, stream_version FROM append_events_batch(
            $1::text[], $2::text[], $3::integer[], $4::uuid[], $5::text[], $6::json[], $7::json[], $8::timestamptz[])
        """

    @Test("the unit test vector, appended through the arrays, stores the same two hashes as through the JSON form")
    func testVectorThroughArrays() async throws {
        try await TestDatabase.with { dsn in
            let c = try await Connection.connect(dsn, logger: TestDatabase.logger)
            let first = try #require(Timestamp(parsing: "2025-07-18T04:00:00.000000Z"))
            let second = try #require(Timestamp(parsing: "2025-12-01T12:00:00.123456Z"))  // 07:00:00.123456-05:00
            let rows = try await c.query(Self.call, [
                PostgresArray(["agreement-alachua-county-sheriff-s-office-tfm-2025-02-26",
                               "request-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4e"]),
                PostgresArray(["no_stream", "0"]), PostgresArray([1, 1]),
                PostgresArray(["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "ffffffff-0000-4000-8000-000000000001"]),
                PostgresArray(["AgreementRegistered", "TerminationRequestSubmitted"]),
                PostgresArray([#"{"agency":"Alachua County Sheriff's Office","model":"TFM"}"#,
                               "{\"s\":\"caf\u{e9} \\\"q\\\" \u{1F600}\"}"]),
                PostgresArray([#"{"actor":"registrar_1"}"#, "{}"]), PostgresArray([first, second]),
            ]).rows
            #expect(try rows.map { try $0.decode(1) as Int64 } == [1, 2])
            #expect(try rows.map { try $0.decode(0) as String }
                == ["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "ffffffff-0000-4000-8000-000000000001"])
            let stored = try await c.query("SELECT encode(hash, 'hex') FROM events ORDER BY global_position").rows
            #expect(try stored.map { try $0.decode(0) as String } == [
                "aa1996d376731ad17967144e12fba339fd9bee3f4fa7da6f87299d6caf0b68e2",
                "28e5edff44268a75255628c604e19dd5ca5e053780d15bd8b81822d80a9bf089",
            ])
            await c.close()
        }
    }

    @Test("data and metadata are stored byte for byte: whitespace, key order, escapes, Unicode, nested arrays")
    func dataKeptVerbatim() async throws {
        try await TestDatabase.with { dsn in
            let c = try await Connection.connect(dsn, logger: TestDatabase.logger)
            let texts = [
                #"{ "b" : 1,  "a":[ {"x" : "{,}\"\\"} ] }"#, "  [1, 2,\n3]\t", #""a string, with \"quotes\"""#,
                "{\"e\":\"\u{e9}\u{1F600}\\u00e9\\n\"}", "null", "{}",
            ]
            let metadata = [#"{"actor":"x"}"#, #"{ "actor" : "a,b" }"#, "{\n}", #"{"q":"\"{}\""}"#, "{}", #"{"n":[1,{}]}"#]
            let events = texts.indices.map { index in
                NewEvent(type: "Verbatim", data: texts[index], metadata: metadata[index], occurredAt: Timestamp(Date()))
            }
            try await EventStore.append(events, to: "verbatim-1", expected: .noStream, on: c)
            let stored = try await EventStore.readStream("verbatim-1", on: c)
            #expect(stored.map(\.data) == texts)
            #expect(stored.map(\.metadata) == metadata)
            #expect(try await ChainVerifier.verify(on: c).isIntact)
            await c.close()
        }
    }

    @Test("refusals name the argument (22023), keep ES001/ES002/ES004, and append nothing")
    func refusals() async throws {
        try await TestDatabase.with { dsn in
            let c = try await Connection.connect(dsn, logger: TestDatabase.logger)
            let now = Timestamp(Date())
            let one = UUID(), two = UUID()
            /// The eight arguments of a valid one-append, two-event call, with `change` applied.
            func arguments(_ change: (inout [any PostgresEncodable]) -> Void = { _ in }) -> [any PostgresEncodable] {
                var values: [any PostgresEncodable] = [
                    PostgresArray(["probe-1"]), PostgresArray(["no_stream"]), PostgresArray([2]), PostgresArray([one, two]),
                    PostgresArray(["Probe", "Probe"]), PostgresArray(["{}", "{}"]), PostgresArray(["{}", "{}"]),
                    PostgresArray([now, now]),
                ]
                change(&values)
                return values
            }
            func refusal(_ values: [any PostgresEncodable]) async throws -> PostgresError {
                try await #require(throws: PostgresError.self) { try await c.query(Self.call, values) }
            }
            let cases: [(String, [any PostgresEncodable], String, String)] = [
                ("NULL argument", arguments { $0[4] = PostgresValue.null }, "22023", "p_types is NULL"),
                ("no appends", arguments { $0[0] = PostgresArray([String]()) }, "22023", "non-empty"),
                ("lengths differ", arguments { $0[5] = PostgresArray(["{}"]) }, "22023", "p_data must have as many elements as p_ids"),
                ("per-append lengths differ", arguments { $0[2] = PostgresArray([1, 1]) }, "22023",
                 "p_counts must have as many elements as p_streams"),
                ("counts do not add up", arguments { $0[2] = PostgresArray([1]) }, "22023", "p_counts adds up to 1"),
                ("a count below 1", arguments { $0[2] = PostgresArray([0]) }, "22023", "each append needs"),
                ("bad expected version", arguments { $0[1] = PostgresArray(["-1"]) }, "22023", "each append needs"),
                ("NULL stream", arguments { $0[0] = PostgresArray([String?.none]) }, "22023", "each append needs"),
                ("NULL id", arguments { $0[3] = PostgresArray([one, nil]) }, "22023", "p_ids has a NULL element"),
                ("NULL data", arguments { $0[5] = PostgresArray(["{}", nil]) }, "22023", "p_data has a NULL element"),
                ("NULL metadata", arguments { $0[6] = PostgresArray([nil, "{}"]) }, "22023", "p_metadata has a NULL element"),
                ("NULL occurred", arguments { $0[7] = PostgresArray([now, nil]) }, "22023", "p_occurred has a NULL element"),
                ("two dimensions", arguments { $0[4] = PostgresValue.text(#"{{"Probe"},{"Probe"}}"#) }, "22023",
                 "p_types must be a non-empty one-dimensional array"),
                ("duplicate id", arguments { $0[3] = PostgresArray([one, one]) }, "22023", "duplicate event_id"),
                ("occurred out of range", arguments { $0[7] = PostgresArray(["1899-12-31T23:59:59Z", "2025-01-01T00:00:00Z"]) },
                 "ES004", "occurred_at must be"),
                ("wrong expected version", arguments { $0[1] = PostgresArray(["3"]) }, "ES001", "expected 3, actual 0"),
            ]
            for (label, values, state, message) in cases {
                let error = try await refusal(values)
                #expect(error.sqlState == state, "\(label): \(error.message)")
                #expect(error.message.contains(message), "\(label): \(error.message)")
            }
            #expect(try await EventStore.lastPosition(on: c) == 0)

            // Appended once; the same call again is an idempotent retry; a call sharing one id is ES002.
            let first = try await c.query(Self.call, arguments()).rows.map { try $0.decode(1) as Int64 }
            #expect(first == [1, 2])
            #expect(try await c.query(Self.call, arguments()).rows.map { try $0.decode(1) as Int64 } == first)
            let overlap = try await refusal(arguments { $0[0] = PostgresArray(["probe-2"]); $0[3] = PostgresArray([two, UUID()]) })
            #expect(overlap.sqlState == "ES002")
            // ES001 in the second append of a batch: nothing of the first stays.
            let batch = try await refusal([
                PostgresArray(["probe-3", "probe-3"]), PostgresArray(["no_stream", "0"]), PostgresArray([1, 1]),
                PostgresArray([UUID(), UUID()]), PostgresArray(["Probe", "Probe"]), PostgresArray(["{}", "{}"]),
                PostgresArray(["{}", "{}"]), PostgresArray([now, now]),
            ])
            #expect(batch.sqlState == "ES001")
            #expect(batch.message.contains("stream probe-3: expected 0, actual 1"))
            #expect(try await EventStore.lastPosition(on: c) == 2)
            await c.close()
        }
    }

    @Test("who may execute the array overload: exactly who may execute append_events_batch(json); SECURITY DEFINER, pinned search_path")
    func grants() async throws {
        try await TestDatabase.with { dsn in
            let c = try await Connection.connect(dsn, logger: TestDatabase.logger)
            let signature = "append_events_batch(text[], text[], integer[], uuid[], text[], json[], json[], timestamptz[])"
            let rows = try await c.query("""
                SELECT r.rolname, has_function_privilege(r.oid, $1, 'EXECUTE'),
                       has_function_privilege(r.oid, 'append_events_batch(json)', 'EXECUTE')
                FROM pg_roles r WHERE NOT r.rolsuper AND r.rolname !~ '^pg_'
                """, [signature]).rows
            #expect(rows.count >= 6)
            for row in rows {
                let role: String = try row.decode(0)
                #expect(try row.decode(1) as Bool == row.decode(2) as Bool, "\(role)")
            }
            let daemon = try await c.query("SELECT has_function_privilege('workflow_daemon', $1, 'EXECUTE')", [signature])
            #expect(try daemon.rows[0].decode(0) as Bool)
            let clerk = try await c.query("SELECT has_function_privilege('agency_clerk', $1, 'EXECUTE')", [signature])
            #expect(try clerk.rows[0].decode(0) as Bool == false)
            let definition = try await c.query("""
                SELECT p.prosecdef, array_to_string(p.proconfig, ';') FROM pg_proc p WHERE p.oid = $1::regprocedure
                """, [signature]).rows[0]
            #expect(try definition.decode(0) as Bool)
            #expect(try (definition.decode(1) as String).contains("search_path=pg_catalog, sbie, pg_temp"))
            await c.close()
        }
    }

    @Test("text arrays round-trip through SELECT $1::text[]: 300 random arrays of hostile elements")
    func fuzzRoundTrip() async throws {
        try await TestDatabase.with(migrated: false) { dsn in
            let c = try await Connection.connect(dsn, logger: TestDatabase.logger)
            var generator = SystemRandomNumberGenerator()
            let alphabet: [String] = ["\"", "\\", "{", "}", ",", " ", "\t", "\n", "\r", "a", "Z", "0", "NULL", "null",
                                      "'", "[", "]", ":", "=", "\u{e9}", "\u{1F600}", "\u{200B}", "\u{7f}", "\u{1}", "\\\""]
            for round in 0..<300 {
                let count = Int.random(in: 0...6, using: &generator)
                let elements: [String?] = (0..<count).map { _ in
                    if Int.random(in: 0..<10, using: &generator) == 0 { return nil }
                    return (0..<Int.random(in: 0...8, using: &generator))
                        .map { _ in alphabet.randomElement(using: &generator) ?? "" }.joined()
                }
                let rows = try await c.query(
                    "SELECT u.x, u.x IS NULL FROM unnest($1::text[]) WITH ORDINALITY AS u(x, o) ORDER BY u.o",
                    [PostgresArray(elements)]).rows
                let back: [String?] = try rows.map { row in
                    let isNull: Bool = try row.decode(1)
                    return isNull ? nil : try row.decode(0) as String
                }
                #expect(back == elements, "round \(round)")
                let dimensions = try await c.query("SELECT coalesce(array_ndims($1::text[]), 0)", [PostgresArray(elements)])
                #expect(try dimensions.rows[0].decode(0) as Int == (count == 0 ? 0 : 1), "round \(round)")
            }
            await c.close()
        }
    }
}
