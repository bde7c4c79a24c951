import Foundation
import Testing
import Workflow

/// Issue 17 items 3 and 4 (0020): the append's core takes a different road by size (one event:
/// one lookup statement and an INSERT ... VALUES; 2-8 events: the stored ids probed before the
/// INSERT; more: the INSERT in a subtransaction, the ids probed only when it is refused). Each
/// road must answer exactly as 0017 did: the idempotent retry, ES002, ES001 after a stored id,
/// the events table's own refusals, dense positions and an intact chain.
@Suite("Append hot path (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct HotPathTests {
    static let call = TypedAppendTests.call

    /// The eight arguments of one append of `ids` to `stream`, expecting `expected`.
    static func append(_ stream: String, _ expected: String, _ ids: [UUID], type: String = "Probe")
        -> [any PostgresEncodable]
    {
        let now = Timestamp(Date())
        return [
            PostgresArray([stream]), PostgresArray([expected]), PostgresArray([ids.count]), PostgresArray(ids),
            PostgresArray(Array(repeating: type, count: ids.count)),
            PostgresArray(ids.indices.map { #"{"i": \#($0)}"# }), PostgresArray(Array(repeating: "{}", count: ids.count)),
            PostgresArray(Array(repeating: now, count: ids.count)),
        ]
    }

    @Test("for 1, 2, 8, 9 and 100 events: retries return the stored positions, overlaps are ES002, a wrong version ES001",
          arguments: [1, 2, 8, 9, 100])
    func everyRoadAnswersAlike(events: Int) async throws {
        try await TestDatabase.with { dsn in
            let c = try await Connection.connect(dsn, logger: TestDatabase.logger)
            func positions(_ values: [any PostgresEncodable]) async throws -> [Int64] {
                try await c.query(Self.call, values).rows.map { try $0.decode(1) as Int64 }
            }
            func refusal(_ values: [any PostgresEncodable]) async throws -> PostgresError {
                try await #require(throws: PostgresError.self) { try await c.query(Self.call, values) }
            }
            // Something before, so that positions and versions do not start at 1 by chance.
            _ = try await positions(Self.append("other-1", "no_stream", [UUID(), UUID(), UUID()]))
            let ids = (0..<events).map { _ in UUID() }
            let first = try await positions(Self.append("probe-1", "no_stream", ids))
            #expect(first == Array(4...Int64(3 + events)))

            // The same call again, and with versions that no longer hold: the stored positions.
            #expect(try await positions(Self.append("probe-1", "no_stream", ids)) == first)
            #expect(try await positions(Self.append("probe-1", "0", ids)) == first)
            #expect(try await positions(Self.append("probe-1", "any", ids)) == first)
            #expect(try await positions(Self.append("probe-1", "stream_exists", ids)) == first)
            // Stored at other versions than asked: ES002, not ES001.
            #expect(try await refusal(Self.append("probe-1", "7", ids)).sqlState == "ES002")
            // Not exactly this append: ES002 (another stream; one id more; one id shared).
            #expect(try await refusal(Self.append("probe-2", "no_stream", ids)).sqlState == "ES002")
            #expect(try await refusal(Self.append("probe-1", "no_stream", ids + [UUID()])).sqlState == "ES002")
            let shared = try await refusal(Self.append("probe-3", "no_stream", [ids[events - 1]] + (0..<events).map { _ in UUID() }))
            #expect(shared.sqlState == "ES002")
            #expect(shared.message.contains("1 of \(events + 1) event ids are already stored"))
            // A stored id in a call of two appends: ES002.
            var two = Self.append("probe-4", "no_stream", (0..<events).map { _ in UUID() })
            let second = Self.append("probe-1", String(events), [ids[0]])
            for index in 0..<8 {
                let a = try #require(two[index] as? PostgresArray), b = try #require(second[index] as? PostgresArray)
                two[index] = PostgresArray(a.elements + b.elements)
            }
            #expect(try await refusal(two).sqlState == "ES002")
            // A wrong expected version and no stored id: ES001, naming the actual version.
            let wrong = try await refusal(Self.append("probe-1", "0", (0..<events).map { _ in UUID() }))
            #expect(wrong.sqlState == "ES001")
            #expect(wrong.message.contains("expected 0, actual \(events)"))
            // The right one goes in after the stream's events.
            let next = try await positions(Self.append("probe-1", String(events), (0..<events).map { _ in UUID() }))
            #expect(next == Array(Int64(4 + events)...Int64(3 + 2 * events)))
            let versions = try await c.query(
                "SELECT stream_version FROM events WHERE stream_id = 'probe-1' ORDER BY global_position"
            ).rows.map { try $0.decode(0) as Int }
            #expect(versions == Array(1...(2 * events)))
            #expect(try await EventStore.lastPosition(on: c) == Int64(3 + 2 * events))
            #expect(try await ChainVerifier.verify(on: c).isIntact)
            await c.close()
        }
    }

    @Test("the events table's own refusal stands on every road (a bad event type: 23514), nothing appended",
          arguments: [1, 5, 20])
    func tableRefusalsStand(events: Int) async throws {
        try await TestDatabase.with { dsn in
            let c = try await Connection.connect(dsn, logger: TestDatabase.logger)
            let error = try await #require(throws: PostgresError.self) {
                try await c.query(Self.call, Self.append("probe-1", "no_stream", (0..<events).map { _ in UUID() },
                                                         type: "not a type"))
            }
            #expect(error.sqlState == "23514")
            #expect(try await EventStore.lastPosition(on: c) == 0)
            await c.close()
        }
    }

    @Test("a retry answered from a refused subtransaction leaves the caller's transaction usable and committed")
    func retryInsideATransaction() async throws {
        try await TestDatabase.with { dsn in
            let c = try await Connection.connect(dsn, logger: TestDatabase.logger)
            let ids = (0..<20).map { _ in UUID() }
            _ = try await c.query(Self.call, Self.append("probe-1", "no_stream", ids))
            let later = (0..<20).map { _ in UUID() }
            let (retried, appended) = try await c.transaction { t in
                let retried = try t.query(Self.call, Self.append("probe-1", "no_stream", ids)).rows
                    .map { try $0.decode(1) as Int64 }
                let appended = try t.query(Self.call, Self.append("probe-1", "20", later)).rows
                    .map { try $0.decode(1) as Int64 }
                return (retried, appended)
            }
            #expect(retried == Array(1...20))
            #expect(appended == Array(21...40))
            #expect(try await EventStore.lastPosition(on: c) == 40)
            #expect(try await ChainVerifier.verify(on: c).isIntact)
            await c.close()
        }
    }
}
