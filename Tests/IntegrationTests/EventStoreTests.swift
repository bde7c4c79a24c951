import Foundation
import Synchronization
import Testing
import Workflow

private func event(_ type: String = "Happened", id: UUID = UUID(), data: String = "{\"n\": 1}") -> NewEvent {
    NewEvent(eventID: id, type: type, data: data, occurredAt: Timestamp(Date()))
}

@Suite("Event store (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct EventStoreTests {
    @Test("20 connections race on one expected version: exactly one wins each round, 100 rounds")
    func expectedVersionRace() async throws {
        try await TestDatabase.with { dsn in
            var connections: [Connection] = []
            for _ in 0..<20 { connections.append(try await Connection.connect(dsn)) }
            for round in 0..<100 {
                let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for connection in connections {
                        group.addTask {
                            do {
                                try await EventStore.append([event()], to: "race-1", expected: .exact(round), on: connection)
                                return true
                            } catch EventStoreError.wrongExpectedVersion(let stream, let expected, let actual) {
                                #expect(stream == "race-1")
                                #expect(expected == String(round))
                                #expect(actual == round + 1)
                                return false
                            }
                        }
                    }
                    return try await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(outcomes.filter { $0 }.count == 1, "round \(round)")
                #expect(outcomes.filter { !$0 }.count == 19, "round \(round)")
            }
            #expect(try await EventStore.streamVersion("race-1", on: connections[0]) == 100)
            #expect(try await ChainVerifier.verify(on: connections[0]).isIntact)
        }
    }

    @Test("8 writers with 10% rollbacks: a polling reader sees every committed event once, in order, no gap")
    func readerSeesEverything() async throws {
        try await TestDatabase.with { dsn in
            let writers = 8
            let perWriter = 2_500
            let reader = try await Connection.connect(dsn)
            let done = Mutex(false)
            let writersTask = Task {
                defer { done.withLock { $0 = true } }
                return try await withThrowingTaskGroup(of: [UUID].self) { group in
                    for writer in 0..<writers {
                        group.addTask {
                            let connection = try await Connection.connect(dsn)
                            var kept: [UUID] = []
                            for index in 0..<perWriter {
                                let e = event(id: UUID())
                                let rollBack = Int.random(in: 0..<10) == 0
                                do {
                                    try await connection.transaction { c in
                                        try EventStore.append([e], to: "writer-\(writer)-\(index % 10)", expected: .any, on: c)
                                        if rollBack { throw CancellationError() }
                                    }
                                    kept.append(e.eventID)
                                } catch is CancellationError {}
                            }
                            return kept
                        }
                    }
                    return try await group.reduce(into: [UUID]()) { $0.append(contentsOf: $1) }
                }
            }
            // The reader polls "all after my last position" while the writers run,
            // and once more after they have finished.
            var seen: [RecordedEvent] = []
            var last: Int64 = 0
            var polls = 0
            while true {
                let finished = done.withLock { $0 }
                let batch = try await EventStore.readAll(after: last, limit: 1_000, on: reader)
                polls += 1
                seen.append(contentsOf: batch)
                last = batch.last?.globalPosition ?? last
                if batch.isEmpty {
                    if finished { break }
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
            let kept = try await writersTask.value
            #expect(polls > 10)
            #expect(seen.map(\.globalPosition) == Array(1...Int64(seen.count)))
            #expect(Set(seen.map(\.eventID)).count == seen.count)
            #expect(Set(seen.map(\.eventID)) == Set(kept))
            #expect(kept.count > writers * perWriter * 8 / 10)
            #expect(try await ChainVerifier.verify(on: reader).isIntact)
        }
    }
}

@Suite("Event store guarantees (live database)", .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct EventStoreGuaranteeTests {
    @Test("an idempotent retry returns the same positions; a partial overlap fails; nothing is duplicated")
    func idempotency() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let a = event(), b = event(), c = event()
            let first = try await EventStore.append([a, b], to: "agreement-x", expected: .noStream, on: db)
            #expect(first.map(\.globalPosition) == [1, 2])
            #expect(first.map(\.streamVersion) == [1, 2])
            let retry = try await EventStore.append([a, b], to: "agreement-x", expected: .noStream, on: db)
            #expect(retry == first)
            #expect(try await EventStore.append([a, b], to: "agreement-x", expected: .any, on: db) == first)
            await #expect(throws: EventStoreError.self) {
                try await EventStore.append([b, c], to: "agreement-x", expected: .any, on: db)
            }
            await #expect(throws: EventStoreError.self) {
                try await EventStore.append([a, b], to: "agreement-y", expected: .any, on: db)
            }
            #expect(try await EventStore.lastPosition(on: db) == 2)
            #expect(try await EventStore.readStream("agreement-x", on: db).map(\.eventID) == [a.eventID, b.eventID])
        }
    }

    @Test("expected versions: no_stream, stream_exists, exact; the error names stream, expected and actual")
    func expectedVersions() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            await #expect(throws: EventStoreError.wrongExpectedVersion(stream: "s-1", expected: "stream_exists", actual: 0)) {
                try await EventStore.append([event()], to: "s-1", expected: .streamExists, on: db)
            }
            try await EventStore.append([event()], to: "s-1", expected: .noStream, on: db)
            await #expect(throws: EventStoreError.wrongExpectedVersion(stream: "s-1", expected: "no_stream", actual: 1)) {
                try await EventStore.append([event()], to: "s-1", expected: .noStream, on: db)
            }
            await #expect(throws: EventStoreError.wrongExpectedVersion(stream: "s-1", expected: "3", actual: 1)) {
                try await EventStore.append([event()], to: "s-1", expected: .exact(3), on: db)
            }
            try await EventStore.append([event(), event()], to: "s-1", expected: .exact(1), on: db)
            try await EventStore.append([event()], to: "s-1", expected: .streamExists, on: db)
            #expect(try await EventStore.streamVersion("s-1", on: db) == 4)
        }
    }

    @Test("reads: a stream from a version, all in batches, a category, a type; data kept byte for byte")
    func reads() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let exact = "{ \"b\" : 1,\n \"a\":[2, 1], \"s\": \"é\\u00e9 \\\"q\\\"\" }"
            try await EventStore.append([event("Registered", data: exact), event("Renamed")], to: "agreement-a.tfm", expected: .noStream, on: db)
            try await EventStore.append([event("Submitted")], to: "request-1", expected: .noStream, on: db)
            try await EventStore.append([event("Renamed")], to: "agreement-b.wso", expected: .noStream, on: db)
            #expect(try await EventStore.readStream("agreement-a.tfm", on: db).first?.data == exact)
            #expect(try await EventStore.readStream("agreement-a.tfm", from: 2, on: db).map(\.type) == ["Renamed"])
            #expect(try await EventStore.readAll(after: 1, limit: 2, on: db).map(\.globalPosition) == [2, 3])
            #expect(try await EventStore.readCategory("agreement", on: db).map(\.streamID)
                == ["agreement-a.tfm", "agreement-a.tfm", "agreement-b.wso"])
            #expect(try await EventStore.readCategory("agreement", after: 2, on: db).count == 1)
            #expect(try await EventStore.readByType("Renamed", on: db).map(\.globalPosition) == [2, 4])
            #expect(try await EventStore.lastPosition(on: db) == 4)
        }
    }

    @Test("UPDATE, DELETE and TRUNCATE on events fail, also for the table's owner (a superuser here)")
    func immutability() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            try await EventStore.append([event()], to: "s-1", expected: .any, on: db)
            for statement in ["UPDATE events SET data = '{}'", "DELETE FROM events", "TRUNCATE events"] {
                let error = try await #require(throws: PostgresError.self) { try await db.execute(statement) }
                #expect(error.sqlState == "ES003", "\(statement)")
            }
            #expect(try await EventStore.lastPosition(on: db) == 1)
        }
    }

    @Test("verify: clean log passes; a changed byte is named by position; a deleted row is a gap")
    func verify() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            for i in 1...10 {
                try await EventStore.append([event(data: "{\"i\": \(i)}")], to: "s-\(i % 3)", expected: .any, on: db)
            }
            let clean = try await ChainVerifier.verify(on: db)
            #expect(clean.isIntact)
            #expect(clean.eventsChecked == 10)

            try await db.executeScript("ALTER TABLE events DISABLE TRIGGER USER")
            try await db.execute("UPDATE events SET data = '{\"i\": 5 }' WHERE global_position = 5")
            let tampered = try await ChainVerifier.verify(on: db)
            #expect(tampered.firstHashMismatch == 5)
            #expect(!tampered.isIntact)

            try await db.execute("UPDATE events SET data = '{\"i\": 5}' WHERE global_position = 5")
            #expect(try await ChainVerifier.verify(on: db).isIntact)
            try await db.execute("DELETE FROM events WHERE global_position = 7")
            let gapped = try await ChainVerifier.verify(on: db)
            #expect(gapped.gaps == [7...7])
            #expect(gapped.eventsChecked == 9)
            #expect(gapped.firstHashMismatch == 8)
            #expect(!gapped.streamsWithBadVersions.isEmpty)
        }
    }
}
