import Foundation

/// A forgiving RFC 4180 reader for ICE's CSV exports: a malformed record is returned
/// with its line and the reason, and reading resumes on the next line, so one bad row
/// (e.g. `"Foo \"Bar\" PD"`, a backslash before a quote, which RFC 4180 does not
/// allow) never costs the rest of the file.
///
/// Accepted: fields separated by `,`; records ended by CRLF or LF; a field in double
/// quotes may hold `,`, line breaks and `""` (one quote). Malformed: a character other
/// than `,` or a line end after a closing quote; a quote inside an unquoted field; a
/// quoted field that never closes (reported at its first line; reading resumes on the
/// line after it).
enum CSVRecords {
    struct Record: Equatable {
        /// Physical line of the record's first character (1-based).
        var line: Int
        var fields: [String]
        /// Why the record is malformed; nil when it is well formed.
        var error: String?
        /// The record's first physical line (for reports).
        var raw: String
    }

    static func read(_ text: String) -> [Record] {
        let bytes = Array(text.utf8)
        let n = bytes.count
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        var records: [Record] = []
        var i = 0
        var line = 1

        func rawLine(from start: Int) -> String {
            var end = start
            while end < n, bytes[end] != lf, bytes[end] != cr { end += 1 }
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
        /// Index just after the line end at or after `index`, counting it.
        func afterLineEnd(_ index: Int) -> Int {
            var j = index
            while j < n, bytes[j] != lf { j += 1 }
            return min(j + 1, n)
        }

        while i < n {
            let recordStart = i
            let startLine = line
            var fields: [String] = []
            var field: [UInt8] = []
            var error: String?
            var ended = false
            while !ended {
                if i >= n { fields.append(String(decoding: field, as: UTF8.self)); break }
                if bytes[i] == quote && field.isEmpty {
                    // Quoted field.
                    i += 1
                    var closed = false
                    while i < n {
                        if bytes[i] == quote {
                            if i + 1 < n, bytes[i + 1] == quote { field.append(quote); i += 2; continue }
                            i += 1
                            closed = true
                            break
                        }
                        if bytes[i] == lf { line += 1 }
                        field.append(bytes[i])
                        i += 1
                    }
                    if !closed {
                        error = "a quoted field is never closed"
                        // Resume on the line after the record's first line.
                        i = afterLineEnd(recordStart)
                        line = startLine + 1
                        break
                    }
                    if i < n, bytes[i] != comma, bytes[i] != cr, bytes[i] != lf {
                        error = "a character follows a closing quote (a backslash before a quote is not CSV escaping; double the quote)"
                        let lineEnd = afterLineEnd(i)
                        if lineEnd > 0, bytes[lineEnd - 1] == lf { line += 1 }
                        i = lineEnd
                        break
                    }
                }
                // Unquoted part (or what follows a closing quote).
                while i < n, bytes[i] != comma, bytes[i] != cr, bytes[i] != lf {
                    if bytes[i] == quote {
                        error = "a quote inside an unquoted field"
                        let lineEnd = afterLineEnd(i)
                        if lineEnd > 0, bytes[lineEnd - 1] == lf { line += 1 }
                        i = lineEnd
                        ended = true
                        break
                    }
                    field.append(bytes[i])
                    i += 1
                }
                if error != nil { break }
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
                if i >= n { break }
                if bytes[i] == comma {
                    i += 1
                    if i >= n { fields.append(""); break }
                    continue
                }
                // Line end: CRLF, LF or a lone CR.
                if bytes[i] == cr { i += 1 }
                if i < n, bytes[i] == lf { i += 1 }
                line += 1
                ended = true
            }
            records.append(Record(line: startLine, fields: error == nil ? fields : [], error: error,
                                  raw: rawLine(from: recordStart)))
        }
        return records
    }
}
