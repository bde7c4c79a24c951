// libFuzzer target: connection strings and postgres:// URLs as sbie rewrites them
// (Sources/Workflow/Postgres/ConnectionString.swift, pure Foundation).
// Input: conninfo, a NUL byte, then a database or user name.
// Checks, besides "no crash": in the key/value form, the appended value is quoted so
// that libpq's rules (backslash escapes, a quote ends the value) read back the name.
import Foundation

/// libpq's reading of a single-quoted value starting at `text` (after the quote), byte
/// by byte as libpq does (a Character view would merge a quote with a following
/// combining mark).
private func unquote(_ text: ArraySlice<UInt8>) -> (value: [UInt8], rest: ArraySlice<UInt8>)? {
    var value: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let byte = text[index]
        if byte == UInt8(ascii: "\\") {
            index += 1
            guard index < text.endIndex else { return nil }
            value.append(text[index])
        } else if byte == UInt8(ascii: "'") {
            return (value, text[(index + 1)...])
        } else {
            value.append(byte)
        }
        index += 1
    }
    return nil
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConnInfo(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: bytes, count: size))
    let split = input.firstIndex(of: 0) ?? input.count
    let conninfo = String(decoding: input[..<split], as: UTF8.self)
    let name = split < input.count ? String(decoding: input[(split + 1)...], as: UTF8.self) : "db"
    let withDatabase = ConnectionString.replacingDatabase(in: conninfo, with: name)
    let withUser = ConnectionString.replacingUser(in: conninfo, with: name, password: name)
    let isURL = conninfo.hasPrefix("postgres://") || conninfo.hasPrefix("postgresql://")
    if !isURL {
        let prefix = Array((conninfo.isEmpty ? "dbname='" : conninfo + " dbname='").utf8)
        let result = Array(withDatabase.utf8)
        guard result.starts(with: prefix), let read = unquote(result[prefix.count...]),
              read.value == Array(name.utf8), read.rest.isEmpty else {
            fatalError("dbname is not quoted so that libpq reads it back: \(withDatabase)")
        }
        guard Array(withUser.utf8).starts(with: Array(conninfo.utf8)) else { fatalError("user replacement lost the conninfo: \(withUser)") }
    }
    return 0
}
