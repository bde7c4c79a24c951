import Foundation
import Testing
@testable import Workflow

/// Inputs found by `scripts/fuzz` (fuzz/*.swift), kept as unit tests with their fix.
@Suite struct FuzzRegressionTests {
    /// fuzz/ConnInfo.swift, crash 988d9665: a database name with NUL characters and quotes
    /// came back wrongly escaped from Foundation's `replacingOccurrences`; the value is
    /// now quoted scalar by scalar.
    @Test func databaseNameWithNulAndQuotesIsQuotedExactly() {
        let input: [UInt8] = [
            0x68, 0x6f, 0x6d, 0x30, 0xf6, 0x62, 0x65, 0x00, 0x68, 0x6f, 0x6d, 0x30, 0xf6, 0x62, 0x65, 0x00,
            0x40, 0x27, 0x6d, 0x30, 0xf6, 0x62, 0x65, 0x00, 0x40, 0x27, 0xd8, 0x97, 0x90, 0x92, 0xcf, 0x09,
            0x9d, 0x9a, 0x00, 0x68, 0x6f, 0x6d, 0x30, 0xf6, 0x62, 0x65, 0x00, 0x40, 0x27, 0x6d, 0x30, 0xf6,
            0x62, 0x65, 0x00, 0x40, 0x27, 0x27, 0x27, 0x27, 0x27, 0x27, 0x69, 0x27,
        ]
        let split = input.firstIndex(of: 0) ?? input.count
        let conninfo = String(decoding: input[..<split], as: UTF8.self)
        let name = String(decoding: input[(split + 1)...], as: UTF8.self)
        var escaped = ""
        for scalar in name.unicodeScalars {
            if scalar == "'" || scalar == "\\" { escaped.unicodeScalars.append("\\") }
            escaped.unicodeScalars.append(scalar)
        }
        #expect(Array(ConnectionString.replacingDatabase(in: conninfo, with: name).utf8)
                == Array("\(conninfo) dbname='\(escaped)'".utf8))
        #expect(ConnectionString.replacingDatabase(in: "host=x", with: "a\u{0}b'c\\d") == "host=x dbname='a\u{0}b\\'c\\\\d'")
        #expect(ConnectionString.replacingUser(in: "", with: "o'k", password: "p\\w") == "user='o\\'k' password='p\\\\w'")
    }
}
