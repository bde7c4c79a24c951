import Crypto
import Foundation

/// The hash chain, computed in Swift independently of the SQL `event_hash` function.
///
/// `hash = SHA-256(prevHash || field(position) || field(stream) || field(version)
/// || field(eventID) || field(type) || field(data) || field(metadata) || field(occurredAt))`
/// where `field(x)` is the 4-byte big-endian length of x's UTF-8 bytes followed by
/// those bytes; numbers are decimal; the UUID is lowercase; `occurredAt` is
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC); the first event's `prevHash` is 32 zero bytes.
/// (Documented identically in `Sql/0001_event_store.sql`.)
public enum HashChain {
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The hash the event should carry, given the previous event's hash.
    public static func hash(of event: RecordedEvent, previous: [UInt8]) -> [UInt8] {
        hash(previous: previous, fields: [
            Array(String(event.globalPosition).utf8), Array(event.streamID.utf8), Array(String(event.streamVersion).utf8),
            Array(event.eventID.uuidString.lowercased().utf8), Array(event.type.utf8), Array(event.data.utf8),
            Array(event.metadata.utf8), Array(event.occurredAt.iso8601.utf8),
        ])
    }

    /// The hash over `previous` and the eight fields' bytes exactly as given, in the
    /// order position, stream, version, event id, type, data, metadata, occurred at
    /// (each already in its canonical text form). Offline verification hashes the
    /// bytes it read this way, without decoding them into types.
    public static func hash(previous: [UInt8], fields: [ArraySlice<UInt8>]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        for field in fields {
            let length = UInt32(truncatingIfNeeded: field.count).bigEndian
            withUnsafeBytes(of: length) { hasher.update(bufferPointer: $0) }
            field.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        return Array(hasher.finalize())
    }

    /// Adds one field to a hash being computed: its 4-byte big-endian length, then its bytes.
    static func update(_ hasher: inout SHA256, field: UnsafeRawBufferPointer) {
        let length = UInt32(truncatingIfNeeded: field.count).bigEndian
        withUnsafeBytes(of: length) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: field)
    }

    /// `hash(previous:fields:)` for whole arrays.
    public static func hash(previous: [UInt8], fields: [[UInt8]]) -> [UInt8] {
        hash(previous: previous, fields: fields.map { $0[...] })
    }
}

/// What `verify` found. The log is intact when `isIntact`.
public struct VerificationReport: Sendable, Equatable, Codable {
    /// Events read.
    public var eventsChecked: Int = 0
    /// The highest position read.
    public var lastPosition: Int64 = 0
    /// The first position whose stored hash, or stored previous hash, is not what the chain gives.
    public var firstHashMismatch: Int64?
    /// Missing position ranges, e.g. `[5...5]` when position 5 is gone.
    public var gaps: [ClosedRange<Int64>] = []
    /// Streams whose versions are not exactly 1, 2, …, n in position order.
    public var streamsWithBadVersions: [String] = []

    public var isIntact: Bool { firstHashMismatch == nil && gaps.isEmpty && streamsWithBadVersions.isEmpty }

    enum CodingKeys: String, CodingKey {
        case eventsChecked = "events_checked", lastPosition = "last_position", firstHashMismatch = "first_hash_mismatch"
        case gaps, streamsWithBadVersions = "streams_with_bad_versions"
    }

    /// One line per finding, or `OK …` when intact.
    public var summary: String {
        if isIntact { return "OK: \(eventsChecked) events verified, positions 1…\(lastPosition) dense, hash chain intact" }
        var lines = ["FAILED: \(eventsChecked) events checked"]
        if let firstHashMismatch { lines.append("hash chain broken at position \(firstHashMismatch)") }
        for gap in gaps {
            lines.append(gap.count == 1 ? "gap: position \(gap.lowerBound) missing"
                : "gap: positions \(gap.lowerBound)…\(gap.upperBound) missing")
        }
        for stream in streamsWithBadVersions { lines.append("stream \(stream): versions are not 1..n") }
        return lines.joined(separator: "\n")
    }
}

/// Verifies the live log's hash chain, positions and stream versions (see `HashChain`);
/// the offline verifier of an export is `ExportVerifier`.
public enum ChainVerifier {
    /// Rereads the whole log in position order and checks it: dense positions from 1,
    /// each stream's versions 1..n, and every hash recomputed in Swift.
    /// - Parameters:
    ///   - batchSize: events per read.
    ///   - view: `.publicEvents` for a role without log access: the public view replaces the
    ///     login names that each hash covers, so hashes are not recomputed; each event's
    ///     `prev_hash` is still checked against the hash before it (the chain's links).
    /// - Throws: `PostgresError` when the log cannot be read.
    public static func verify(batchSize: Int = 5_000, view: EventLogView = .events, on connection: isolated Connection) throws -> VerificationReport {
        var report = VerificationReport()
        var previousHash = HashChain.genesis
        var expectedPosition: Int64 = 1
        var streamVersions: [String: Int] = [:]
        var badStreams = Set<String>()
        // Every row is checked in place, in libpq's buffer: the hashed fields are the bytes the
        // server sent (int8, int4 and uuid output are already the canonical decimal and
        // lower-case forms `HashChain` specifies; occurred_at is reformatted), so no `String`
        // is made but the stream id. The next page is on its way while this one is hashed.
        let pageSize = max(batchSize, 1)
        let sql = """
            SELECT \(EventStore.eventColumns) FROM \(view.rawValue) WHERE global_position > $1
            ORDER BY global_position LIMIT $2
            """
        try connection.readPages(
            sql, name: "verify", first: [Int64(0), pageSize],
            next: { rows in
                guard rows.count == pageSize, let end = PostgresText.integer(rows.bytes(rows.count - 1, 0), as: Int64.self)
                else { return nil }
                return [end, pageSize]
            }
        ) { rows in
            for row in 0..<rows.count {
                if row & 255 == 255 { rows.absorbInput() }
                func value<T>(_ column: Int, _ type: String, _ decode: (UnsafeRawBufferPointer) -> T?) throws -> T {
                    guard !rows.isNull(row, column), let value = decode(rows.bytes(row, column)) else {
                        throw PostgresDecodingError(column: rows.columnName(column), expectedType: type, reason: "NULL or malformed")
                    }
                    return value
                }
                let position = try value(0, "Int64") { PostgresText.integer($0, as: Int64.self) }
                let streamID = rows.string(row, 1)
                let streamVersion = try value(2, "Int") { PostgresText.integer($0, as: Int.self) }
                let prevHash = try value(9, "bytea", PostgresText.bytea), hash = try value(10, "bytea", PostgresText.bytea)
                if position != expectedPosition {
                    report.gaps.append(expectedPosition...(position - 1))
                }
                if report.firstHashMismatch == nil {
                    var broken = prevHash != previousHash
                    if !broken && view == .events {
                        let occurredAt = try value(7, "Timestamp") { Timestamp(parsing: $0) }
                        _ = try value(3, "UUID", PostgresText.uuid)  // the stored text is the canonical form
                        var hasher = SHA256()
                        hasher.update(data: prevHash)
                        for column in 0..<7 { HashChain.update(&hasher, field: rows.bytes(row, column)) }
                        occurredAt.withISO8601Bytes { HashChain.update(&hasher, field: $0) }
                        broken = !hasher.finalize().elementsEqual(hash)
                    }
                    if broken { report.firstHashMismatch = position }
                }
                let version = streamVersions[streamID, default: 0] + 1
                if streamVersion != version { badStreams.insert(streamID) }
                streamVersions[streamID] = streamVersion
                previousHash = hash
                expectedPosition = position + 1
                report.eventsChecked += 1
                report.lastPosition = position
            }
            return true
        }
        report.streamsWithBadVersions = badStreams.sorted()
        return report
    }
}
