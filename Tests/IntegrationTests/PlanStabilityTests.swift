import Foundation
import Testing
import Workflow

/// Issue 17 item 3: plans that cannot degrade with the size or statistics of the log.
@Suite("Plan stability (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct PlanStabilityTests {
    /// On a fresh, never-analysed database (autovacuum off for `events`, so no analyse can
    /// rescue a bad cached plan), one session appends 50,000 events through
    /// `append_events_batch`: 2,500 calls of 20 events, each to two new streams (`no_stream`)
    /// and two existing ones (a numeric expected version). With per-key index probes (0013)
    /// the session's cached plans never scan `events`; with 0005's `= ANY (array)` lookups
    /// every call did (one sequential scan per call, cost growing with the log).
    /// Counted from `pg_stat_user_tables`, so the assertion does not depend on timing.
    @Test("50,000 events appended on a never-analysed database: no sequential scan of events")
    func noSequentialScans() async throws {
        try await TestDatabase.with { dsn in
            let c = try await Connection.connect(dsn, logger: TestDatabase.logger)
            try await c.executeScript("ALTER TABLE events SET (autovacuum_enabled = false)")
            let analysed: Bool = try await c.query(
                "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL FROM pg_stat_user_tables "
                    + "WHERE relname = 'events'").rows[0].decode(0)
            #expect(!analysed)
            func scans() async throws -> (seq: Int, index: Int) {
                // This session's counters reach the shared statistics when it next goes idle.
                _ = try await c.query("SELECT pg_stat_force_next_flush()")
                _ = try await c.query("SELECT 1")
                let row = try await c.query(
                    "SELECT pg_stat_clear_snapshot(), seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables "
                        + "WHERE relname = 'events'").rows[0]
                return (try row.decode(1), try row.decode(2))
            }
            let before = try await scans()

            let calls = 2_500
            var versions: [(stream: String, version: Int)] = []
            var appended = 0
            for call in 0..<calls {
                var appends: [String] = []
                func append(_ stream: String, expected: String) -> String {
                    let events = (0..<5).map { _ in
                        #"{"event_id": "\#(UUID().uuidString.lowercased())", "event_type": "PlanProbeAppended", "#
                            + #""data": {"call": \#(call)}, "metadata": {"actor": "test"}}"#
                    }
                    return #"{"stream_id": "\#(stream)", "expected_version": "\#(expected)", "events": ["#
                        + events.joined(separator: ", ") + "]}"
                }
                for k in 0..<2 {
                    let stream = "probe-\(call)-\(k)"
                    appends.append(append(stream, expected: "no_stream"))
                    versions.append((stream, 5))
                }
                if versions.count > 4 {
                    for k in 0..<2 {
                        let index = (call * 7 + k * 13) % (versions.count - 2)
                        appends.append(append(versions[index].stream, expected: String(versions[index].version)))
                        versions[index].version += 5
                    }
                } else {
                    for k in 0..<2 { appends.append(append("probe-extra-\(call)-\(k)", expected: "no_stream")) }
                }
                let count: Int = try await c.query(
                    "SELECT count(*) FROM append_events_batch($1::json)", ["[" + appends.joined(separator: ", ") + "]"]
                ).rows[0].decode(0)
                appended += count
            }
            #expect(appended == 50_000)
            let after = try await scans()
            let last: Int64 = try await EventStore.lastPosition(on: c)
            await c.close()

            #expect(last == 50_000)
            #expect(after.seq - before.seq == 0, "sequential scans of events during 2,500 appends")
            #expect(after.index - before.index >= calls, "index scans of events during 2,500 appends")
        }
    }
}
