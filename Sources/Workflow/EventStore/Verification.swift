import Foundation

// Offline verification of an events export (`sbie export events --format jsonl`), with
// no database: the format is specified in docs/export-format.md. It reads bytes, not
// types: the hashed fields are taken from the line exactly as written, so a log with
// event types this version does not know verifies the same.

/// The head of a log: its last position and that event's hash (position 0 and 32 zero
/// bytes for an empty log).
public struct ChainHead: Sendable, Hashable, Codable {
    /// The last global position (0 for an empty log).
    public var position: Int64
    /// The hash of the event at `position`, 32 bytes.
    public var hash: [UInt8]

    public init(position: Int64, hash: [UInt8]) {
        self.position = position
        self.hash = hash
    }

    /// Lowercase hex of `hash`.
    public var hashHex: String { Hex.encode(hash) }

    enum CodingKeys: String, CodingKey { case position, hash }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        position = try c.decode(Int64.self, forKey: .position)
        let text = try c.decode(String.self, forKey: .hash)
        guard let bytes = Hex.decode(text), bytes.count == 32 else {
            throw DecodingError.dataCorruptedError(forKey: .hash, in: c, debugDescription: "hash must be 64 lowercase hex digits")
        }
        hash = bytes
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(position, forKey: .position)
        try c.encode(hashHex, forKey: .hash)
    }
}

/// Lowercase hexadecimal.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes lowercase hex; nil for odd length, uppercase or any other character.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        decode(bytes: Array(text.utf8)[...])
    }

    static func decode(bytes: ArraySlice<UInt8>) -> [UInt8]? {
        guard bytes.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count / 2)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            guard let high = nibble(bytes[index]), let low = nibble(bytes[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}

/// Why an export failed verification. The raw values are stable codes.
public enum ExportFailure: String, Sendable, Codable {
    /// The line is not one JSON object with exactly the members of the format, in order,
    /// each value of its form (or the file does not end with a line feed: truncated).
    case malformedLine = "malformed_line"
    /// `global_position` is not the previous line's plus one (1 on the first line).
    case positionOutOfOrder = "position_out_of_order"
    /// `prev_hash` is not the previous line's `hash` (32 zero bytes on the first line).
    case prevHashMismatch = "prev_hash_mismatch"
    /// `hash` is not SHA-256 over `prev_hash` and the line's fields.
    case hashMismatch = "hash_mismatch"
    /// `stream_version` is not the stream's previous version plus one.
    case streamVersionOutOfOrder = "stream_version_out_of_order"
}

/// What offline verification of an export found.
public struct ExportVerification: Sendable, Equatable, Codable {
    /// Lines that verified.
    public var eventsChecked: Int = 0
    /// The last verified event: the whole file's head when intact.
    public var head = ChainHead(position: 0, hash: HashChain.genesis)
    /// The first failure, if any (verification stops there).
    public var failure: Failure?
    /// Hashes seen at the positions the verifier was asked to watch (e.g. checkpoints').
    public var watched: [Int64: [UInt8]] = [:]

    public struct Failure: Sendable, Equatable, Codable {
        /// The first bad position: the position this line must have (its line number).
        public var position: Int64
        /// 1-based line number in the file.
        public var line: Int
        public var code: ExportFailure
        public var message: String
    }

    public var isIntact: Bool { failure == nil }

    enum CodingKeys: String, CodingKey { case eventsChecked = "events_checked", head, failure }

    public init() {}
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        eventsChecked = try c.decode(Int.self, forKey: .eventsChecked)
        head = try c.decode(ChainHead.self, forKey: .head)
        failure = try c.decodeIfPresent(Failure.self, forKey: .failure)
    }

    /// `OK …` with the head, or `FAILED at position N (code): message`.
    public var summary: String {
        if let failure {
            return "FAILED at position \(failure.position) (line \(failure.line), \(failure.code.rawValue)): \(failure.message)\n"
                + "\(eventsChecked) event(s) verified before it; last good head: position \(head.position), hash \(head.hashHex)"
        }
        return "OK: \(eventsChecked) events verified, positions 1…\(head.position) dense, stream versions 1..n, hash chain intact\n"
            + "head: position \(head.position) hash \(head.hashHex)"
    }
}

/// Verifies an events export line by line, holding only the previous hash and each
/// stream's last version (memory grows with the number of streams, not events).
///
/// Feed every line (without its line feed) to `check(line:)` in file order, then read
/// `result`. Checking stops at the first failure. A file's last line must end with a
/// line feed; `verify(fileAt:)` handles this.
public struct ExportVerifier: Sendable {
    public private(set) var result = ExportVerification()
    private var streamVersions: [String: Int64] = [:]
    private var line = 0
    private let watch: Set<Int64>

    /// - Parameter watch: positions whose hashes to keep in `result.watched`.
    public init(watch: Set<Int64> = []) { self.watch = watch }

    /// Each member's name as the line spells it, quoted (`"global_position"`, …).
    static let quotedMembers: [[UInt8]] = members.map { Array("\"\($0)\"".utf8) }

    /// The member names of an events line, in order.
    public static let members = [
        "global_position", "stream_id", "stream_version", "event_id", "event_type", "data", "metadata",
        "occurred_at", "recorded_at", "prev_hash", "hash",
    ]

    /// Checks one line. Returns false once verification has failed (later lines are ignored).
    @discardableResult
    public mutating func check(line bytes: ArraySlice<UInt8>) -> Bool {
        guard result.failure == nil else { return false }
        line += 1
        let expected = result.head.position + 1
        func fail(_ code: ExportFailure, _ message: String) -> Bool {
            result.failure = .init(position: expected, line: line, code: code, message: message)
            return false
        }
        let fields: ExportLine
        do {
            fields = try ExportLine(bytes)
        } catch let error as ExportLine.Malformed {
            return fail(.malformedLine, error.message)
        } catch {
            return fail(.malformedLine, "\(error)")
        }
        guard fields.position == expected else {
            return fail(.positionOutOfOrder, "global_position is \(fields.position), expected \(expected)")
        }
        guard fields.prevHash == result.head.hash else {
            return fail(.prevHashMismatch, "prev_hash is not the hash of position \(expected - 1)")
        }
        let computed = HashChain.hash(previous: fields.prevHash, fields: [
            fields.positionText, fields.streamID, fields.versionText, fields.eventID, fields.eventType,
            fields.data, fields.metadata, fields.occurredAt,
        ])
        guard computed == fields.hash else {
            return fail(.hashMismatch, "hash is \(Hex.encode(fields.hash)), the line's fields give \(Hex.encode(computed))")
        }
        let stream = String(decoding: fields.streamID, as: UTF8.self)
        let version = streamVersions[stream, default: 0] + 1
        guard fields.version == version else {
            return fail(.streamVersionOutOfOrder, "stream \(stream) is at version \(version - 1), this line has version \(fields.version)")
        }
        streamVersions[stream] = version
        result.head = ChainHead(position: expected, hash: fields.hash)
        result.eventsChecked += 1
        if watch.contains(expected) { result.watched[expected] = fields.hash }
        return true
    }

    /// Lines longer than this (64 MiB) are refused as malformed, so a hostile file
    /// cannot make the verifier hold an unbounded line.
    public static let maxLineBytes = 64 << 20

    mutating func lineTooLong() {
        guard result.failure == nil else { return }
        line += 1
        result.failure = .init(position: result.head.position + 1, line: line, code: .malformedLine,
                               message: "the line is longer than \(Self.maxLineBytes) bytes")
    }

    /// Marks the export as truncated: its last line did not end with a line feed.
    public mutating func unterminatedLastLine() {
        guard result.failure == nil else { return }
        line += 1
        result.failure = .init(position: result.head.position + 1, line: line, code: .malformedLine,
                               message: "the last line does not end with a line feed (the file is truncated)")
    }

    /// Verifies a whole export file, read in chunks.
    /// - Throws: only when the file cannot be read.
    public static func verify(fileAt url: URL, watch: Set<Int64> = []) throws -> ExportVerification {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var verifier = ExportVerifier(watch: watch)
        var pending: [UInt8] = []
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            var scanFrom = pending.count
            pending.append(contentsOf: chunk)
            var start = pending.startIndex
            while let newline = pending[scanFrom...].firstIndex(of: 0x0a) {
                if !verifier.check(line: pending[start..<newline]) { return verifier.result }
                start = newline + 1
                scanFrom = start
            }
            pending.removeSubrange(..<start)
            if pending.count > maxLineBytes {
                verifier.lineTooLong()
                return verifier.result
            }
        }
        if !pending.isEmpty { verifier.unterminatedLastLine() }
        return verifier.result
    }

    /// Verifies an export held in memory.
    public static func verify(_ bytes: [UInt8], watch: Set<Int64> = []) -> ExportVerification {
        var verifier = ExportVerifier(watch: watch)
        var start = bytes.startIndex
        while let newline = bytes[start...].firstIndex(of: 0x0a) {
            if !verifier.check(line: bytes[start..<newline]) { return verifier.result }
            start = newline + 1
        }
        if start < bytes.endIndex { verifier.unterminatedLastLine() }
        return verifier.result
    }
}

/// One line of an events export, split into the byte fields the hash covers.
struct ExportLine {
    struct Malformed: Error { var message: String }

    var position: Int64
    var positionText: ArraySlice<UInt8>
    var streamID: ArraySlice<UInt8>
    var version: Int64
    var versionText: ArraySlice<UInt8>
    var eventID: ArraySlice<UInt8>
    var eventType: ArraySlice<UInt8>
    var data: ArraySlice<UInt8>
    var metadata: ArraySlice<UInt8>
    var occurredAt: ArraySlice<UInt8>
    var prevHash: [UInt8]
    var hash: [UInt8]

    init(_ line: ArraySlice<UInt8>) throws {
        guard String(validating: line, as: UTF8.self) != nil else { throw Malformed(message: "the line is not valid UTF-8") }
        var scanner = JSONScanner(bytes: line)
        var spans: [ArraySlice<UInt8>] = []
        try scanner.expect(UInt8(ascii: "{"), "the line must be one JSON object")
        for (index, name) in ExportVerifier.members.enumerated() {
            let keyStart = scanner.index
            try scanner.skipString()
            guard line[keyStart..<scanner.index].elementsEqual(ExportVerifier.quotedMembers[index]) else {
                throw Malformed(message: "member \(index + 1) must be \"\(name)\" (members: \(ExportVerifier.members.joined(separator: ", ")))")
            }
            try scanner.expect(UInt8(ascii: ":"), "a ':' after \"\(name)\"")
            let valueStart = scanner.index
            scanner.skipWhitespace()
            try scanner.skipValue(depth: 0)
            scanner.skipWhitespace()
            spans.append(line[valueStart..<scanner.index])
            try scanner.expect(index == ExportVerifier.members.count - 1 ? UInt8(ascii: "}") : UInt8(ascii: ","),
                               index == ExportVerifier.members.count - 1 ? "'}' after \"\(name)\" (no other member)" : "',' after \"\(name)\"")
        }
        guard scanner.index == line.endIndex else { throw Malformed(message: "text after the object") }

        func integer(_ span: ArraySlice<UInt8>, _ name: String) throws -> Int64 {
            guard let first = span.first, first != UInt8(ascii: "0"), span.count <= 18,
                  span.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let value = Int64(String(decoding: span, as: UTF8.self))
            else { throw Malformed(message: "\(name) must be a positive integer without sign, exponent or leading zero") }
            return value
        }
        func string(_ span: ArraySlice<UInt8>, _ name: String) throws -> ArraySlice<UInt8> {
            guard span.first == UInt8(ascii: "\""), span.last == UInt8(ascii: "\""), let text = JSONScanner.decodeString(span)
            else { throw Malformed(message: "\(name) must be a JSON string") }
            return text[...]
        }
        func hashField(_ span: ArraySlice<UInt8>, _ name: String) throws -> [UInt8] {
            guard span.first == UInt8(ascii: "\""), span.last == UInt8(ascii: "\""), let text = JSONScanner.decodeString(span), text.count == 64, let bytes = Hex.decode(bytes: text[...]) else {
                throw Malformed(message: "\(name) must be 64 lowercase hex digits")
            }
            return bytes
        }
        positionText = spans[0]
        position = try integer(spans[0], "global_position")
        streamID = try string(spans[1], "stream_id")
        versionText = spans[2]
        version = try integer(spans[2], "stream_version")
        eventID = try string(spans[3], "event_id")
        guard Self.isLowercaseUUID(eventID) else { throw Malformed(message: "event_id must be a lowercase hyphenated UUID") }
        eventType = try string(spans[4], "event_type")
        data = spans[5]
        metadata = spans[6]
        occurredAt = try string(spans[7], "occurred_at")
        guard Self.isCanonicalInstant(occurredAt) else {
            throw Malformed(message: "occurred_at must be UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ")
        }
        _ = try string(spans[8], "recorded_at")
        prevHash = try hashField(spans[9], "prev_hash")
        hash = try hashField(spans[10], "hash")
    }

    static func isLowercaseUUID(_ text: ArraySlice<UInt8>) -> Bool {
        guard text.count == 36 else { return false }
        for (offset, c) in text.enumerated() {
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard c == UInt8(ascii: "-") else { return false }
            } else if !(c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") || c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f")) {
                return false
            }
        }
        return true
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, four or more year digits.
    static func isCanonicalInstant(_ text: ArraySlice<UInt8>) -> Bool {
        let tail = Array("-DD-DDTDD:DD:DD.DDDDDDZ".utf8)
        guard text.count >= 4 + tail.count else { return false }
        let yearCount = text.count - tail.count
        for (offset, c) in text.enumerated() {
            let isDigit = c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
            if offset < yearCount {
                guard isDigit else { return false }
            } else {
                let pattern = tail[offset - yearCount]
                guard pattern == UInt8(ascii: "D") ? isDigit : c == pattern else { return false }
            }
        }
        return true
    }
}

/// A strict RFC 8259 scanner over UTF-8 bytes: skips values, decodes strings. Refuses
/// whatever RFC 8259 does not allow (NaN, single quotes, control characters in strings).
struct JSONScanner {
    let bytes: ArraySlice<UInt8>
    var index: Int

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    /// Nesting deeper than this is refused (hostile input must not exhaust the stack).
    static let maxDepth = 512

    var peek: UInt8? { index < bytes.endIndex ? bytes[index] : nil }

    mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard peek == byte else { throw ExportLine.Malformed(message: "expected \(what)") }
        index += 1
    }

    mutating func skipWhitespace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d { index += 1 }
    }

    mutating func skipValue(depth: Int) throws {
        guard depth < Self.maxDepth else { throw ExportLine.Malformed(message: "JSON nested deeper than \(Self.maxDepth)") }
        guard let c = peek else { throw ExportLine.Malformed(message: "a value is missing") }
        switch c {
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = c == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            skipWhitespace()
            if peek == close { index += 1; return }
            while true {
                if c == UInt8(ascii: "{") {
                    try skipString()
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"), "':' in an object")
                    skipWhitespace()
                }
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek == close { index += 1; return }
                try expect(UInt8(ascii: ","), "',' or a closing bracket")
                skipWhitespace()
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try skipNumber()
        }
    }

    private mutating func literal(_ word: String) throws {
        for expected in word.utf8 {
            guard peek == expected else { throw ExportLine.Malformed(message: "invalid JSON literal") }
            index += 1
        }
    }

    private mutating func digits() -> Int {
        let start = index
        while let c = peek, c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    private mutating func skipNumber() throws {
        let bad = ExportLine.Malformed(message: "invalid JSON value")
        if peek == UInt8(ascii: "-") { index += 1 }
        if peek == UInt8(ascii: "0") { index += 1 } else if digits() == 0 { throw bad }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw bad }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw bad }
        }
    }

    mutating func skipString() throws {
        let bad = ExportLine.Malformed(message: "invalid JSON string")
        guard peek == UInt8(ascii: "\"") else { throw ExportLine.Malformed(message: "expected a JSON string") }
        index += 1
        while let c = peek {
            index += 1
            switch c {
            case UInt8(ascii: "\""): return
            case UInt8(ascii: "\\"):
                guard let e = peek else { throw bad }
                index += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    break
                case UInt8(ascii: "u"):
                    for _ in 0..<4 {
                        guard let h = peek, Self.hexValue(h) != nil else { throw bad }
                        index += 1
                    }
                default: throw bad
                }
            case 0..<0x20: throw bad
            default: break
            }
        }
        throw bad
    }

    static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// The UTF-8 bytes of the string a JSON string literal (with its quotes, and
    /// possibly surrounding white space) denotes; nil when it is not exactly one valid
    /// string or escapes a lone surrogate.
    static func decodeString(_ span: ArraySlice<UInt8>) -> [UInt8]? {
        var scanner = JSONScanner(bytes: span)
        scanner.skipWhitespace()
        let start = scanner.index
        guard (try? scanner.skipString()) != nil else { return nil }
        let end = scanner.index
        scanner.skipWhitespace()
        guard scanner.index == span.endIndex else { return nil }
        var out: [UInt8] = []
        var i = start + 1
        let last = end - 1
        func hex4(_ at: Int) -> UInt32 {
            (at..<at + 4).reduce(UInt32(0)) { $0 << 4 | (hexValue(span[$1]) ?? 0) }
        }
        while i < last {
            let c = span[i]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                i += 1
                continue
            }
            let e = span[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(i)
                i += 4
                if scalar >= 0xd800 && scalar < 0xdc00 {
                    guard i + 6 <= last, span[i] == UInt8(ascii: "\\"), span[i + 1] == UInt8(ascii: "u") else { return nil }
                    let low = hex4(i + 2)
                    guard low >= 0xdc00 && low < 0xe000 else { return nil }
                    scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                    i += 6
                } else if scalar >= 0xdc00 && scalar < 0xe000 {
                    return nil
                }
                guard let unicode = Unicode.Scalar(scalar) else { return nil }
                out.append(contentsOf: Array(String(Character(unicode)).utf8))
            default: out.append(e)  // \" \\ \/
            }
        }
        return out
    }
}
