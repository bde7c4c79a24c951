import Foundation
import Testing
import Workflow

// Issue 19: offline verification of exports, signed checkpoints, the checkpoint signer.

/// A hand-made export line (the format of docs/export-format.md), hashed in Swift.
private func exportLine(position: Int64, stream: String, version: Int, type: String, data: String, metadata: String = "{}",
                        occurredAt: String = "2025-07-18T04:00:00.000000Z", previous: [UInt8]) -> (line: String, hash: [UInt8]) {
    let id = UUID().uuidString.lowercased()
    let hash = HashChain.hash(previous: previous, fields: [
        Array(String(position).utf8), Array(stream.utf8), Array(String(version).utf8), Array(id.utf8), Array(type.utf8),
        Array(data.utf8), Array(metadata.utf8), Array(occurredAt.utf8),
    ])
    let streamJSON = "\"" + stream.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    let line = "{\"global_position\":\(position),\"stream_id\":\(streamJSON),\"stream_version\":\(version),"
        + "\"event_id\":\"\(id)\",\"event_type\":\"\(type)\",\"data\":\(data),\"metadata\":\(metadata),"
        + "\"occurred_at\":\"\(occurredAt)\",\"recorded_at\":\"2025-07-18T04:00:01.000000Z\","
        + "\"prev_hash\":\"\(Hex.encode(previous))\",\"hash\":\"\(Hex.encode(hash))\"}\n"
    return (line, hash)
}

/// An export of events of types this version does not know, with tricky text.
private func syntheticExport() -> (text: String, head: [UInt8]) {
    var previous = HashChain.genesis
    var text = ""
    let events: [(String, Int, String, String)] = [
        ("thing-a", 1, "SomethingFutureHappened", "{\"n\": 1, \"s\": \"caf\\u00e9 \\\"quoted\\\" \u{1F600}\"}"),
        ("thing-b/ü\"x", 1, "Other.Kind", " [1, 2.5e3, -0, true, null] "),
        ("thing-a", 2, "SomethingFutureHappened", "{\"nested\":{\"a\":[{},[]]}}"),
        ("thing-a", 3, "Closed", "\"just a string\""),
    ]
    for (index, (stream, version, type, data)) in events.enumerated() {
        let (line, hash) = exportLine(position: Int64(index + 1), stream: stream, version: version, type: type, data: data,
                                      previous: previous)
        text += line
        previous = hash
    }
    return (text, previous)
}

@Suite("Offline verification of exports (no database)")
struct ExportVerificationTests {
    @Test("a well-formed export of unknown event types verifies from its bytes and gives its head")
    func intact() {
        let (text, head) = syntheticExport()
        let report = ExportVerifier.verify(Array(text.utf8))
        #expect(report.isIntact, "\(report.summary)")
        #expect(report.eventsChecked == 4)
        #expect(report.head == ChainHead(position: 4, hash: head))
        #expect(ExportVerifier.verify([]).head == ChainHead(position: 0, hash: HashChain.genesis))
    }

    @Test("flipping any byte outside recorded_at fails at that line's position")
    func everyByte() throws {
        let (text, _) = syntheticExport()
        let bytes = Array(text.utf8)
        // recorded_at's value is not covered by the chain (docs/export-format.md): its 27 bytes are skipped.
        var skipped = Set<Int>()
        var lineStarts = [0]
        for (offset, byte) in bytes.enumerated() where byte == 0x0a { lineStarts.append(offset + 1) }
        for start in lineStarts.dropLast() {
            let line = bytes[start...]
            let marker = Array("\"recorded_at\":\"".utf8)
            let at = try #require((start..<bytes.count).first { bytes[$0...].starts(with: marker) && $0 >= line.startIndex })
            skipped.formUnion((at + marker.count)..<(at + marker.count + 27))
        }
        var flipped = 0
        for offset in bytes.indices where !skipped.contains(offset) {
            let position = Int64(lineStarts.lastIndex { $0 <= offset } ?? 0) + 1
            var copy = bytes
            copy[offset] ^= 0x01
            let report = ExportVerifier.verify(copy)
            #expect(report.failure?.position == position, "byte \(offset) of line \(position): \(report.summary)")
            flipped += 1
        }
        #expect(flipped > 1_000)
    }

    @Test("truncated: the last line cut short, or without its line feed, fails at its position; dropping it moves the head")
    func truncated() {
        let (text, head) = syntheticExport()
        let bytes = Array(text.utf8)
        #expect(ExportVerifier.verify(Array(bytes.dropLast())).failure?.position == 4)
        #expect(ExportVerifier.verify(Array(bytes.dropLast(30))).failure?.position == 4)
        let lines = text.split(separator: "\n").map { $0 + "\n" }
        let dropped = ExportVerifier.verify(Array(lines.dropLast().joined().utf8))
        #expect(dropped.isIntact)
        #expect(dropped.head.position == 3 && dropped.head.hash != head)
        // A line moved: the positions are out of order.
        let swapped = ExportVerifier.verify(Array((lines[0] + lines[2] + lines[1] + lines[3]).utf8))
        #expect(swapped.failure?.position == 2 && swapped.failure?.code == .positionOutOfOrder)
        // Stray white space between members, or a CRLF, is not the format.
        let spaced = ExportVerifier.verify(Array(text.replacingOccurrences(of: "\"stream_version\":", with: "\"stream_version\": ").utf8))
        #expect(spaced.failure?.position == 1 && spaced.failure?.code == .malformedLine)
        #expect(ExportVerifier.verify(Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)).failure?.code == .malformedLine)
    }

    @Test("hostile input: deep nesting, bad UTF-8 and lone surrogates are malformed lines, not crashes")
    func hostile() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let (line, _) = exportLine(position: 1, stream: "s-1", version: 1, type: "T", data: deep, previous: HashChain.genesis)
        #expect(ExportVerifier.verify(Array(line.utf8)).failure?.code == .malformedLine)
        var bad = Array(syntheticExport().text.utf8)
        bad[40] = 0xff
        #expect(ExportVerifier.verify(bad).failure?.code == .malformedLine)
        let surrogate = syntheticExport().text.replacingOccurrences(of: "\"stream_id\":\"thing-a\"", with: "\"stream_id\":\"\\ud800\"")
        #expect(ExportVerifier.verify(Array(surrogate.utf8)).failure?.code == .malformedLine)
    }
}

@Suite("Signed checkpoints (no database)")
struct CheckpointUnitTests {
    @Test("sign, publish, parse, verify; a changed byte, another key or another head fails")
    func signAndVerify() throws {
        let key = CheckpointKey()
        let head = ChainHead(position: 42, hash: Array(repeating: 7, count: 32))
        let signedAt = Timestamp(microsecondsSinceEpoch: 1_764_590_400_123_456)
        let checkpoint = try key.sign(head, at: signedAt)
        #expect(String(decoding: checkpoint.signedMessage, as: UTF8.self)
            == "sbie-checkpoint/1\n42\n\(String(repeating: "07", count: 32))\n2025-12-01T12:00:00.123456Z\n")
        let parsed = try Checkpoint.parse(Data(checkpoint.document.utf8))
        #expect(parsed == checkpoint)
        try parsed.verifySignature(trusting: key.publicKey)
        #expect(throws: CheckpointError.self) { try parsed.verifySignature(trusting: CheckpointKey().publicKey) }
        var moved = parsed
        moved.head.position = 43
        #expect(!moved.hasValidSignature)
        var forged = parsed
        forged.signature[0] ^= 1
        #expect(throws: CheckpointError.badSignature("the signature does not verify for key \(key.keyID)")) {
            try forged.verifySignature(trusting: key.publicKey)
        }
        let document = checkpoint.document.replacingOccurrences(of: "\"position\":42", with: "\"position\":0")
        #expect(throws: CheckpointError.malformed("position must be >= 1")) { try Checkpoint.parse(Data(document.utf8)) }
    }

    @Test("key files: generated 0600 with a .pub, never overwritten; a group- or world-readable key is refused")
    func keyFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sbie-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("checkpoint.key").path
        let key = try CheckpointKey.generate(path: path)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(try CheckpointKey.load(path: path).publicKey == key.publicKey)
        #expect(try CheckpointKey.publicKey(fromFileOrBase64: path + ".pub") == key.publicKey)
        #expect(try CheckpointKey.publicKey(fromFileOrBase64: key.publicKeyBase64) == key.publicKey)
        #expect(throws: CheckpointError.self) { try CheckpointKey.generate(path: path) }
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        let error = try #require(throws: CheckpointError.self) { try CheckpointKey.load(path: path) }
        #expect(error.description.contains("accessible by group or others"))
        #expect(throws: CheckpointError.self) { try CheckpointKey.publicKey(fromFileOrBase64: "not a key") }
    }

    @Test("the schedule: first checkpoint, daily, after a Board decision, nothing on an empty log")
    func schedule() {
        let day = Duration.seconds(86_400)
        let now = Timestamp(microsecondsSinceEpoch: 100 * 86_400_000_000)
        let hourAgo = Timestamp(microsecondsSinceEpoch: now.microsecondsSinceEpoch - 3_600_000_000)
        let dayAgo = Timestamp(microsecondsSinceEpoch: now.microsecondsSinceEpoch - 86_400_000_000)
        #expect(CheckpointService.due(head: 0, latest: nil, lastDecision: 0, now: now, interval: day) == nil)
        #expect(CheckpointService.due(head: 5, latest: nil, lastDecision: 0, now: now, interval: day) == .scheduled)
        #expect(CheckpointService.due(head: 9, latest: (5, hourAgo), lastDecision: 4, now: now, interval: day) == nil)
        #expect(CheckpointService.due(head: 9, latest: (5, hourAgo), lastDecision: 7, now: now, interval: day) == .boardDecision)
        #expect(CheckpointService.due(head: 9, latest: (5, dayAgo), lastDecision: 0, now: now, interval: day) == .scheduled)
        #expect(CheckpointService.boardDecisionEventTypes
            == ["TerminationApproved", "TerminationDenied"].filter { t in DomainEventTypeNames.all.contains(t) })
    }
}

/// The event type names the domain writes (to check the signer's list against).
enum DomainEventTypeNames {
    static let all = ["AgreementRegistered", "AgreementDetailsUpdated", "AgencyRenamed", "SignedDateCorrected",
                      "TerminationRequestSubmitted", "TerminationRequestWithdrawn", "ReviewScheduled", "BoardVoteRecorded",
                      "TerminationApproved", "TerminationDenied", "TerminationNoticeReceived", "AgreementTerminated",
                      "BoardSeatFilled", "BoardSeatVacated", "LocalGovernmentVoteRecorded"]
}

private func rawEvent(_ type: String, _ data: String) -> NewEvent {
    NewEvent(type: type, data: data, metadata: "{\"actor\": \"test\"}", occurredAt: Timestamp(Date()))
}

/// Exports the events as JSON lines.
private func exportText(_ db: Connection) async throws -> String {
    let out = Collector()
    try await db.export(.events, format: .jsonl, batchSize: 3) { out.append($0) }
    return out.text
}

/// As a superuser: rewrites one event's data, then recomputes every hash after it so
/// the chain is consistent again (what a wholesale rewrite of the past looks like).
private func rewritePast(_ db: Connection, position: Int64, data: String) async throws {
    try await db.executeScript("ALTER TABLE events DISABLE TRIGGER USER")
    try await db.execute("UPDATE events SET data = $1::json WHERE global_position = $2", [data, position])
    var previous = HashChain.genesis
    for event in try await db.readAll() {
        let hash = HashChain.hash(of: event, previous: previous)
        try await db.execute("UPDATE events SET prev_hash = $1, hash = $2 WHERE global_position = $3",
                             [previous, hash, event.globalPosition])
        previous = hash
    }
    try await db.executeScript("ALTER TABLE events ENABLE TRIGGER USER")
}

@Suite("Offline verification and signed checkpoints (live database)",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"))
struct CheckpointDatabaseTests {
    @Test("export -> offline verify OK with the live head; a superuser's consistent rewrite verifies alone but not against the earlier checkpoint")
    func rewriteDetected() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            for i in 1...6 {
                try await db.append([rawEvent("FutureKind\(i % 2)", "{\"i\": \(i),  \"t\": \"caf\u{e9} \\\"q\\\"\"} ")],
                                    to: "thing-\(i % 2)", expected: .any)
            }
            let key = CheckpointKey()
            let early = try await db.signCheckpoint(with: key, reason: .manual).checkpoint
            #expect(early.head.position == 6)
            try await db.append([rawEvent("Later", "[]")], to: "thing-9", expected: .noStream)
            let late = try await db.signCheckpoint(with: key, reason: .manual).checkpoint

            try await db.executeScript("SET TIME ZONE 'America/New_York'")  // the export must not depend on it
            let original = try await exportText(db)
            try await db.executeScript("SET TIME ZONE 'UTC'")
            let report = ExportVerifier.verify(Array(original.utf8), watch: [early.head.position, late.head.position])
            #expect(report.isIntact, "\(report.summary)")
            let live = try #require(try await db.readAll().last)
            #expect(report.head == ChainHead(position: live.globalPosition, hash: live.hash))
            // Two checkpoints: the later log extends the earlier one.
            try checkCheckpoint(early, against: report)
            try checkCheckpoint(late, against: report)
            try await db.checkCheckpointAgainstLog(early)

            // Drop the last line: verifies alone, but the head is not the checkpoint's.
            let truncated = original.split(separator: "\n").dropLast().map { $0 + "\n" }.joined()
            let short = ExportVerifier.verify(Array(truncated.utf8), watch: [late.head.position])
            #expect(short.isIntact && short.head.position == late.head.position - 1 && short.head.hash != late.head.hash)
            #expect(throws: CheckpointError.notInLog(position: 7, "the log ends at position 6, before the checkpoint's position 7")) {
                try checkCheckpoint(late, against: short)
            }

            try await rewritePast(db, position: 3, data: "{\"i\": 3, \"rewritten\": true}")
            #expect(try await db.verifyLog().isIntact)
            let rewritten = ExportVerifier.verify(Array(try await exportText(db).utf8), watch: [early.head.position])
            #expect(rewritten.isIntact, "the rewritten log is consistent on its own")
            let offline = try #require(throws: CheckpointError.self) { try checkCheckpoint(early, against: rewritten) }
            guard case .notInLog(let position, let message) = offline else { Issue.record("\(offline)"); return }
            #expect(position == 6 && message.contains("position 6 has hash"))
            let online = try await #require(throws: CheckpointError.self) { try await db.checkCheckpointAgainstLog(early) }
            #expect(online.code == "not_in_log")
        }
    }

    @Test("record_checkpoint: the head must be in the log, the time the database's; the table is append-only; who may record")
    func refusals() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let key = CheckpointKey()
            await #expect(throws: CheckpointError.emptyLog) { try await db.signCheckpoint(with: key, reason: .manual) }
            try await db.append([rawEvent("A", "{}")], to: "s-1", expected: .any)
            let (head, now) = try await db.chainHead()
            let good = try key.sign(try #require(head), at: now)
            let wrongHash = try key.sign(ChainHead(position: 1, hash: Array(repeating: 1, count: 32)), at: now)
            await #expect(throws: CheckpointRecordError.headNotInLog(position: 1)) {
                try await db.recordCheckpoint(wrongHash, reason: .manual)
            }
            let old = try key.sign(try #require(head), at: Timestamp(microsecondsSinceEpoch: now.microsecondsSinceEpoch - 3_600_000_000))
            let error = try await #require(throws: CheckpointRecordError.self) { try await db.recordCheckpoint(old, reason: .manual) }
            guard case .signedAtNotDatabaseTime = error else { Issue.record("\(error)"); return }
            var forged = good
            forged.signature[5] ^= 1
            await #expect(throws: CheckpointError.self) { try await db.recordCheckpoint(forged, reason: .manual) }
            let stored = try await db.recordCheckpoint(good, reason: .manual)
            #expect(try await db.checkpoints().map(\.checkpoint) == [good])
            #expect(try await db.checkpoint(id: stored.id)?.checkpoint == good)
            for statement in ["UPDATE signed_checkpoints SET reason = 'scheduled'", "DELETE FROM signed_checkpoints",
                              "TRUNCATE signed_checkpoints"] {
                let refused = try await #require(throws: PostgresError.self) { try await db.execute(statement) }
                #expect(refused.sqlState == "CP003", "\(statement)")
            }
            let arguments: [any PostgresEncodable] = [Int64(1), good.head.hash, good.signedAt, good.publicKey, good.signature, "manual"]
            for role in ["auditor", "board_staff", "agency_clerk"] {
                try await db.executeScript("SET ROLE \(role)")
                let denied = try await #require(throws: PostgresError.self) {
                    try await db.query("SELECT record_checkpoint($1, $2, $3, $4, $5, $6)", arguments)
                }
                #expect(denied.sqlState == PostgresError.State.insufficientPrivilege, "\(role)")
                #expect(try await db.query("SELECT count(*) FROM signed_checkpoints").first?.decode(0, as: Int.self) == 1)
                try await db.executeScript("RESET ROLE")
            }
            for role in ["workflow_daemon", "registrar"] {
                try await db.executeScript("SET ROLE \(role)")
                let fresh = try key.sign(try #require(head), at: try await db.chainHead().now)
                _ = try await db.recordCheckpoint(fresh, reason: .manual)
                try await db.executeScript("RESET ROLE")
            }
            #expect(try await db.checkpoints().count == 3)
        }
    }

    @Test("the CheckpointService signs a first checkpoint, then after a Board decision, and stops on cancellation")
    func service() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            try await db.append([rawEvent("AgreementRegistered", "{}")], to: "agreement-x", expected: .any)
            var configuration = CheckpointService.Configuration()
            configuration.pollInterval = .milliseconds(50)
            let key = CheckpointKey()
            let service = CheckpointService(conninfo: dsn, key: key, configuration: configuration, logger: TestDatabase.logger)
            let task = Task { try await service.run() }
            defer { task.cancel() }
            func waitFor(_ count: Int) async throws -> [StoredCheckpoint] {
                for _ in 0..<200 {
                    let rows = try await db.checkpoints(publicKey: key.publicKey)
                    if rows.count >= count { return rows }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return try await db.checkpoints(publicKey: key.publicKey)
            }
            let first = try await waitFor(1)
            #expect(first.map(\.reason) == [.scheduled] && first.first?.checkpoint.head.position == 1)
            try await db.append([rawEvent("ReviewScheduled", "{}")], to: "request-1", expected: .any)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await db.checkpoints(publicKey: key.publicKey).count == 1, "no decision yet, and not a day later")
            try await db.append([rawEvent("TerminationApproved", "{}")], to: "request-1", expected: .any)
            let second = try await waitFor(2)
            #expect(second.map(\.reason) == [.boardDecision, .scheduled])
            #expect(second.first?.checkpoint.head.position == 3)
            #expect(second.allSatisfy { $0.checkpoint.hasValidSignature && $0.checkpoint.publicKey == key.publicKey })
            task.cancel()
            _ = await task.result
        }
    }
}

/// Runs a program to completion and returns its exit status and standard output.
private func runProgram(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

@Suite("sbie verify --file, sbie checkpoint and the independent Python verifier on the real ICE list (live database)",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"), .serialized)
struct IndependentVerifierTests {
    @Test("the Python verifier agrees with sbie verify --file on the real export, intact and with bytes flipped; checkpoints in three commands")
    func agree() async throws {
        try await TestDatabase.with { dsn in
            let sbie = try #require(DaemonProcess.executable, "build the sbie executable first (swift build)")
            let env = URL(fileURLWithPath: "/usr/bin/env")
            let script = TestDatabase.root.appendingPathComponent("scripts/verify-export.py").path
            let db = try await Connection.connect(dsn)
            _ = try await importAndDrain(db, iceListURL)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sbie-verify-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }

            // The operator: a key, a checkpoint, an export.
            let key = folder.appendingPathComponent("checkpoint.key").path
            #expect(try runProgram(sbie, ["checkpoint", "keygen", "--out", key]).status == 0)
            let checkpoint = folder.appendingPathComponent("checkpoint.json").path
            let signed = try runProgram(sbie, ["checkpoint", "sign", "--key", key, "--out", checkpoint, "-d", dsn])
            #expect(signed.status == 0, "\(signed.stderr)")
            let events = folder.appendingPathComponent("events.jsonl").path
            #expect(try runProgram(sbie, ["export", "events", "--format", "jsonl", "--output", events, "-d", dsn]).status == 0)
            let live = try #require(try await db.readAll().last)
            #expect(live.globalPosition > 300)

            // The auditor's three commands (README).
            let swift = try runProgram(sbie, ["verify", "--file", events, "--json"])
            #expect(swift.status == 0, "\(swift.stdout)")
            let report = try JSONDecoder().decode(ExportVerification.self, from: Data(swift.stdout.utf8))
            #expect(report.head == ChainHead(position: live.globalPosition, hash: live.hash))
            let python = try runProgram(env, ["python3", script, events, checkpoint])
            #expect(python.status == 0, "\(python.stdout)\(python.stderr)")
            #expect(python.stdout == "OK \(live.globalPosition) \(live.globalPosition) \(Hex.encode(live.hash))\n")
            let verified = try runProgram(sbie, ["checkpoint", "verify", checkpoint, "--public-key", key + ".pub", "--file", events])
            #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
            #expect(try runProgram(sbie, ["checkpoint", "verify", checkpoint, "--public-key", key + ".pub", "-d", dsn]).status == 0)
            let status = try runProgram(sbie, ["status", "-d", dsn])
            #expect(status.stdout.contains("latest checkpoint: position \(live.globalPosition), hash \(Hex.encode(live.hash))"))

            // Flipped bytes: both verifiers name the same position and reason.
            let bytes = try Data(contentsOf: URL(fileURLWithPath: events))
            let flippedFile = folder.appendingPathComponent("flipped.jsonl").path
            for step in 0..<12 {
                let offset = (bytes.count - 1) * step / 11
                var copy = bytes
                copy[offset] ^= 0x01
                try copy.write(to: URL(fileURLWithPath: flippedFile))
                let s = try runProgram(sbie, ["verify", "--file", flippedFile, "--json"])
                let r = try JSONDecoder().decode(ExportVerification.self, from: Data(s.stdout.utf8))
                let p = try runProgram(env, ["python3", script, flippedFile])
                let expected = r.failure.map { "FAILED \($0.position) \($0.code.rawValue):" }
                    ?? "OK \(r.head.position) \(r.head.position) \(r.head.hashHex)"
                #expect(p.stdout.hasPrefix(expected), "offset \(offset): sbie \(r.summary); python \(p.stdout)")
                #expect(s.status == p.status)
            }
            // Wrong trusted key: refused.
            let other = folder.appendingPathComponent("other.key").path
            #expect(try runProgram(sbie, ["checkpoint", "keygen", "--out", other]).status == 0)
            let untrusted = try runProgram(sbie, ["checkpoint", "verify", checkpoint, "--public-key", other + ".pub", "--file", events])
            #expect(untrusted.status == 1 && untrusted.stdout.contains("FAILED: the checkpoint is signed by key"))
        }
    }
}

@Suite("sbie run --checkpoint-key (live database, real child process)",
       .enabled(if: TestDatabase.available, "set SBIE_TEST_DSN"), .serialized)
struct DaemonCheckpointTests {
    @Test("the daemon given a key signs the head at start and exits 0 on SIGTERM; a group-readable key stops it with exit 2")
    func daemonSigns() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            // A real command (the daemon folds the log: it must hold events the domain knows).
            _ = try await db.query("SELECT * FROM submit_command('register_agreement', $1::json, 'checkpoint-test')",
                                   [registerPayload(1)])
            var processor = CommandProcessor()
            _ = try await drain(&processor, db)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sbie-run-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let path = folder.appendingPathComponent("daemon.key").path
            let key = try CheckpointKey.generate(path: path)

            let daemon = try DaemonProcess(dsn, ["--checkpoint-key", path])
            var rows: [StoredCheckpoint] = []
            for _ in 0..<200 where rows.isEmpty {
                rows = try await db.checkpoints(publicKey: key.publicKey)
                if rows.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            let head = try #require(try await db.chainHead().head)
            #expect(head.position >= 1)
            #expect(rows.first?.checkpoint.head == head && rows.first?.reason == .scheduled)
            #expect(daemon.terminate() == 0)

            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
            let refused = try DaemonProcess(dsn, ["--checkpoint-key", path])
            refused.process.waitUntilExit()
            #expect(refused.process.terminationStatus == 2)
        }
    }
}
