import Foundation
import Testing
@testable import Workflow

/// The decoders a fold and a verification use on values read in place (`PostgresText`,
/// `Timestamp(parsing:)` over bytes, `Timestamp.withISO8601Bytes`) agree with the
/// `String`-based ones they replace.
@Suite struct InPlaceDecodingTests {
    static func bytes<T>(_ text: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        Array(text.utf8).withUnsafeBytes(body)
    }

    @Test func integersAsInt64Parses() {
        for text in ["0", "1", "-1", "+7", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
                     "", "-", "1a", " 1", "12 ", "0x10", "٣"] {
            #expect(Self.bytes(text) { PostgresText.integer($0, as: Int64.self) } == Int64(text), "\(text)")
            #expect(Self.bytes(text) { PostgresText.integer($0, as: Int32.self) } == Int32(text), "\(text)")
        }
    }

    @Test func uuidsAndByteaAsTheStringDecodersDo() throws {
        for text in ["0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0",
                     "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg", ""] {
            #expect(Self.bytes(text, PostgresText.uuid) == UUID(uuidString: text), "\(text)")
        }
        for text in [#"\x"#, #"\x00ff10Ab"#, #"\x0"#, #"\x0g"#, "00ff", #"\X00"#, #"\x:0"#, #"\x`0"#, #"\xG0"#] {
            #expect(Self.bytes(text, PostgresText.bytea) == (try? [UInt8](postgresText: text)), "\(text)")
        }
        #expect(Self.bytes(#"\x00ff10Ab"#, PostgresText.bytea) == [0x00, 0xff, 0x10, 0xab])
    }

    @Test func timestampsParseAndFormatAsBefore() {
        for text in ["2025-11-03 05:00:00.5+00", "2025-11-03 05:00:00+00:00", "2025-11-03T05:00:00.123456Z",
                     "1969-12-31 23:59:59.999999+00", "2025-11-03 05:00:00+01", "2025-11-03 05:00:00", "2025-13-03 05:00:00+00"] {
            #expect(Self.bytes(text) { Timestamp(parsing: $0) } == Timestamp(parsing: text), "\(text)")
        }
        #expect(Timestamp(parsing: "2025-11-03 05:00:00.5+00")?.iso8601 == "2025-11-03T05:00:00.500000Z")
        #expect(Timestamp(parsing: "2025-11-03 05:00:00+01") == nil)
        for micros: Int64 in [0, 1, -1, 1_762_146_000_500_000, -62_135_596_800_000_000, 253_402_300_799_999_999, 4_102_444_800_000_001] {
            let t = Timestamp(microsecondsSinceEpoch: micros)
            #expect(t.withISO8601Bytes { String(decoding: $0, as: UTF8.self) } == t.iso8601, "\(micros)")
        }
    }
}
