import Foundation

/// Rows in the form `COPY … TO STDOUT` (text format, tab-delimited) gives them, and their
/// comparison as multisets: what the rebuild check uses to compare the rows a fold gives
/// with a live table without a temporary table (`Projections.compareInMemory`).
///
/// The form (PostgreSQL, "COPY", "Text Format"): one line per row, ending in `\n`; columns
/// separated by a tab; NULL as `\N`; in a value, a backslash and the control characters
/// backspace, form feed, newline, carriage return, tab and vertical tab are written as `\\`,
/// `\b`, `\f`, `\n`, `\r`, `\t`, `\v` (exactly the characters the server escapes on output;
/// every other byte is itself). So a line is an injective encoding of its values: two rows
/// give the same line only when every column's text is the same, NULL differing from the
/// empty string.
enum CopyText {
    /// A multiset of lines: one buffer and each line's bounds (without its `\n`), in an
    /// order fixed by `sorted`.
    struct Lines {
        /// The lines' bytes, each line followed by `\n`.
        let bytes: [UInt8]
        /// Per line: a hash of its bytes (to order and compare quickly), its start and end in `bytes`.
        private(set) var entries: [(hash: UInt64, start: Int, end: Int)]

        var count: Int { entries.count }

        /// The lines of `COPY … TO STDOUT` output (every line ends in `\n`; a last line
        /// without one counts as a line too).
        init(copyOutput: [UInt8]) {
            bytes = copyOutput
            entries = []
            var start = 0
            copyOutput.withUnsafeBufferPointer { buffer in
                for index in buffer.indices where buffer[index] == 10 {
                    entries.append((Self.hash(buffer, start, index), start, index))
                    start = index + 1
                }
                if start < buffer.count { entries.append((Self.hash(buffer, start, buffer.count), start, buffer.count)) }
            }
        }

        /// `rows` in the server's output form (nil: SQL NULL).
        init(rows: [[String?]]) {
            var buffer: [UInt8] = []
            buffer.reserveCapacity(rows.count * 128)
            var bounds: [(Int, Int)] = []
            bounds.reserveCapacity(rows.count)
            for row in rows {
                let start = buffer.count
                for (column, value) in row.enumerated() {
                    if column > 0 { buffer.append(9) }
                    guard let value else {
                        buffer.append(92); buffer.append(78)  // \N
                        continue
                    }
                    // Most values need no escape: copied whole.
                    let plain = value.utf8.withContiguousStorageIfAvailable { bytes in
                        guard !bytes.contains(where: { $0 == 92 || ($0 >= 8 && $0 <= 13) }) else { return false }
                        buffer.append(contentsOf: bytes)
                        return true
                    }
                    if plain == true { continue }
                    for byte in value.utf8 {
                        switch byte {
                        case 92: buffer.append(92); buffer.append(92)
                        case 8: buffer.append(92); buffer.append(98)    // \b
                        case 9: buffer.append(92); buffer.append(116)   // \t
                        case 10: buffer.append(92); buffer.append(110)  // \n
                        case 11: buffer.append(92); buffer.append(118)  // \v
                        case 12: buffer.append(92); buffer.append(102)  // \f
                        case 13: buffer.append(92); buffer.append(114)  // \r
                        default: buffer.append(byte)
                        }
                    }
                }
                bounds.append((start, buffer.count))
                buffer.append(10)
            }
            bytes = buffer
            entries = buffer.withUnsafeBufferPointer { b in bounds.map { (Self.hash(b, $0.0, $0.1), $0.0, $0.1) } }
        }

        /// A 64-bit hash of the line, eight bytes a step (then FNV-1a for the tail): only an
        /// ordering aid; equal lines are decided by their bytes.
        private static func hash(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt64 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(end - start)
            guard let base = buffer.baseAddress, start < end, end <= buffer.count, start >= 0 else { return hash }
            let raw = UnsafeRawPointer(base)
            var index = start
            while index + 8 <= end {
                hash = (hash ^ raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0x9e37_79b9_7f4a_7c15
                hash ^= hash >> 29
                index += 8
            }
            while index < end {
                hash = (hash ^ UInt64(base[index])) &* 0x100_0000_01b3
                index += 1
            }
            return hash
        }

        /// The lines in a total order: by hash, then by bytes.
        func sorted() -> Lines {
            var copy = self
            bytes.withUnsafeBufferPointer { buffer in
                copy.entries.sort { Self.order(buffer, $0, buffer, $1) < 0 }
            }
            return copy
        }

        /// Negative, zero or positive as line `a` (in `ab`) orders before, equal to or after `b` (in `bb`).
        static func order(_ ab: UnsafeBufferPointer<UInt8>, _ a: (hash: UInt64, start: Int, end: Int),
                          _ bb: UnsafeBufferPointer<UInt8>, _ b: (hash: UInt64, start: Int, end: Int)) -> Int {
            if a.hash != b.hash { return a.hash < b.hash ? -1 : 1 }
            let la = a.end - a.start, lb = b.end - b.start
            let common = min(la, lb)
            if common > 0, let pa = ab.baseAddress, let pb = bb.baseAddress {
                let c = memcmp(pa + a.start, pb + b.start, common)
                if c != 0 { return Int(c) }
            }
            return la == lb ? 0 : (la < lb ? -1 : 1)
        }
    }

    /// How many lines differ between two multisets: lines of `a` without a twin in `b` plus
    /// lines of `b` without a twin in `a` (for each distinct line, |copies in a - copies in b|
    /// summed; what `a EXCEPT ALL b` plus `b EXCEPT ALL a` count). Sorts both, then one merge.
    static func differing(_ a: Lines, _ b: Lines) -> Int {
        let a = a.sorted(), b = b.sorted()
        return a.bytes.withUnsafeBufferPointer { ab in
            b.bytes.withUnsafeBufferPointer { bb in
                var i = 0, j = 0, differ = 0
                while i < a.entries.count && j < b.entries.count {
                    let order = Lines.order(ab, a.entries[i], bb, b.entries[j])
                    if order == 0 {
                        i += 1; j += 1
                    } else if order < 0 {
                        differ += 1; i += 1
                    } else {
                        differ += 1; j += 1
                    }
                }
                return differ + (a.entries.count - i) + (b.entries.count - j)
            }
        }
    }
}
