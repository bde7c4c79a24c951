import Foundation

/// One parameter value as sent to PostgreSQL: SQL NULL, text (the server parses
/// it according to the parameter's type), or raw bytes for a `bytea` parameter.
public enum PostgresValue: Sendable, Hashable {
    case null
    case text(String)
    case bytea([UInt8])
}

/// A Swift value that can be bound to a `$n` parameter.
public protocol PostgresEncodable: Sendable {
    var postgresValue: PostgresValue { get }
}

/// A Swift value that can be decoded from a column in PostgreSQL's text format.
public protocol PostgresDecodable: Sendable {
    /// - Throws: `PostgresDecodingError` when the text is not a valid value of this type.
    init(postgresText text: String) throws
}

/// A column value that could not be decoded into the requested Swift type.
public struct PostgresDecodingError: Error, CustomStringConvertible, Sendable {
    public var column: String
    public var expectedType: String
    public var reason: String
    public var description: String { "cannot decode column \(column) as \(expectedType): \(reason)" }
}

extension PostgresValue: PostgresEncodable {
    public var postgresValue: PostgresValue { self }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresValue: PostgresValue { self?.postgresValue ?? .null }
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(self) }
    public init(postgresText text: String) { self = text }
}

extension Substring: PostgresEncodable {
    public var postgresValue: PostgresValue { .text(String(self)) }
}

private func decodeInteger<T: FixedWidthInteger>(_ text: String) throws -> T {
    guard let value = T(text) else {
        throw PostgresDecodingError(column: "?", expectedType: "\(T.self)", reason: "not an integer")
    }
    return value
}

extension Int: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(String(self)) }
    public init(postgresText text: String) throws { self = try decodeInteger(text) }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(String(self)) }
    public init(postgresText text: String) throws { self = try decodeInteger(text) }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(String(self)) }
    public init(postgresText text: String) throws { self = try decodeInteger(text) }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(String(self)) }
    public init(postgresText text: String) throws {
        guard let value = Double(text) else {
            throw PostgresDecodingError(column: "?", expectedType: "Double", reason: "not a number")
        }
        self = value
    }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(self ? "t" : "f") }
    public init(postgresText text: String) throws {
        switch text {
        case "t": self = true
        case "f": self = false
        default: throw PostgresDecodingError(column: "?", expectedType: "Bool", reason: "expected t or f")
        }
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(uuidString.lowercased()) }
    public init(postgresText text: String) throws {
        guard let value = UUID(uuidString: text) else {
            throw PostgresDecodingError(column: "?", expectedType: "UUID", reason: "not a UUID")
        }
        self = value
    }
}

/// `bytea`: sent as binary, received in PostgreSQL's hex text form (`\x0aff…`).
extension Array: PostgresEncodable, PostgresDecodable where Element == UInt8 {
    public var postgresValue: PostgresValue { .bytea(self) }
    public init(postgresText text: String) throws {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0
        else { throw PostgresDecodingError(column: "?", expectedType: "bytea", reason: "expected hex format") }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: throw PostgresDecodingError(column: "?", expectedType: "bytea", reason: "bad hex digit")
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            bytes.append(try nibble(utf8[index]) << 4 | nibble(utf8[index + 1]))
            index += 2
        }
        self = bytes
    }
}

extension Data: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .bytea([UInt8](self)) }
    public init(postgresText text: String) throws { self = Data(try [UInt8](postgresText: text)) }
}

/// `timestamptz`, to microsecond precision (PostgreSQL's). Sent as an ISO 8601
/// UTC string; decoded from the ISO output of a session whose TimeZone is UTC,
/// which every `Connection` sets when it opens.
extension Date: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(Timestamp(self).iso8601) }
    public init(postgresText text: String) throws {
        guard let timestamp = Timestamp(parsing: text) else {
            throw PostgresDecodingError(column: "?", expectedType: "Date", reason: "not an ISO timestamp")
        }
        self = timestamp.date
    }
}

/// A UTC instant in whole microseconds since 1970-01-01T00:00:00Z: the precision
/// of PostgreSQL's `timestamptz`, with exact integer arithmetic (no floating point
/// in comparisons or in the hash chain's canonical encoding).
public struct Timestamp: Sendable, Hashable, Comparable, Codable, PostgresEncodable, PostgresDecodable {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) { self.microsecondsSinceEpoch = microsecondsSinceEpoch }

    public init(_ date: Date) {
        microsecondsSinceEpoch = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    public var date: Date { Date(timeIntervalSince1970: Double(microsecondsSinceEpoch) / 1_000_000) }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microsecondsSinceEpoch < b.microsecondsSinceEpoch }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always six fractional digits.
    public var iso8601: String {
        let micros = ((microsecondsSinceEpoch % 1_000_000) + 1_000_000) % 1_000_000
        let seconds = (microsecondsSinceEpoch - micros) / 1_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = CivilCalendar.date(days: days)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2))"
            + ":\(pad(secondOfDay % 60, 2)).\(pad(micros, 6))Z"
    }

    /// Calls `body` with the UTF-8 bytes of `iso8601`, formatted without allocating (the hash
    /// chain's canonical `occurred_at`, computed once per event by a verification).
    public func withISO8601Bytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let micros = ((microsecondsSinceEpoch % 1_000_000) + 1_000_000) % 1_000_000
        let seconds = (microsecondsSinceEpoch - micros) / 1_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = CivilCalendar.date(days: days)
        guard (0...9999).contains(y) else {  // iso8601's own spelling of a year of other width
            var text = iso8601
            return try text.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
        }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 27) { out in
            func put(_ value: Int64, _ width: Int, at start: Int) {
                var v = value
                for i in stride(from: start + width - 1, through: start, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            put(y, 4, at: 0); out[4] = UInt8(ascii: "-"); put(m, 2, at: 5); out[7] = UInt8(ascii: "-"); put(d, 2, at: 8)
            out[10] = UInt8(ascii: "T"); put(secondOfDay / 3600, 2, at: 11); out[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, 2, at: 14); out[16] = UInt8(ascii: ":"); put(secondOfDay % 60, 2, at: 17)
            out[19] = UInt8(ascii: "."); put(micros, 6, at: 20); out[26] = UInt8(ascii: "Z")
            return try body(UnsafeRawBufferPointer(out))
        }
    }

    public var postgresValue: PostgresValue { .text(iso8601) }

    public init(postgresText text: String) throws {
        guard let value = Timestamp(parsing: text) else {
            throw PostgresDecodingError(column: "?", expectedType: "Timestamp", reason: "not an ISO timestamp")
        }
        self = value
    }

    /// Parses PostgreSQL's ISO output in UTC (`2025-11-03 05:00:00.5+00`) and this
    /// type's own `iso8601` form. Returns nil for anything else, including other offsets.
    public init?(parsing text: String) {
        var text = text
        guard let value = text.withUTF8({ Timestamp(parsing: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = value
    }

    /// `init?(parsing:)` over UTF-8 bytes (e.g. a value in libpq's result buffer).
    init?(parsing b: UnsafeRawBufferPointer) {
        func digits(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, let y = digits(0, 4), b[4] == 45, let mo = digits(5, 2), b[7] == 45,
            let d = digits(8, 2), b[10] == 32 || b[10] == 84, let h = digits(11, 2), b[13] == 58,
            let mi = digits(14, 2), b[16] == 58, let s = digits(17, 2)
        else { return nil }
        var i = 19
        var micros: Int64 = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale: Int64 = 100_000
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                micros += Int64(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        let rest = b.count - i
        guard (rest == 1 && b[i] == 90) || ((rest == 3 || rest == 6) && b[i] == 43 && b[i + 1] == 48 && b[i + 2] == 48
            && (rest == 3 || (b[i + 3] == 58 && b[i + 4] == 48 && b[i + 5] == 48)))
        else { return nil }
        guard (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60 else { return nil }
        let days = CivilCalendar.days(year: y, month: mo, day: d)
        microsecondsSinceEpoch = ((days * 86_400 + h * 3600 + mi * 60 + s) * 1_000_000) + micros
    }
}

/// A Swift array bound to one parameter as a PostgreSQL array, e.g.
/// `WHERE command_id = ANY ($1::uuid[])` with `[PostgresArray(ids)]`.
///
/// Sent in the array's text form, `{"a","b\"c",NULL}`: every element double-quoted,
/// with `"` and `\` escaped by a backslash, so any text (commas, braces, quotes,
/// spaces) arrives as it was. Each element is spelled as it would be bound alone (a
/// UUID in lower case, a `Timestamp` in ISO 8601, bytes as `\x` hex); the SQL names
/// the element type with a cast. (A wrapper rather than a conformance of `Array`:
/// `[UInt8]` already binds as `bytea`.)
public struct PostgresArray: PostgresEncodable {
    public var elements: [PostgresValue]

    public init(_ elements: some Sequence<some PostgresEncodable>) {
        self.elements = elements.map(\.postgresValue)
    }

    public var postgresValue: PostgresValue {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 + elements.reduce(0) { total, element in
            switch element {
            case .null: return total + 5
            case .text(let value): return total + value.utf8.count + 3
            case .bytea(let value): return total + value.count * 2 + 6
            }
        })
        bytes.append(UInt8(ascii: "{"))
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            switch element {
            case .null: bytes.append(contentsOf: "NULL".utf8)
            case .text(let value): Self.appendQuoted(value.utf8, to: &bytes)
            case .bytea(let value):
                // `"\x…"`: the element's text `\x…` with its backslash escaped.
                let digits = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: #""\\x"#.utf8)
                for byte in value {
                    bytes.append(digits[Int(byte >> 4)])
                    bytes.append(digits[Int(byte & 0x0f)])
                }
                bytes.append(UInt8(ascii: "\""))
            }
        }
        bytes.append(UInt8(ascii: "}"))
        return .text(String(decoding: bytes, as: UTF8.self))
    }

    /// Appends one element in double quotes, each `"` and `\` preceded by a backslash. Works on
    /// UTF-8 bytes: both are ASCII, and no byte of a multi-byte sequence is below 0x80.
    private static func appendQuoted(_ value: String.UTF8View, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
            bytes.append(byte)
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// Decoders of values in PostgreSQL's text format read in place, as bytes (`ResultRows`),
/// with no `String` in between. Each returns nil where the `String`-based decoder
/// (`PostgresDecodable`) throws, and the same value where it succeeds.
enum PostgresText {
    /// A decimal integer (`int2`/`int4`/`int8` output): an optional `-`, then digits; nil on overflow.
    static func integer<T: FixedWidthInteger>(_ b: UnsafeRawBufferPointer, as: T.Type = T.self) -> T? {
        guard !b.isEmpty else { return nil }
        let negative = b[0] == UInt8(ascii: "-")
        var index = negative || b[0] == UInt8(ascii: "+") ? 1 : 0
        guard index < b.count else { return nil }
        var value: T = 0
        while index < b.count {
            let digit = b[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative
                ? times10.subtractingReportingOverflow(T(digit)) : times10.addingReportingOverflow(T(digit))
            guard !o1, !o2 else { return nil }
            value = next
            index += 1
        }
        return value
    }

    /// A UUID in its hyphenated form, either case (`uuid` output is lower case).
    static func uuid(_ b: UnsafeRawBufferPointer) -> UUID? {
        guard b.count == 36, b[8] == UInt8(ascii: "-"), b[13] == UInt8(ascii: "-"), b[18] == UInt8(ascii: "-"),
              b[23] == UInt8(ascii: "-") else { return nil }
        var bytes = [UInt8](repeating: 0, count: 16)
        var out = 0, index = 0
        while index < 36 {
            if index == 8 || index == 13 || index == 18 || index == 23 { index += 1; continue }
            guard let high = nibble(b[index]), let low = nibble(b[index + 1]) else { return nil }
            bytes[out] = high << 4 | low
            out += 1
            index += 2
        }
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// `bytea` in hex output form, `\x` then two hex digits (either case) per byte.
    static func bytea(_ b: UnsafeRawBufferPointer) -> [UInt8]? {
        guard b.count >= 2, b[0] == UInt8(ascii: "\\"), b[1] == UInt8(ascii: "x"), b.count % 2 == 0 else { return nil }
        var valid = true
        let bytes = [UInt8](unsafeUninitializedCapacity: (b.count - 2) / 2) { out, initialized in
            var index = 2, at = 0
            while index < b.count {
                guard let high = nibble(b[index]), let low = nibble(b[index + 1]) else { valid = false; break }
                out[at] = high << 4 | low
                at += 1
                index += 2
            }
            initialized = at
        }
        return valid ? bytes : nil
    }

    /// A hex digit's value (either case), or nil.
    @inline(__always)
    static func nibble(_ c: UInt8) -> UInt8? {
        // Branch-free range checks (a verification decodes two 32-byte hashes per event).
        let digit = c &- UInt8(ascii: "0"), letter = (c | 0x20) &- UInt8(ascii: "a")
        if digit < 10 { return digit }
        if letter < 6 { return letter + 10 }
        return nil
    }
}
