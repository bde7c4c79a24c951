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
