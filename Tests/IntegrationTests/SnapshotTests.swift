import Foundation
import Testing
import Workflow

/// Register snapshots (issue 17 item 6): a point-in-time read started from a snapshot is the
/// fold from position 0, for every position and for every date of a log whose legal dates
/// are out of order across agreements; a snapshot of another history or format is ignored.
@Suite("Register snapshots (live database)", .serialized, .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct SnapshotTests {
    /// The illustrative scenario through the daemon's processor (requests, votes, notices,
    /// timers, Board seats), then `count` agreements appended directly with ICE editions
    /// dated out of log order (each agreement's own dates ascend, as `decide` keeps them) and
    /// renames without a date (dated by their clock).
    static func buildLog(_ db: Connection, generated count: Int, seed: UInt64) async throws {
        var processor = CommandProcessor()
        for (index, (name, type, model, signed)) in ScenarioTests.agreements.enumerated() {
            _ = try await submit(db, "register_agreement", [
                "agency_name": name, "agency_type": type, "model": model, "signed_on": signed,
                "source_edition": "2025-07-18pm",
            ], key: "reg-\(index)")
        }
        let seats = try Data(contentsOf: TestDatabase.root.appendingPathComponent("data/board-seats-2025.json"))
        for (index, command) in try BoardSeed.commands(from: seats).get().enumerated() {
            _ = try await CommandQueue.submit(type: command.commandType, payload: String(decoding: command.payloadJSON(), as: UTF8.self),
                                              idempotencyKey: "seat-\(index)", on: db)
        }
        _ = try await drain(&processor, db)
        for part in try IllustrativeScenario.parts() {
            for step in part.steps {
                _ = try await CommandQueue.submit(type: step.command.commandType,
                                                  payload: String(decoding: step.command.payloadJSON(), as: UTF8.self),
                                                  idempotencyKey: step.key, on: db)
                _ = try await drain(&processor, db)
            }
        }
        var random = SplitMix(seed: seed)
        let base = try #require(FloridaDate(iso: "2024-01-01"))
        for n in 0..<count {
            let agency = "generated-agency-\(n)", model = ["TFM", "WSO", "JEM"][n % 3]
            let agreement = "\(agency).\(model.lowercased()).2020-01-01"
            var day = Int(random.next() % 700)
            var events: [NewEvent] = []
            for k in 0..<(2 + Int(random.next() % 4)) {
                let edition = base.adding(days: day).description
                let data: String
                if k == 0 {
                    data = #"{"agency_id":"\#(agency)","agency_name":"Generated Agency \#(n)","agency_type":"Municipality","agreement_id":"\#(agreement)","county":"County \#(n % 67)","model":"\#(model)","signed_on":"2020-01-01","source_edition":"\#(edition)"}"#
                } else {
                    data = #"{"agency_type":"\#(k % 2 == 0 ? "County" : "Municipality")","agreement_id":"\#(agreement)","county":"County \#(k)","moa_url":null,"source_edition":"\#(edition)"}"#
                }
                events.append(NewEvent(type: k == 0 ? "AgreementRegistered" : "AgreementDetailsUpdated", data: data,
                                       occurredAt: Timestamp(base.adding(days: day).startInstant)))
                day += Int(random.next() % 60)
            }
            _ = try await EventStore.append(events, to: "agreement-\(agreement)", expected: .noStream, on: db)
            if n % 4 == 1 {  // a rename with no date of its own: dated by the agency's clock
                _ = try await EventStore.append([NewEvent(
                    type: "AgencyRenamed",
                    data: #"{"agency_id":"\#(agency)","old_name":"Generated Agency \#(n)","new_name":"Renamed Agency \#(n)"}"#,
                    occurredAt: Timestamp(base.adding(days: 800).startInstant))], to: "agency-\(agency)", expected: .any, on: db)
            }
        }
    }

    /// Every date an event of the log is dated by (its legal instant), with the instant just
    /// after, the day before, and noon, as `occurredBefore` bounds.
    static func legalInstants(_ db: Connection) async throws -> [Timestamp] {
        var clock = RegisterState()
        var instants = Set<Timestamp>()
        let decoder = JSONDecoder()
        for event in try await EventStore.readAll(after: 0, limit: 1_000_000, on: db) {
            let decoded = try event.domainEvent(using: decoder)
            let legal = clock.legalDate(of: decoded).map { Timestamp($0.startInstant) } ?? event.occurredAt
            clock.apply(decoded, stream: event.streamID)
            let micros = legal.microsecondsSinceEpoch
            for delta: Int64 in [0, 1, -86_400_000_000, 43_200_000_000] {
                instants.insert(Timestamp(microsecondsSinceEpoch: micros + delta))
            }
        }
        return instants.sorted()
    }

    /// A snapshot every `events` events, whatever their size.
    static func every(_ events: Int64) -> Snapshots.Policy {
        var policy = Snapshots.Policy()
        policy.minimumInterval = events
        policy.bytesPerEvent = Int.max
        return policy
    }

    static func expectSame(_ asOf: AsOf, _ db: Connection) async throws {
        let fromSnapshot = try await Snapshots.fold(asOf: asOf, on: db)
        let fromZero: (state: RegisterState, position: Int64, events: Int)
        switch asOf {
        case .position(let n): fromZero = try await Projections.foldLog(upTo: max(n, 0), on: db)
        case .occurredBefore(let t): fromZero = try await Projections.foldLog(occurredBefore: t, on: db)
        }
        #expect(fromSnapshot.state == fromZero.state, "\(asOf): the state differs")
        #expect(fromSnapshot.position == fromZero.position, "\(asOf): position")
        #expect(fromSnapshot.events == fromZero.events, "\(asOf): events folded")
    }

    @Test("from a snapshot = from position 0, at every position and every legal date (out-of-order dates)")
    func equivalence() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn, logger: TestDatabase.logger)
            try await Self.buildLog(db, generated: 60, seed: 17)
            var policy = Snapshots.Policy()
            policy.minimumInterval = 13
            policy.bytesPerEvent = Int.max  // one every 13 events, whatever the size
            policy.maximumBatch = 100
            var written = 0
            while true {
                let step = try await Snapshots.catchUp(policy: policy, on: db)
                written += step.written
                if step.written == 0 { break }
            }
            let head = try await EventStore.lastPosition(on: db)
            #expect(written == Int(head / 13))
            let snapshots: Int = try await db.query("SELECT count(*)::int FROM register_snapshots").rows[0].decode(0)
            #expect(snapshots == written)
            // Indexed legal instants: exactly the positions up to the newest snapshot.
            let legalRows: Int64 = try await db.query("SELECT count(*) FROM event_legal_time").rows[0].decode(0)
            #expect(legalRows == head / 13 * 13)
            // A suffix after the newest snapshot (events the writer has not seen yet).
            try await Self.buildLogSuffix(db)
            let newHead = try await EventStore.lastPosition(on: db)
            #expect(newHead > head)

            for n in Int64(-1)...(newHead + 2) { try await Self.expectSame(.position(n), db) }
            let instants = try await Self.legalInstants(db)
            #expect(instants.count > 100)
            for t in instants { try await Self.expectSame(.occurredBefore(t), db) }
            try await Self.expectSame(.occurredBefore(Timestamp(microsecondsSinceEpoch: 0)), db)
            try await Self.expectSame(.occurredBefore(Timestamp(microsecondsSinceEpoch: 7_258_118_400_000_000)), db)
            // The public entry point takes the same path.
            let viaPointInTime = try await PointInTime.register(asOf: .position(newHead - 5), on: db)
            #expect(viaPointInTime.state == (try await Projections.foldLog(upTo: newHead - 5, on: db)).state)
            await db.close()
        }
    }

    static func buildLogSuffix(_ db: Connection) async throws {
        for n in 0..<5 {
            let agreement = "suffix-agency-\(n).tfm.2020-01-01"
            _ = try await EventStore.append([NewEvent(
                type: "AgreementRegistered",
                data: #"{"agency_id":"suffix-agency-\#(n)","agency_name":"Suffix Agency \#(n)","agency_type":"County","agreement_id":"\#(agreement)","county":"County 1","model":"TFM","signed_on":"2020-01-01","source_edition":"2023-0\#(n + 1)-01"}"#,
                occurredAt: Timestamp(try #require(FloridaDate(iso: "2023-0\(n + 1)-01")).startInstant))],
                to: "agreement-\(agreement)", expected: .noStream, on: db)
        }
    }

    @Test("a snapshot of another history, another format or that does not decode is ignored, then discarded")
    func untrustedSnapshots() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn, logger: TestDatabase.logger)
            try await Self.buildLog(db, generated: 10, seed: 3)
            let policy = Self.every(10)
            let first = try await Snapshots.catchUp(policy: policy, on: db)
            #expect(first.written > 3)
            let newest = first.to
            #expect(try await Snapshots.check(on: db).matches)
            // The log "rewound" at the newest snapshot: its hash no longer matches (as owner).
            try await db.executeScript("UPDATE register_snapshots SET event_hash = '\\x\(String(repeating: "00", count: 32))' WHERE global_position = \(newest)")
            #expect(try await Snapshots.newest(on: db)?.position == newest - 10)
            try await Self.expectSame(.position(newest), db)
            // Another format, and a state that does not decode: both skipped.
            try await db.executeScript("UPDATE register_snapshots SET format = 999 WHERE global_position = \(newest - 10)")
            try await db.executeScript("UPDATE register_snapshots SET state = '{\"agencies\":1}' WHERE global_position = \(newest - 20)")
            #expect(try await Snapshots.newest(on: db)?.position == newest - 30)
            try await Self.expectSame(.position(newest), db)
            try await Self.expectSame(.occurredBefore(Timestamp(microsecondsSinceEpoch: 7_258_118_400_000_000)), db)
            // The writer discards the unusable ones (and the legal instants above the newest usable one), then catches up.
            let again = try await Snapshots.catchUp(policy: policy, on: db)
            #expect(again.from == newest - 30)
            #expect(again.discarded == 3)
            #expect(again.to == newest)
            #expect(try await Snapshots.newest(on: db)?.position == newest)
            try await Self.expectSame(.occurredBefore(Timestamp(microsecondsSinceEpoch: 7_258_118_400_000_000)), db)
            #expect(try await Snapshots.check(on: db).matches)
            // A snapshot that lies (right hash and format, another register) is what check finds
            // (only the daemon and the owner may write one).
            let empty = try Snapshots.encode(RegisterState())
            _ = try await db.query("UPDATE register_snapshots SET state = $1 WHERE global_position = $2", [empty, newest - 10])
            let lie = try await Snapshots.check(on: db)
            #expect(lie.differingSnapshots == [newest - 10])
            #expect(lie.differingLegalTimes == 0)
            _ = try await db.query("UPDATE event_legal_time SET legal_at = legal_at + interval '1 day' WHERE global_position = 3")
            #expect(try await Snapshots.check(on: db).differingLegalTimes == 1)
            #expect(try await Snapshots.rebuild(policy: policy, on: db) == Int(newest / 10))
            #expect(try await Snapshots.check(on: db).matches)
            await db.close()
        }
    }

    @Test("a new processor starts from the newest snapshot: the register and stream versions of a fold from 0, and decides on them")
    func processorStartsFromSnapshot() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn, logger: TestDatabase.logger)
            try await Self.buildLog(db, generated: 12, seed: 9)
            let policy = Self.every(10)
            let written = try await Snapshots.catchUp(policy: policy, on: db)
            #expect(written.written > 2)
            try await Self.buildLogSuffix(db)  // events after the newest snapshot
            // Commands that need the folded register and the stream versions: a rename of an
            // agency whose stream already holds a rename (expected version 1), a rename of one
            // whose stream is new, and a registration the register already holds (no new event).
            let renamed = try await submit(db, "rename_agency", ["agency_id": "generated-agency-1", "new_name": "Renamed Again 1"])
            let fresh = try await submit(db, "rename_agency", ["agency_id": "generated-agency-2", "new_name": "Renamed Agency 2"])
            let (name, type, model, signed) = ScenarioTests.agreements[0]
            let duplicate = try await submit(db, "register_agreement", [
                "agency_name": name, "agency_type": type, "model": model, "signed_on": signed, "source_edition": "2025-07-18pm"])
            var processor = CommandProcessor()
            let result = try await drain(&processor, db)
            #expect(result.processed == 3 && result.failed == 0 && result.eventsAppended == 2)
            #expect(try await CommandQueue.command(renamed.commandID, on: db)?.status == .accepted)
            #expect(try await CommandQueue.command(fresh.commandID, on: db)?.status == .accepted)
            #expect(try await CommandQueue.command(duplicate.commandID, on: db)?.eventPositions == [])
            let versions: [(String, Int)] = try await db.query(
                "SELECT stream_id, max(stream_version) FROM events WHERE stream_id IN ('agency-generated-agency-1', 'agency-generated-agency-2') GROUP BY 1 ORDER BY 1"
            ).rows.map { (try $0.decode(0), try $0.decode(1)) }
            #expect(versions.map(\.0) == ["agency-generated-agency-1", "agency-generated-agency-2"])
            #expect(versions.map(\.1) == [2, 1])
            // The processor's register, position, hash and versions are the log's.
            let head = try await EventStore.lastPosition(on: db)
            let reference = try await Projections.foldLog(on: db)
            #expect(processor.position == head)
            #expect(processor.state == reference.state)
            let all: [String: Int] = Dictionary(uniqueKeysWithValues: try await db.query(
                "SELECT stream_id, max(stream_version) FROM events GROUP BY 1").rows.map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Int.self)) })
            #expect(processor.streamVersions == all)
            #expect(try await ChainVerifier.verify(on: db).isIntact)
            // It is the snapshot it starts from: one that lies (right hash, an empty register;
            // only the daemon and the owner may write one) shows in a new processor's register.
            let empty = try Snapshots.encode(RegisterState())
            _ = try await db.query("UPDATE register_snapshots SET state = $1 WHERE global_position = $2", [empty, written.to])
            var misled = CommandProcessor()
            #expect(try await misled.processBatch(on: db, logger: TestDatabase.logger).processed == 0)
            #expect(misled.position == head)
            #expect(misled.state.agreements.count < reference.state.agreements.count)
            // A snapshot of another history (its hash not the log's) is not used: the fold from 0.
            try await db.executeScript("UPDATE register_snapshots SET event_hash = '\\x\(String(repeating: "00", count: 32))'")
            var cautious = CommandProcessor()
            #expect(try await cautious.processBatch(on: db, logger: TestDatabase.logger).processed == 0)
            #expect(cautious.state == reference.state)
            await db.close()
        }
    }

    @Test("the public (web_anon) folds from the snapshots through public_events: the same register, checked against the view")
    func publicReaders() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn, logger: TestDatabase.logger)
            try await Self.buildLog(db, generated: 20, seed: 5)
            let policy = Self.every(10)
            let written = try await Snapshots.catchUp(policy: policy, on: db)
            #expect(written.written > 3)
            try await Self.buildLogSuffix(db)
            let head = try await EventStore.lastPosition(on: db)
            let anon = try await Connection.connect(dsn, logger: TestDatabase.logger)
            try await anon.executeScript("SET ROLE web_anon")
            await #expect(throws: PostgresError.self) { try await anon.query("SELECT 1 FROM events LIMIT 1") }
            func expectPublicSame(_ asOf: AsOf) async throws {
                let reference: (state: RegisterState, position: Int64, events: Int)
                switch asOf {
                case .position(let n): reference = try await Projections.foldLog(upTo: max(n, 0), on: db)
                case .occurredBefore(let t): reference = try await Projections.foldLog(occurredBefore: t, on: db)
                }
                let folded = try await PointInTime.register(asOf: asOf, view: .publicEvents, on: anon)
                #expect(folded.state == reference.state, "\(asOf): the public register differs")
                #expect(folded.position == reference.position && folded.events == reference.events, "\(asOf)")
            }
            for n in stride(from: Int64(0), through: head + 1, by: 3) { try await expectPublicSame(.position(n)) }
            for t in try await Self.legalInstants(db).enumerated().filter({ $0.offset % 7 == 0 }).map(\.element) {
                try await expectPublicSame(.occurredBefore(t))
            }
            // The snapshot is what the public read starts from: one that lies (right hash, an
            // empty register; only the owner or the daemon can write it) shows through ...
            let newest = written.to
            let empty = try Snapshots.encode(RegisterState())
            _ = try await db.query("UPDATE register_snapshots SET state = $1 WHERE global_position = $2", [empty, newest])
            let lied = try await PointInTime.register(asOf: .position(newest), view: .publicEvents, on: anon)
            #expect(lied.state.agreements.isEmpty)
            // ... and one of another history (its hash no longer the log's) is ignored, checked
            // against public_events.
            try await db.executeScript("UPDATE register_snapshots SET event_hash = '\\x\(String(repeating: "00", count: 32))' WHERE global_position = \(newest)")
            #expect(try await Snapshots.newest(view: .publicEvents, on: anon)?.position == newest - 10)
            try await expectPublicSame(.position(newest))
            // The public may not write them.
            await #expect(throws: PostgresError.self) {
                try await anon.executeScript("DELETE FROM register_snapshots")
            }
            await #expect(throws: PostgresError.self) {
                try await anon.executeScript("UPDATE event_legal_time SET legal_at = now()")
            }
            await anon.close()
            await db.close()
        }
    }

    @Test("readers of the log may read snapshots but not write them; a clerk may not read them")
    func privileges() async throws {
        try await TestDatabase.with { dsn in
            let admin = try await Connection.connect(dsn, logger: TestDatabase.logger)
            let suffix = UUID().uuidString.prefix(6).lowercased()
            try await admin.executeScript("""
                CREATE ROLE snap_auditor_\(suffix) LOGIN IN ROLE auditor;
                CREATE ROLE snap_clerk_\(suffix) LOGIN IN ROLE agency_clerk;
                """)
            let auditor = try await Connection.connect(ConnectionString.replacingUser(in: dsn, with: "snap_auditor_\(suffix)"), logger: TestDatabase.logger)
            _ = try await auditor.query("SELECT count(*) FROM register_snapshots")
            _ = try await auditor.query("SELECT count(*) FROM event_legal_time")
            _ = try await PointInTime.register(asOf: .position(10), on: auditor)
            await #expect(throws: PostgresError.self) {
                try await auditor.executeScript("INSERT INTO register_snapshots VALUES (1, '\\x00', 1, now(), '{}')")
            }
            await #expect(throws: PostgresError.self) {
                try await auditor.executeScript("INSERT INTO event_legal_time VALUES (1, now())")
            }
            await auditor.close()
            let clerk = try await Connection.connect(ConnectionString.replacingUser(in: dsn, with: "snap_clerk_\(suffix)"), logger: TestDatabase.logger)
            await #expect(throws: PostgresError.self) { try await clerk.query("SELECT 1 FROM register_snapshots LIMIT 1") }
            await clerk.close()
            try await admin.executeScript("DROP ROLE snap_auditor_\(suffix); DROP ROLE snap_clerk_\(suffix)")
            await admin.close()
        }
    }
}

/// A small deterministic generator (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D4_9BB1_3133_11EB
        return z ^ (z >> 31)
    }
}
