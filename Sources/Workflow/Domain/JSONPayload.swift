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

/// Deterministic JSON: sorted keys, no escaped slashes. Used for payloads and events.
func canonicalJSON<T: Encodable>(_ value: T) -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Encoding these value types cannot fail (no non-finite floats, string keys only).
    return (try? encoder.encode(value)) ?? Data("{}".utf8)
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
            decoded = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw Rejection(.malformedPayload, "payload is not valid JSON")
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
        guard let result = transform(text) else { throw invalid(key, "is not \(what): '\(text.prefix(80))'") }
        return result
    }

    func optionalMapped<T>(_ key: String, max: Int = FieldLimit.name, _ what: String,
                           _ transform: (String) -> T?) throws(Rejection) -> T? {
        guard let text = try optionalString(key, max: max) else { return nil }
        guard let result = transform(text) else { throw invalid(key, "is not \(what): '\(text.prefix(80))'") }
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

    var data: Data { canonicalJSON(JSONValue.object(object)) }
}
