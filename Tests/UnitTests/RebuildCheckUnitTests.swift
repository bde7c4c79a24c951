import Foundation
import Testing
@testable import Workflow

@Suite struct CopyTextTests {
    @Test("lines are COPY's text form: tab between columns, \\N for NULL, escapes for backslash and control characters")
    func form() {
        let lines = CopyText.Lines(rows: [["a\tb", nil, "", "x\\y\n\r\u{8}\u{b}\u{c}\u{1}"]])
        #expect(String(decoding: lines.bytes, as: UTF8.self) == "a\\tb\t\\N\t\tx\\\\y\\n\\r\\b\\v\\f\u{1}\n")
        #expect(lines.count == 1)
    }

    @Test("differing counts rows as multisets, in either direction (EXCEPT ALL both ways)")
    func multisets() {
        let a: [[String?]] = [["1", "x"], ["1", "x"], ["2", nil], ["3", ""]]
        #expect(CopyText.differing(CopyText.Lines(rows: a), CopyText.Lines(rows: a.shuffled())) == 0)
        #expect(CopyText.differing(CopyText.Lines(rows: a), CopyText.Lines(rows: [["1", "x"], ["2", nil], ["3", ""]])) == 1)
        #expect(CopyText.differing(CopyText.Lines(rows: a), CopyText.Lines(rows: a + [["1", "x"]])) == 1)
        #expect(CopyText.differing(CopyText.Lines(rows: a), CopyText.Lines(rows: [["1", "x"], ["1", "x"], ["2", ""], ["3", nil]])) == 4)
        #expect(CopyText.differing(CopyText.Lines(rows: []), CopyText.Lines(rows: a)) == 4)
        #expect(CopyText.differing(CopyText.Lines(rows: []), CopyText.Lines(rows: [])) == 0)
        // A tab inside a value is not a column boundary.
        #expect(CopyText.differing(CopyText.Lines(rows: [["a\tb"]]), CopyText.Lines(rows: [["a", "b"]])) == 2)
        // Lines read back from COPY output, with and without a final newline.
        let bytes = Array("1\tx\n2\t\\N\n".utf8)
        #expect(CopyText.differing(CopyText.Lines(copyOutput: bytes), CopyText.Lines(rows: [["2", nil], ["1", "x"]])) == 0)
        #expect(CopyText.Lines(copyOutput: Array(bytes.dropLast())).count == 2)
        #expect(CopyText.Lines(copyOutput: []).count == 0)
    }

    @Test("long lines with equal hashes' prefixes: decided by their bytes")
    func longLines() {
        let long = String(repeating: "bench-police-department-", count: 20)
        let rows: [[String?]] = (0..<500).map { [long + String($0), "2025-03-10"] }
        #expect(CopyText.differing(CopyText.Lines(rows: rows), CopyText.Lines(rows: rows.reversed())) == 0)
        var changed = rows
        changed[250][0] = long + "250 "
        #expect(CopyText.differing(CopyText.Lines(rows: rows), CopyText.Lines(rows: changed)) == 2)
    }
}

@Suite struct SlugFastPathTests {
    /// The ASCII fast path as it was (array of words, then expanded and joined): the reference.
    static func reference(_ name: String) -> String {
        var words: [String] = []
        var current: [UInt8] = []
        func flush() {
            if !current.isEmpty { words.append(String(decoding: current, as: UTF8.self)) }
            current.removeAll(keepingCapacity: true)
        }
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): current.append(byte)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): current.append(byte + 32)
            case UInt8(ascii: "'"), UInt8(ascii: "`"): continue
            case UInt8(ascii: "&"): flush(); words.append("and")
            default: flush()
            }
        }
        flush()
        return words.flatMap { AgencyID.abbreviations[$0] ?? [$0] }.joined(separator: "-")
    }

    @Test("every abbreviation key is a 2-4 character lower-case ASCII word (the fast path looks up only those)")
    func abbreviationKeysFitTheFastPath() {
        for key in AgencyID.abbreviations.keys {
            #expect((2...4).contains(key.utf8.count) && key.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) },
                    "\(key)")
        }
    }

    @Test("the one-buffer ASCII slug equals the word-array one on random names")
    func sameAsReference() {
        let pieces = ["Ft", "PD", "so", "SO", "Dept", "co", "BOCC", "and", "&", "'", "`", " ", "-", ".", ",", "a", "Z9", "Sheriff's",
                      "Office", "County", "x", "  ", "&&", "bocc.", "co-", "dept'"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let name = (0..<Int.random(in: 0...8, using: &generator)).map { _ in pieces.randomElement(using: &generator) ?? "" }
                .joined(separator: Bool.random(using: &generator) ? " " : "")
            #expect(AgencyID.slug(of: name) == Self.reference(name), "\(name)")
        }
    }
}
