import Foundation
import Testing
@testable import Workflow

/// The array parameter encoder (issue 16 item 3): PostgreSQL's text form of a one-dimensional
/// array, checked against a reader written here from the documentation's rules ("Array Value
/// Input": elements between braces, separated by commas; a double-quoted element may contain
/// anything, with `"` and `\` escaped by a backslash; an unquoted NULL is SQL NULL).
@Suite("Array parameter encoder (no database)")
struct PostgresArrayEncoderTests {
    /// Reads the text form back; nil when it is not a well-formed one-dimensional array.
    static func read(_ text: String) -> [String?]? {
        var scalars = Array(text.unicodeScalars)[...]
        guard scalars.first == "{", scalars.last == "}" else { return nil }
        scalars = scalars.dropFirst().dropLast()
        if scalars.isEmpty { return [] }
        var elements: [String?] = []
        while true {
            if scalars.starts(with: "NULL".unicodeScalars) {
                elements.append(nil)
                scalars = scalars.dropFirst(4)
            } else {
                guard scalars.first == "\"" else { return nil }
                scalars = scalars.dropFirst()
                var element = String.UnicodeScalarView()
                while true {
                    guard let scalar = scalars.popFirst() else { return nil }
                    if scalar == "\"" { break }
                    if scalar == "\\" {
                        guard let escaped = scalars.popFirst() else { return nil }
                        element.append(escaped)
                    } else {
                        element.append(scalar)
                    }
                }
                elements.append(String(element))
            }
            guard let separator = scalars.popFirst() else { return elements }
            guard separator == "," else { return nil }
        }
    }

    static func text(_ array: PostgresArray) -> String? {
        if case .text(let value) = array.postgresValue { return value }
        return nil
    }

    @Test("hostile elements: quotes, backslashes (also trailing), braces, commas, whitespace, empty, the word NULL, Unicode")
    func hostileElements() throws {
        let elements: [String?] = [#"\"#, #"a\"#, #"""#, #"\""#, "{", "}", "{a,b}", ",", " ", " lead", "trail ", "\t\n\r",
                                   "", "NULL", "null", nil, "caf\u{e9}", "\u{1F600}", "\u{200B}", "e\u{301}", "\u{1}"]
        let encoded = try #require(Self.text(PostgresArray(elements)))
        #expect(Self.read(encoded) == elements)
        #expect(encoded.hasPrefix(#"{"\\","a\\","\"","\\\"","{","}","{a,b}",",""#))
        #expect(encoded.contains(#","",""#))  // the empty string, quoted
        #expect(encoded.contains(#","NULL","null",NULL,"#))  // the word, quoted; SQL NULL bare
    }

    @Test("every element is quoted, so the text form never depends on the element's content")
    func everyElementQuoted() throws {
        #expect(Self.text(PostgresArray(["x"])) == #"{"x"}"#)
        #expect(Self.text(PostgresArray([Int32(7)])) == #"{"7"}"#)
        #expect(Self.text(PostgresArray([true, false])) == #"{"t","f"}"#)
        let moment = Timestamp(microsecondsSinceEpoch: 1_733_000_000_123_456)
        #expect(Self.text(PostgresArray([moment])) == "{\"\(moment.iso8601)\"}")
        #expect(Self.text(PostgresArray([[UInt8](), [0xab]])) == #"{"\\x","\\xab"}"#)
    }

    @Test("1,000 random arrays read back element for element")
    func randomRoundTrips() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces: [String] = ["\"", "\\", "{", "}", ",", " ", "\n", "a", "NULL", "'", "\u{e9}", "\u{1F600}", "\\\"", "\"\\"]
        for round in 0..<1_000 {
            let elements: [String?] = (0..<Int.random(in: 0...7, using: &generator)).map { _ in
                Int.random(in: 0..<8, using: &generator) == 0 ? nil
                    : (0..<Int.random(in: 0...6, using: &generator)).map { _ in pieces.randomElement(using: &generator) ?? "" }
                        .joined()
            }
            let encoded = try #require(Self.text(PostgresArray(elements)))
            #expect(Self.read(encoded) == elements, "round \(round): \(encoded)")
        }
    }

    @Test("the append statement: eight arrays in call order, per-append values once, JSON texts unchanged")
    func appendStatement() throws {
        let at = Timestamp(microsecondsSinceEpoch: 0)
        let a = NewEvent(eventID: UUID(), type: "A", data: #"{ "k" : "v\"" }"#, metadata: #"{"actor":"x"}"#, occurredAt: at)
        let b = NewEvent(eventID: UUID(), type: "B", data: "[1,2]", occurredAt: at)
        let statement = EventStore.appendBatchStatement([("s-1", .exact(4), [a, b]), ("t-2", .noStream, [a])])
        #expect(statement.sql.contains("append_events_batch("))
        #expect(statement.parameters.count == 8)
        let arrays = statement.parameters.map { value -> [String?]? in
            if case .text(let text) = value { return Self.read(text) }
            return nil
        }
        #expect(arrays[0] == ["s-1", "t-2"])
        #expect(arrays[1] == ["4", "no_stream"])
        #expect(arrays[2] == ["2", "1"])
        #expect(arrays[3] == [a, b, a].map { $0.eventID.uuidString.lowercased() })
        #expect(arrays[4] == ["A", "B", "A"])
        #expect(arrays[5] == [a.data, b.data, a.data])
        #expect(arrays[6] == [a.metadata, "{}", a.metadata])
        #expect(arrays[7] == Array(repeating: at.iso8601, count: 3))
        let single = EventStore.appendStatement([b], to: "s-1", expected: .any)
        #expect(single.sql == statement.sql)
        #expect(single.parameters[1] == .text(#"{"any"}"#))
    }
}
