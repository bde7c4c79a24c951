import Foundation

/// A JSON value, decoded strictly (a number is never a Bool, a Bool never a number).
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The JSON type's name, for messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

/// Why `JSONValue.parse(strict:)` refused a text.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, e.g. `repeated key`, `unexpected byte 0x7d`.
    public var reason: String
    /// Byte offset (0-based) in the input where the problem was found.
    public var offset: Int
    /// For a repeated key: its path, e.g. `votes.governor` or `entries[3].seat`.
    public var repeatedKey: String?

    public var description: String {
        repeatedKey.map { "repeats the key '\($0.prefix(200))'" } ?? "\(reason) at byte \(offset)"
    }
}

extension JSONValue {
    /// Containers (objects and arrays) may nest this many levels; the top level is 1.
    /// `submit_command` (Sql/0006_queue_input.sql) enforces the same limit.
    public static let maxDepth = 32

    /// Parses UTF-8 JSON text (RFC 8259) strictly, in one pass:
    /// - a key repeated in one object, at any depth, is an error (`json` keeps both and
    ///   readers disagree on which one counts; see `submit_command`, SQLSTATE CQ002);
    /// - containers nest at most `maxDepth` levels;
    /// - numbers must be finite as `Double` (`1e400` is refused), strings valid UTF-8 with
    ///   valid escapes (a lone UTF-16 surrogate is refused);
    /// - nothing but whitespace may follow the value.
    /// - Throws: `JSONSyntaxError` naming the byte offset or the repeated key's path.
    public static func parse(strict data: Data) throws(JSONSyntaxError) -> JSONValue {
        var parser = StrictJSONParser(bytes: [UInt8](data))
        return try parser.parseDocument()
    }
}

/// The recursive-descent parser behind `JSONValue.parse(strict:)`. Recursion is bounded
/// by `JSONValue.maxDepth`, so no input can exhaust the stack.
private struct StrictJSONParser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(reason: reason, offset: index) }

    func unexpected() -> JSONSyntaxError {
        index < bytes.count
            ? fail("unexpected byte 0x\(String(bytes[index], radix: 16))") : fail("unexpected end of input")
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue(depth: 0, path: "")
        skipWhitespace()
        guard index == bytes.count else { throw fail("trailing characters after the JSON value") }
        return value
    }

    mutating func parseValue(depth: Int, path: String) throws(JSONSyntaxError) -> JSONValue {
        guard index < bytes.count else { throw unexpected() }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1, path: path)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1, path: path)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw unexpected()
        }
    }

    mutating func literal(_ word: String) throws(JSONSyntaxError) {
        for expected in word.utf8 {
            guard index < bytes.count, bytes[index] == expected else { throw fail("invalid literal") }
            index += 1
        }
    }

    static func child(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    mutating func parseObject(depth: Int, path: String) throws(JSONSyntaxError) -> JSONValue {
        guard depth <= JSONValue.maxDepth else { throw fail("objects and arrays nest deeper than \(JSONValue.maxDepth) levels") }
        index += 1  // {
        var object: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw unexpected() }
            let keyOffset = index
            let key = try parseString()
            guard object[key] == nil else {
                throw JSONSyntaxError(reason: "repeated key", offset: keyOffset, repeatedKey: Self.child(path, key))
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw unexpected() }
            index += 1
            skipWhitespace()
            object[key] = try parseValue(depth: depth, path: Self.child(path, key))
            skipWhitespace()
            guard index < bytes.count else { throw unexpected() }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            guard bytes[index] == UInt8(ascii: "}") else { throw unexpected() }
            index += 1
            return .object(object)
        }
    }

    mutating func parseArray(depth: Int, path: String) throws(JSONSyntaxError) -> JSONValue {
        guard depth <= JSONValue.maxDepth else { throw fail("objects and arrays nest deeper than \(JSONValue.maxDepth) levels") }
        index += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth, path: "\(path)[\(items.count)]"))
            skipWhitespace()
            guard index < bytes.count else { throw unexpected() }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            guard bytes[index] == UInt8(ascii: "]") else { throw unexpected() }
            index += 1
            return .array(items)
        }
    }

    /// A string starting at the opening quote; leaves `index` after the closing quote.
    mutating func parseString() throws(JSONSyntaxError) -> String {
        index += 1  // "
        var scalars = String.UnicodeScalarView()
        var runStart = index
        func flushRun(_ end: Int) throws(JSONSyntaxError) {
            guard runStart < end else { return }
            guard let text = String(validating: bytes[runStart..<end], as: UTF8.self) else {
                throw JSONSyntaxError(reason: "invalid UTF-8 in a string", offset: runStart)
            }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                try flushRun(index)
                index += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flushRun(index)
                index += 1
                scalars.append(try parseEscape())
                runStart = index
            case 0x00..<0x20:
                throw fail("unescaped control character in a string")
            default:
                index += 1
            }
        }
    }

    /// After a backslash: one escape, as a scalar.
    mutating func parseEscape() throws(JSONSyntaxError) -> Unicode.Scalar {
        guard index < bytes.count else { throw fail("unterminated string") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try hex4()
            switch unit {
            case 0xD800...0xDBFF:
                guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw fail("unpaired UTF-16 surrogate escape")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired UTF-16 surrogate escape") }
                let value = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                guard let scalar = Unicode.Scalar(value) else { throw fail("invalid escape") }
                return scalar
            case 0xDC00...0xDFFF:
                throw fail("unpaired UTF-16 surrogate escape")
            default:
                guard let scalar = Unicode.Scalar(unit) else { throw fail("invalid escape") }
                return scalar
            }
        default:
            index -= 1
            throw fail("invalid escape")
        }
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw fail("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// RFC 8259 number grammar; the value must be finite as a Double.
    mutating func parseNumber() throws(JSONSyntaxError) -> Double {
        let start = index
        func digits() -> Int {
            let first = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - first
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw unexpected() }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            guard digits() > 0 else { throw unexpected() }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw unexpected() }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw unexpected() }
        }
        // ASCII only, so the text is valid; Double parses any length.
        guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)), value.isFinite else {
            throw JSONSyntaxError(reason: "number out of range", offset: start)
        }
        return value
    }
}

/// The project's one JSON encoder configuration: compact, keys sorted, slashes not
/// escaped, so the same value always encodes to the same bytes. Payloads, event data,
/// the daemon's outcome and timer rows, projections' JSON columns, checkpoint documents
/// and the HTTP API's bodies are all written by it. Dates are not encoded through it
/// (the types that carry instants encode them as ISO 8601 text themselves).
public enum CanonicalJSON {
    /// A new encoder with the configuration (`JSONEncoder` is a class: one per use).
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// `value` as canonical JSON.
    /// - Throws: `EncodingError` (a non-finite number, or a type's own `encode(to:)` failing).
    public static func encode(_ value: some Encodable) throws -> Data {
        try encoder().encode(value)
    }
}

/// Deterministic JSON: sorted keys, no escaped slashes. Used for payloads and events.
func canonicalJSON<T: Encodable>(_ value: T) -> Data {
    // Encoding these value types cannot fail (no non-finite floats, string keys only).
    (try? CanonicalJSON.encode(value)) ?? Data("{}".utf8)
}

/// Length limits for payload strings (in Characters) and lists.
public enum FieldLimit {
    /// Names, bodies, motions, tallies, editions, members.
    public static let name = 500
    /// Reasons, local authorizations, notes.
    public static let text = 4_000
    /// URLs and source citations.
    public static let url = 2_000
    /// Items in a `sources` list.
    public static let listItems = 20
    /// Years a payload date may fall in: 1900-01-01 through 2199-12-31 (`invalid_date`
    /// otherwise). Not a legal rule: a sanity bound, so that no date (year 9999, 0001)
    /// can carry timers or `occurred_at` outside the range the database accepts
    /// (1900-01-01 .. 2200-01-01 UTC, Sql/0006_queue_input.sql and `append_events`).
    public static let dateYears: ClosedRange<Int> = 1900...2199
}

/// Reads the fields of one JSON object payload, producing `Rejection`s that name the field.
struct PayloadReader {
    let fields: [String: JSONValue]
    let prefix: String

    /// Parses `data` as a JSON object and rejects keys outside `allowed` (the
    /// alphabetically first unknown key is named).
    init(data: Data, allowed: Set<String>) throws(Rejection) {
        let decoded: JSONValue
        do {
            decoded = try JSONValue.parse(strict: data)
        } catch {
            if let key = error.repeatedKey {
                throw Rejection(.malformedPayload, "payload repeats the key '\(key.prefix(200))'", field: String(key.prefix(200)))
            }
            throw Rejection(.malformedPayload, "payload is not valid JSON: \(error)")
        }
        guard case .object(let object) = decoded else {
            throw Rejection(.malformedPayload, "payload must be a JSON object, not \(decoded.typeName)")
        }
        try self.init(object: object, allowed: allowed, prefix: "")
    }

    init(object: [String: JSONValue], allowed: Set<String>, prefix: String) throws(Rejection) {
        if let unknown = object.keys.filter({ !allowed.contains($0) }).sorted().first {
            let name = prefix + unknown
            throw Rejection(.unknownField, "unknown field '\(name)'", field: name)
        }
        self.fields = object
        self.prefix = prefix
    }

    func value(_ key: String) -> JSONValue? {
        switch fields[key] {
        case .none, .some(.null): return nil
        case .some(let value): return value
        }
    }

    func missing(_ key: String) -> Rejection {
        Rejection(.missingField, "missing required field '\(prefix + key)'", field: prefix + key)
    }

    func wrongType(_ key: String, _ expected: String, _ got: JSONValue) -> Rejection {
        Rejection(.invalidFieldType, "field '\(prefix + key)' must be a \(expected), not \(got.typeName)", field: prefix + key)
    }

    func invalid(_ key: String, _ why: String) -> Rejection {
        Rejection(.invalidFieldValue, "field '\(prefix + key)' \(why)", field: prefix + key)
    }

    func optionalString(_ key: String, max: Int) throws(Rejection) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw wrongType(key, "string", value) }
        guard text.count <= max else {
            throw Rejection(.fieldTooLong, "field '\(prefix + key)' is \(text.count) characters long; the limit is \(max)", field: prefix + key)
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw invalid(key, "must not be empty") }
        guard !text.unicodeScalars.contains("\u{0}") else { throw invalid(key, "must not contain NUL characters") }
        return text
    }

    /// A name field (agency name, county, member, body): `optionalString`, and no control
    /// (Cc) or format (Cf) character (`NameText`); the message names the code point and
    /// never echoes the character.
    func optionalName(_ key: String, max: Int = FieldLimit.name) throws(Rejection) -> String? {
        guard let text = try optionalString(key, max: max) else { return nil }
        if let (scalar, offset) = NameText.forbiddenScalar(in: text) {
            throw invalid(key, "holds \(NameText.codePoint(scalar)) at character \(offset + 1), a control or format character "
                + "(newline, tab, bidi control, zero-width or similar); names may not hold them: '\(NameText.escaped(String(text.prefix(80))))'")
        }
        return text
    }

    func name(_ key: String, max: Int = FieldLimit.name) throws(Rejection) -> String {
        guard let text = try optionalName(key, max: max) else { throw missing(key) }
        return text
    }

    /// An agency name: `name(_:)` with at least one letter or digit.
    func agencyName(_ key: String) throws(Rejection) -> String {
        let text = try name(key)
        guard AgencyID(name: text) != nil else {
            throw invalid(key, "is not an agency name with letters or digits: '\(NameText.escaped(String(text.prefix(80))))'")
        }
        return text
    }

    func string(_ key: String, max: Int) throws(Rejection) -> String {
        guard let text = try optionalString(key, max: max) else { throw missing(key) }
        return text
    }

    func optionalDate(_ key: String) throws(Rejection) -> FloridaDate? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw wrongType(key, "string (YYYY-MM-DD)", value) }
        guard let date = FloridaDate(iso: text) else {
            throw Rejection(.invalidDate, "field '\(prefix + key)' is not a YYYY-MM-DD calendar date: '\(text.prefix(40))'", field: prefix + key)
        }
        guard FieldLimit.dateYears.contains(date.year) else {
            throw Rejection(.invalidDate, "field '\(prefix + key)' is \(date), outside the dates this register accepts "
                            + "(\(FieldLimit.dateYears.lowerBound)-01-01 through \(FieldLimit.dateYears.upperBound)-12-31)", field: prefix + key)
        }
        return date
    }

    func date(_ key: String) throws(Rejection) -> FloridaDate {
        guard let date = try optionalDate(key) else { throw missing(key) }
        return date
    }

    func bool(_ key: String, default fallback: Bool) throws(Rejection) -> Bool {
        guard let value = value(key) else { return fallback }
        guard case .bool(let flag) = value else { throw wrongType(key, "boolean", value) }
        return flag
    }

    /// A required string mapped through `transform`; nil from it is `invalid_field_value`.
    func mapped<T>(_ key: String, max: Int = FieldLimit.name, _ what: String,
                   _ transform: (String) -> T?) throws(Rejection) -> T {
        let text = try string(key, max: max)
        guard let result = transform(text) else { throw invalid(key, "is not \(what): '\(NameText.escaped(String(text.prefix(80))))'") }
        return result
    }

    func optionalMapped<T>(_ key: String, max: Int = FieldLimit.name, _ what: String,
                           _ transform: (String) -> T?) throws(Rejection) -> T? {
        guard let text = try optionalString(key, max: max) else { return nil }
        guard let result = transform(text) else { throw invalid(key, "is not \(what): '\(NameText.escaped(String(text.prefix(80))))'") }
        return result
    }

    func uuid(_ key: String) throws(Rejection) -> UUID {
        try mapped(key, "a UUID") { UUID(uuidString: $0) }
    }

    func agencyID(_ key: String) throws(Rejection) -> AgencyID {
        try mapped(key, "an agency id (lowercase slug)") { AgencyID(slug: $0) }
    }

    func agreementID(_ key: String) throws(Rejection) -> AgreementID {
        try mapped(key, "an agreement id (<agency>.<tfm|wso|jem>.<YYYY-MM-DD>)") { AgreementID($0) }
    }

    /// An optional list of non-empty strings (e.g. `sources`); absent is `[]`.
    func stringList(_ key: String, maxItems: Int, maxLength: Int) throws(Rejection) -> [String] {
        guard let value = value(key) else { return [] }
        guard case .array(let items) = value else { throw wrongType(key, "array of strings", value) }
        guard items.count <= maxItems else {
            throw Rejection(.fieldTooLong, "field '\(prefix + key)' has \(items.count) items; the limit is \(maxItems)", field: prefix + key)
        }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            let element = PayloadReader(unchecked: ["\(key)[\(index)]": item], prefix: prefix)
            result.append(try element.string("\(key)[\(index)]", max: maxLength))
        }
        return result
    }

    /// A required whole number in `0...max`.
    func count(_ key: String, max: Int) throws(Rejection) -> Int? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value else { throw wrongType(key, "number", value) }
        guard number >= 0, number <= Double(max), number.rounded() == number else {
            throw invalid(key, "must be a whole number from 0 to \(max)")
        }
        return Int(number)
    }

    /// A nested object whose keys are checked by the caller.
    func object(_ key: String) throws(Rejection) -> [String: JSONValue] {
        guard let value = value(key) else { throw missing(key) }
        guard case .object(let object) = value else { throw wrongType(key, "object", value) }
        return object
    }

    private init(unchecked fields: [String: JSONValue], prefix: String) {
        self.fields = fields
        self.prefix = prefix
    }
}

/// Builds a payload object; optional values that are nil (or empty lists, false flags
/// with a false default) are omitted, so encoding is canonical.
struct PayloadWriter {
    private(set) var object: [String: JSONValue] = [:]

    mutating func set(_ key: String, _ text: String?) {
        if let text { object[key] = .string(text) }
    }

    mutating func set(_ key: String, describing value: (some CustomStringConvertible)?) {
        if let value { object[key] = .string(value.description) }
    }

    mutating func set(_ key: String, uuid: UUID) {
        object[key] = .string(uuid.uuidString.lowercased())
    }

    mutating func set(_ key: String, _ list: [String]) {
        if !list.isEmpty { object[key] = .array(list.map(JSONValue.string)) }
    }

    mutating func set(_ key: String, count: Int) {
        object[key] = .number(Double(count))
    }

    mutating func set(_ key: String, flag: Bool) {
        if flag { object[key] = .bool(true) }
    }

    mutating func set(_ key: String, object nested: [String: JSONValue]) {
        object[key] = .object(nested)
    }
}
