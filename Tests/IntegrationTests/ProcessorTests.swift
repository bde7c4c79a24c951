import Foundation
import Logging
import Testing
import Workflow

/// Submits a command as JSON and returns its record.
func submit(_ db: Connection, _ type: String, _ payload: [String: Any], key: String = UUID().uuidString) async throws
    -> CommandRecord
{
    let json = String(decoding: try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]), as: UTF8.self)
    return try await CommandQueue.submit(type: type, payload: json, idempotencyKey: key, on: db)
}

/// Processes batches until the queue has nothing due.
func drain(_ processor: inout CommandProcessor, _ db: Connection) async throws -> CommandProcessor.BatchResult {
    var total = CommandProcessor.BatchResult()
    while true {
        let result = try await processor.processBatch(on: db, logger: TestDatabase.logger)
        if result.processed == 0 { return total }
        total.accepted += result.accepted
        total.rejected += result.rejected
        total.failed += result.failed
        total.eventsAppended += result.eventsAppended
    }
}

nonisolated(unsafe) let tallahasseeTFM: [String: Any] = [
    "agency_name": "Tallahassee Police Department", "agency_type": "Municipality", "model": "Task Force Model",
    "signed_on": "2025-03-10", "source_edition": "2025-07-18pm",
]

@Suite("Command processor (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct ProcessorTests {
    @Test("a registered agreement is accepted, appended and projected in one transaction")
    func register() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let command = try await submit(db, "register_agreement", tallahasseeTFM)
            #expect(command.status == .pending)
            var processor = CommandProcessor()
            let result = try await drain(&processor, db)
            #expect(result.accepted == 1)
            let record = try #require(try await CommandQueue.command(command.commandID, on: db))
            #expect(record.status == .accepted)
            #expect(record.eventPositions == [1])
            let row = try #require(try await db.query("SELECT agreement_id, state, must_keep FROM agreement_status").first)
            #expect(try row.decode(0, as: String.self) == "tallahassee-police-department.tfm.2025-03-10")
            #expect(try row.decode(1, as: String.self) == "active")
            #expect(try row.decode(2, as: Bool.self) == false)
            let events = try await EventStore.readAll(on: db)
            #expect(events.map(\.type) == ["AgreementRegistered"])
            #expect(events[0].metadata.contains("\"command_id\":\"\(command.commandID.uuidString.lowercased())\""))
            #expect(try await ChainVerifier.verify(on: db).isIntact)
        }
    }

    @Test("a batch commits in its writes' round trip: batch_head refuses a head elsewhere (ES005); an empty batch rolls back")
    func batchCommitsInItsPipeline() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            _ = try await submit(db, "register_agreement", tallahasseeTFM)
            var processor = CommandProcessor()
            #expect(try await processor.processBatch(on: db, logger: TestDatabase.logger).accepted == 1)
            #expect(await db.inTransaction == false)
            #expect(processor.position == 1)
            // The guard the COMMIT depends on: the head where predicted, or nothing commits.
            #expect(try await db.query("SELECT batch_head(1) = hash FROM events WHERE global_position = 1").rows[0]
                .decode(0, as: Bool.self))
            await #expect(throws: PostgresError.self) { try await db.query("SELECT batch_head(2)") }
            do {
                try await db.transactionInPipelines { c in
                    try c.pipeline([Statement("BEGIN"), Statement("SELECT batch_head(0)"), Statement("COMMIT")])
                }
                Issue.record("a batch whose head is elsewhere committed")
            } catch let error as PostgresError {
                #expect(error.sqlState == "ES005")
            }
            #expect(await db.inTransaction == false)
            // A body that swallows a failure does not pass for committed.
            await #expect(throws: PostgresError.self) {
                try await db.transactionInPipelines { c in
                    _ = try? c.pipeline([Statement("BEGIN"), Statement("SELECT batch_head(0)")])
                }
            }
            #expect(await db.inTransaction == false)
            // An empty batch ends with a rollback (no WAL flush), leaving no transaction open.
            #expect(try await processor.processBatch(on: db, logger: TestDatabase.logger).processed == 0)
            #expect(await db.inTransaction == false)
            #expect(processor.position == 1)
        }
    }

    @Test("malformed payload, unknown type and a rule violation are rejected with codes; nothing appended")
    func rejections() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let malformed = try await submit(db, "register_agreement", ["agency_name": 42])
            let unknown = try await submit(db, "launch_rocket", [:])
            let violation = try await submit(db, "submit_termination_request", [
                "request_id": UUID().uuidString.lowercased(), "agency_id": "south-miami-police-department",
                "model": "TFM", "reason": "Commission vote", "local_authorization": "Resolution 2025-01",
                "filed_on": "2025-08-01",
            ])
            let good = try await submit(db, "register_agreement", tallahasseeTFM)
            var processor = CommandProcessor()
            let result = try await drain(&processor, db)
            #expect(result.rejected == 3)
            #expect(result.accepted == 1)
            #expect(try await CommandQueue.command(malformed.commandID, on: db)?.errorCode == "invalid_field_type")
            #expect(try await CommandQueue.command(unknown.commandID, on: db)?.errorCode == "unknown_command_type")
            #expect(try await CommandQueue.command(violation.commandID, on: db)?.errorCode == "no_active_agreement")
            #expect(try await CommandQueue.command(good.commandID, on: db)?.status == .accepted)
            #expect(try await EventStore.lastPosition(on: db) == 1)
        }
    }

    @Test("the same idempotency key twice gives the same command id and one effect")
    func idempotencyKey() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let first = try await submit(db, "register_agreement", tallahasseeTFM, key: "import:1")
            let second = try await submit(db, "register_agreement", tallahasseeTFM, key: "import:1")
            #expect(first.commandID == second.commandID)
            var processor = CommandProcessor()
            _ = try await drain(&processor, db)
            let third = try await submit(db, "register_agreement", tallahasseeTFM, key: "import:1")
            #expect(third.commandID == first.commandID)
            #expect(third.status == .accepted)
            #expect(try await db.query("SELECT count(*) FROM commands").rows[0].decode(0, as: Int.self) == 1)
            #expect(try await EventStore.lastPosition(on: db) == 1)
        }
    }
}
