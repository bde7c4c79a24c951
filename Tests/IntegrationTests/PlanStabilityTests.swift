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

    /// A submission finds its command again by (login, idempotency key) through both columns of
    /// the unique index, however many commands the queue holds: counted in index blocks read
    /// (`pg_statio_user_indexes`), not in time. The login (`acting_login()`, a `name` of
    /// collation "C") compared with the text column across collations used the index's second
    /// column only and read the whole index: 387 blocks per submission at 20,000 commands.
    @Test("a submission's read-back and a resubmission read a few index blocks among 20,000 commands")
    func submissionLookupUsesBothKeys() async throws {
        try await SecurityFixture.with { f in
            try await f.admin.executeScript("""
                INSERT INTO commands (submitted_by, idempotency_key, command_type, payload, status, processed_at)
                SELECT 'someone_else', 'k-' || g, 'register_agreement', '{}', 'accepted', now() FROM generate_series(1, 20000) g;
                INSERT INTO commands (submitted_by, idempotency_key, command_type, payload, status, processed_at)
                SELECT '\(f.registrar)', 'k-' || g, 'register_agreement', '{}', 'accepted', now() FROM generate_series(1, 20000) g;
                ANALYZE commands;
                """)
            let registrar = try await f.connect(f.registrar)
            func blocksRead() async throws -> Int {
                _ = try await registrar.query("SELECT pg_stat_force_next_flush()")
                _ = try await registrar.query("SELECT 1")
                return try await f.admin.query(
                    "SELECT pg_stat_clear_snapshot(), (idx_blks_hit + idx_blks_read)::int FROM pg_statio_user_indexes "
                        + "WHERE indexrelname = 'commands_submitted_by_idempotency_key_key'").rows[0].decode(1)
            }
            let before = try await blocksRead()
            let payload = json(registration("Tallahassee Police Department"))
            for n in 0..<20 {
                _ = try await CommandQueue.submit(type: "register_agreement", payload: payload, idempotencyKey: "new-\(n)", on: registrar)
                _ = try await CommandQueue.submit(type: "register_agreement", payload: payload, idempotencyKey: "new-\(n)", on: registrar)
            }
            let perSubmission = Double(try await blocksRead() - before) / 40
            #expect(perSubmission < 15, "index blocks read per submission: \(perSubmission)")
        }
    }
}
