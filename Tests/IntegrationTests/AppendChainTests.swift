import Foundation
import Testing
import Workflow

/// Issue 17 item 3 (0014): the set-based `append_events_batch` stores the hash chain bit for bit
/// as before: the fixed unit test vector (Tests/UnitTests/PureLayerTests.swift, computed with
/// Python's hashlib) and Swift's `HashChain` over a mixed batch; and its checks keep their codes.
@Suite("Append chain (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct AppendChainTests {
    @Test("two appends in one call store the unit test vector's hashes at positions 1 and 2")
    func storesTheTestVector() async throws {
        try await TestDatabase.with { dsn in
            let c = try await Connection.connect(dsn, logger: TestDatabase.logger)
            let appends = """
                [{"stream_id": "agreement-alachua-county-sheriff-s-office-tfm-2025-02-26", "expected_version": "no_stream",
                  "events": [{"event_id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "event_type": "AgreementRegistered",
                              "data": {"agency":"Alachua County Sheriff's Office","model":"TFM"},
                              "metadata": {"actor":"registrar_1"}, "occurred_at": "2025-07-18T04:00:00Z"}]},
                 {"stream_id": "request-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4e", "expected_version": "0",
                  "events": [{"event_id": "ffffffff-0000-4000-8000-000000000001",
                              "event_type": "TerminationRequestSubmitted",
                              "data": {"s":"caf\u{e9} \\"q\\" \u{1F600}"},
                              "occurred_at": "2025-12-01T07:00:00.123456-05:00"}]}]
                """
            let rows = try await c.query(
                "SELECT event_id::text, global_position, stream_version FROM append_events_batch($1::json)", [appends]
            ).rows
            #expect(try rows.map { try $0.decode(1) as Int64 } == [1, 2])
            let stored = try await c.query(
                "SELECT encode(prev_hash, 'hex'), encode(hash, 'hex') FROM events ORDER BY global_position").rows
            #expect(stored.count == 2)
            #expect(try stored[0].decode(0) as String == String(repeating: "0", count: 64))
            #expect(try stored[0].decode(1) as String == "aa1996d376731ad17967144e12fba339fd9bee3f4fa7da6f87299d6caf0b68e2")
            #expect(try stored[1].decode(0) as String == "aa1996d376731ad17967144e12fba339fd9bee3f4fa7da6f87299d6caf0b68e2")
            #expect(try stored[1].decode(1) as String == "28e5edff44268a75255628c604e19dd5ca5e053780d15bd8b81822d80a9bf089")
            await c.close()
        }
    }

    @Test("a batch of 7 appends to 3 streams (one twice, numeric and symbolic expected versions) chains as HashChain does")
    func mixedBatchChainsAsSwift() async throws {
        try await TestDatabase.with { dsn in
            let c = try await Connection.connect(dsn, logger: TestDatabase.logger)
            try await EventStore.append([NewEvent(type: "Seeded", data: "{}", occurredAt: Timestamp(Date()))], to: "mix-a",
                                         expected: .noStream, on: c)
            func events(_ n: Int, _ tag: String) -> [NewEvent] {
                (0..<n).map {
                    NewEvent(type: "Mixed", data: "{\"tag\": \"\(tag)\", \"n\": \($0), \"text\": \"\u{e9}\u{1F600} \\\"q\\\"\"}",
                             metadata: #"{"actor": "test"}"#, occurredAt: Timestamp(Date()))
                }
            }
            let statement = EventStore.appendBatchStatement([
                ("mix-a", .exact(1), events(3, "a1")), ("mix-b", .noStream, events(1, "b1")),
                ("mix-a", .exact(4), events(2, "a2")), ("mix-c", .any, events(5, "c1")),
                ("mix-b", .streamExists, events(1, "b2")), ("mix-a", .any, events(1, "a3")),
                ("mix-c", .exact(5), events(100, "c2")),
            ])
            let appended = try EventStore.appended(try await c.query(statement.sql, statement.parameters))
            #expect(appended.map(\.globalPosition) == Array(Int64(2)...114))
            #expect(appended.prefix(6).map(\.streamVersion) == [2, 3, 4, 1, 5, 6])
            let log = try await EventStore.readAll(on: c)
            #expect(log.count == 114)
            var previous = HashChain.genesis
            for event in log {
                #expect(event.prevHash == previous, "position \(event.globalPosition)")
                #expect(event.hash == HashChain.hash(of: event, previous: previous), "position \(event.globalPosition)")
                previous = event.hash
            }
            let report = try await ChainVerifier.verify(on: c)
            #expect(report.isIntact)
            #expect(try await EventStore.readStream("mix-a", on: c).map(\.streamVersion) == Array(1...7))
            #expect(try await EventStore.readStream("mix-c", on: c).count == 105)
            await c.close()
        }
    }

    @Test("refusals keep their codes and append nothing: ES001 in a later append, 22023 for an event without data")
    func refusalsAppendNothing() async throws {
        try await TestDatabase.with { dsn in
            let c = try await Connection.connect(dsn, logger: TestDatabase.logger)
            let event = NewEvent(type: "Probe", data: "{}", occurredAt: Timestamp(Date()))
            let wrong = EventStore.appendBatchStatement([
                ("probe-1", .noStream, [event]), ("probe-1", .exact(0), [NewEvent(type: "Probe", data: "{}", occurredAt: Timestamp(Date()))]),
            ])
            let error = try await #require(throws: PostgresError.self) {
                try await c.query(wrong.sql, wrong.parameters)
            }
            #expect(error.sqlState == "ES001")
            #expect(error.message.contains("expected 0, actual 1"))
            let noData = try await #require(throws: PostgresError.self) {
                try await c.query(
                    "SELECT * FROM append_events('probe-2', 'any', $1::json)",
                    [#"[{"event_id": "\#(UUID().uuidString.lowercased())", "event_type": "Probe"}]"#])
            }
            #expect(noData.sqlState == "22023")
            #expect(try await EventStore.lastPosition(on: c) == 0)
            await c.close()
        }
    }
}
