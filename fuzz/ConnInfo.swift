// libFuzzer target: connection strings and postgres:// URLs as sbie rewrites them
// (Sources/Workflow/Postgres/ConnectionString.swift, pure Foundation).
// Input: conninfo, a NUL byte, then a database or user name.
// Checks, besides "no crash": in the key/value form, the appended value is quoted so
// that libpq's rules (backslash escapes, a quote ends the value) read back the name.
import Foundation

/// libpq's reading of a single-quoted value starting at `text` (after the quote).
private func unquote(_ text: Substring) -> (value: String, rest: Substring)? {
    var value = ""
    var index = text.startIndex
    while index < text.endIndex {
        let character = text[index]
        if character == "\\" {
            index = text.index(after: index)
            guard index < text.endIndex else { return nil }
            value.append(text[index])
        } else if character == "'" {
            return (value, text[text.index(after: index)...])
        } else {
            value.append(character)
        }
        index = text.index(after: index)
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
        let prefix = conninfo.isEmpty ? "dbname='" : conninfo + " dbname='"
        guard withDatabase.hasPrefix(prefix), let read = unquote(withDatabase.dropFirst(prefix.count)),
              read.value == name, read.rest.isEmpty else {
            fatalError("dbname is not quoted so that libpq reads it back: \(withDatabase)")
        }
        guard withUser.hasPrefix(conninfo) else { fatalError("user replacement lost the conninfo: \(withUser)") }
    }
    return 0
}
