import Foundation
import Testing
import Workflow

// Issue 19: offline verification of exports, signed checkpoints, the checkpoint signer.

private func rawEvent(_ type: String, _ data: String) -> NewEvent {
    NewEvent(type: type, data: data, metadata: "{\"actor\": \"test\"}", occurredAt: Timestamp(Date()))
}

/// Exports the events as JSON lines.
private func exportText(_ db: Connection) async throws -> String {
    let out = Collector()
    try await Exporter.export(.events, format: .jsonl, batchSize: 3, on: db) { out.append($0) }
    return out.text
}

/// As a superuser: rewrites one event's data, then recomputes every hash after it so
/// the chain is consistent again (what a wholesale rewrite of the past looks like).
private func rewritePast(_ db: Connection, position: Int64, data: String) async throws {
    try await db.executeScript("ALTER TABLE events DISABLE TRIGGER USER")
    try await db.execute("UPDATE events SET data = $1::json WHERE global_position = $2", [data, position])
    var previous = HashChain.genesis
    for event in try await EventStore.readAll(on: db) {
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
                try await EventStore.append([rawEvent("FutureKind\(i % 2)", "{\"i\": \(i),  \"t\": \"caf\u{e9} \\\"q\\\"\"} ")],
                                    to: "thing-\(i % 2)", expected: .any, on: db)
            }
            let key = CheckpointKey()
            let early = try await Checkpoints.sign(with: key, reason: .manual, on: db).checkpoint
            #expect(early.head.position == 6)
            try await EventStore.append([rawEvent("Later", "[]")], to: "thing-9", expected: .noStream, on: db)
            let late = try await Checkpoints.sign(with: key, reason: .manual, on: db).checkpoint

            try await db.executeScript("SET TIME ZONE 'America/New_York'")  // the export must not depend on it
            let original = try await exportText(db)
            try await db.executeScript("SET TIME ZONE 'UTC'")
            let report = ExportVerifier.verify(Array(original.utf8), watch: [early.head.position, late.head.position])
            #expect(report.isIntact, "\(report.summary)")
            let live = try #require(try await EventStore.readAll(on: db).last)
            #expect(report.head == ChainHead(position: live.globalPosition, hash: live.hash))
            // Two checkpoints: the later log extends the earlier one.
            try checkCheckpoint(early, against: report)
            try checkCheckpoint(late, against: report)
            try await Checkpoints.checkAgainstLog(early, on: db)

            // Drop the last line: verifies alone, but the head is not the checkpoint's.
            let truncated = original.split(separator: "\n").dropLast().map { $0 + "\n" }.joined()
            let short = ExportVerifier.verify(Array(truncated.utf8), watch: [late.head.position])
            #expect(short.isIntact && short.head.position == late.head.position - 1 && short.head.hash != late.head.hash)
            #expect(throws: CheckpointError.notInLog(position: 7, "the log ends at position 6, before the checkpoint's position 7")) {
                try checkCheckpoint(late, against: short)
            }

            try await rewritePast(db, position: 3, data: "{\"i\": 3, \"rewritten\": true}")
            #expect(try await ChainVerifier.verify(on: db).isIntact)
            let rewritten = ExportVerifier.verify(Array(try await exportText(db).utf8), watch: [early.head.position])
            #expect(rewritten.isIntact, "the rewritten log is consistent on its own")
            let offline = try #require(throws: CheckpointError.self) { try checkCheckpoint(early, against: rewritten) }
            guard case .notInLog(let position, let message) = offline else { Issue.record("\(offline)"); return }
            #expect(position == 6 && message.contains("position 6 has hash"))
            let online = try await #require(throws: CheckpointError.self) { try await Checkpoints.checkAgainstLog(early, on: db) }
            #expect(online.code == "not_in_log")
        }
    }

    @Test("record_checkpoint: the head must be in the log, the time the database's; the table is append-only; who may record")
    func refusals() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            let key = CheckpointKey()
            await #expect(throws: CheckpointError.emptyLog) { try await Checkpoints.sign(with: key, reason: .manual, on: db) }
            try await EventStore.append([rawEvent("A", "{}")], to: "s-1", expected: .any, on: db)
            let (head, now) = try await Checkpoints.chainHead(on: db)
            let good = try key.sign(try #require(head), at: now)
            let wrongHash = try key.sign(ChainHead(position: 1, hash: Array(repeating: 1, count: 32)), at: now)
            await #expect(throws: CheckpointRecordError.headNotInLog(position: 1)) {
                try await Checkpoints.record(wrongHash, reason: .manual, on: db)
            }
            let old = try key.sign(try #require(head), at: Timestamp(microsecondsSinceEpoch: now.microsecondsSinceEpoch - 3_600_000_000))
            let error = try await #require(throws: CheckpointRecordError.self) { try await Checkpoints.record(old, reason: .manual, on: db) }
            guard case .signedAtNotDatabaseTime = error else { Issue.record("\(error)"); return }
            var forged = good
            forged.signature[5] ^= 1
            await #expect(throws: CheckpointError.self) { try await Checkpoints.record(forged, reason: .manual, on: db) }
            let stored = try await Checkpoints.record(good, reason: .manual, on: db)
            #expect(try await Checkpoints.list(on: db).map(\.checkpoint) == [good])
            #expect(try await Checkpoints.checkpoint(id: stored.id, on: db)?.checkpoint == good)
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
                let fresh = try key.sign(try #require(head), at: try await Checkpoints.chainHead(on: db).now)
                _ = try await Checkpoints.record(fresh, reason: .manual, on: db)
                try await db.executeScript("RESET ROLE")
            }
            #expect(try await Checkpoints.list(on: db).count == 3)
        }
    }

    @Test("the CheckpointService signs a first checkpoint, then after a Board decision, and stops on cancellation")
    func service() async throws {
        try await TestDatabase.with { dsn in
            let db = try await Connection.connect(dsn)
            try await EventStore.append([rawEvent("AgreementRegistered", "{}")], to: "agreement-x", expected: .any, on: db)
            var configuration = CheckpointService.Configuration()
            configuration.pollInterval = .milliseconds(50)
            let key = CheckpointKey()
            let service = CheckpointService(conninfo: dsn, key: key, configuration: configuration, logger: TestDatabase.logger)
            let task = Task { try await service.run() }
            defer { task.cancel() }
            func waitFor(_ count: Int) async throws -> [StoredCheckpoint] {
                for _ in 0..<200 {
                    let rows = try await Checkpoints.list(publicKey: key.publicKey, on: db)
                    if rows.count >= count { return rows }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return try await Checkpoints.list(publicKey: key.publicKey, on: db)
            }
            let first = try await waitFor(1)
            #expect(first.map(\.reason) == [.scheduled] && first.first?.checkpoint.head.position == 1)
            try await EventStore.append([rawEvent("ReviewScheduled", "{}")], to: "request-1", expected: .any, on: db)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await Checkpoints.list(publicKey: key.publicKey, on: db).count == 1, "no decision yet, and not a day later")
            try await EventStore.append([rawEvent("TerminationApproved", "{}")], to: "request-1", expected: .any, on: db)
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
            let live = try #require(try await EventStore.readAll(on: db).last)
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
            // The Python verifier checks the signature too with --public-key (package cryptography).
            let pySigned = try runProgram(env, ["python3", script, events, checkpoint, "--public-key", key + ".pub"])
            #expect(pySigned.status == 0 && pySigned.stdout == python.stdout, "\(pySigned.stdout)\(pySigned.stderr)")
            let pyUntrusted = try runProgram(env, ["python3", script, events, checkpoint, "--public-key", other + ".pub"])
            #expect(pyUntrusted.status == 1 && pyUntrusted.stdout.hasPrefix("FAILED \(live.globalPosition) wrong_key:"), "\(pyUntrusted.stdout)\(pyUntrusted.stderr)")
            var document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: checkpoint))) as? [String: Any])
            let signedAt = try #require(document["signed_at"] as? String)
            var digits = Array(signedAt)  // another microsecond, same shape: the signed message differs
            digits[digits.count - 2] = digits[digits.count - 2] == "0" ? "1" : "0"
            document["signed_at"] = String(digits)
            let forged = folder.appendingPathComponent("forged.json").path
            try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: forged))
            let pyForged = try runProgram(env, ["python3", script, events, forged, "--public-key", key + ".pub"])
            #expect(pyForged.status == 1 && pyForged.stdout.hasPrefix("FAILED \(live.globalPosition) signature_invalid:"), "\(pyForged.stdout)\(pyForged.stderr)")
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
                rows = try await Checkpoints.list(publicKey: key.publicKey, on: db)
                if rows.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            let head = try #require(try await Checkpoints.chainHead(on: db).head)
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
