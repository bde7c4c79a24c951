import Foundation

/// The version a stream must be at for an append to succeed (optimistic concurrency).
public enum ExpectedVersion: Sendable, Hashable, CustomStringConvertible {
    /// No check.
    case any
    /// The stream must not exist yet (version 0).
    case noStream
    /// The stream must have at least one event.
    case streamExists
    /// The stream's last event must have exactly this version (0: the stream is empty).
    case exact(Int)

    /// The form `append_events` takes: `any`, `no_stream`, `stream_exists` or a number.
    public var description: String {
        switch self {
        case .any: return "any"
        case .noStream: return "no_stream"
        case .streamExists: return "stream_exists"
        case .exact(let version): return String(version)
        }
    }
}

/// An event to append. `data` and `metadata` are JSON texts, stored byte for byte.
public struct NewEvent: Sendable, Equatable {
    /// Unique across the log; appending the same id again is idempotent.
    public var eventID: UUID
    /// Past tense, e.g. `TerminationRequestSubmitted`.
    public var type: String
    /// A JSON document (usually an object).
    public var data: String
    /// A JSON object: actor, command id, correlation.
    public var metadata: String
    /// Legal time: when it happened according to the actor (UTC instant, microseconds).
    public var occurredAt: Timestamp

    public init(eventID: UUID = UUID(), type: String, data: String, metadata: String = "{}", occurredAt: Timestamp) {
        self.eventID = eventID
        self.type = type
        self.data = data
        self.metadata = metadata
        self.occurredAt = occurredAt
    }
}

/// An event as stored.
public struct RecordedEvent: Sendable, Equatable {
    /// Dense position in the whole log, from 1, in commit order.
    public var globalPosition: Int64
    public var streamID: String
    /// Position within the stream, from 1.
    public var streamVersion: Int
    public var eventID: UUID
    public var type: String
    public var data: String
    public var metadata: String
    /// Legal time, given by the actor.
    public var occurredAt: Timestamp
    /// Log time, the database clock at append.
    public var recordedAt: Timestamp
    /// SHA-256 of the previous event (32 zero bytes for position 1).
    public var prevHash: [UInt8]
    /// SHA-256 over `prevHash` and this event's canonical encoding (see `HashChain`).
    public var hash: [UInt8]

    /// The part of the stream id before the first `-` (`agreement`, `request`, …).
    public var category: String { streamCategory(streamID) }
}

/// The category of a stream id: the part before the first `-`.
public func streamCategory(_ streamID: String) -> String {
    streamID.firstIndex(of: "-").map { String(streamID[..<$0]) } ?? streamID
}

/// Where an appended event landed.
public struct AppendedEvent: Sendable, Equatable {
    public var eventID: UUID
    public var globalPosition: Int64
    public var streamVersion: Int
}

/// A refused append.
public enum EventStoreError: Error, CustomStringConvertible, Equatable {
    /// The stream was not at the expected version (SQLSTATE ES001).
    case wrongExpectedVersion(stream: String, expected: String, actual: Int)
    /// Some of the event ids are stored, but not as exactly this append (SQLSTATE ES002).
    case idempotencyConflict(stream: String, message: String)

    public var description: String {
        switch self {
        case .wrongExpectedVersion(let stream, let expected, let actual):
            return "wrong expected version for stream \(stream): expected \(expected), actual \(actual)"
        case .idempotencyConflict(_, let message):
            return message
        }
    }

    /// Maps the append function's SQLSTATEs to typed errors; other errors pass through.
    static func map(_ error: any Error, stream: String) -> any Error {
        guard let error = error as? PostgresError else { return error }
        switch error.sqlState {
        case PostgresError.State.wrongExpectedVersion:
            var fields: [String: String] = [:]
            for pair in (error.detail ?? "").split(separator: " ") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
            }
            return EventStoreError.wrongExpectedVersion(
                stream: stream, expected: fields["expected"] ?? "?", actual: Int(fields["actual"] ?? "") ?? -1)
        case PostgresError.State.idempotencyConflict:
            return EventStoreError.idempotencyConflict(stream: stream, message: error.message)
        default:
            return error
        }
    }
}

/// Escapes a string as a JSON string literal (with the quotes).
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                + String(scalar.value, radix: 16)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// Which relation a read of the whole log uses.
public enum EventLogView: String, Sendable {
    /// `events` itself (logins with log access: board staff, registrar, auditor, daemon, owner).
    case events
    /// `public_events` (0011): the same rows with the metadata's `actor` (a login name)
    /// replaced by `{"role", "agency_id"}`; what the public role `web_anon` (and clerks) may read.
    case publicEvents = "public_events"
}

/// The event log: appends (expected version, idempotent retry) through `append_events`, and
/// reads by stream, position, category and type. Every method takes the connection it runs
/// on last (`on connection: isolated Connection`): one hop from outside, none inside a transaction.
public enum EventStore {
    static let eventColumns = """
        global_position, stream_id, stream_version, event_id, event_type, data::text, metadata::text,
        occurred_at, recorded_at, prev_hash, hash
        """

    /// The statement that appends `events` to one stream (`append_events_batch`'s array overload, 0017).
    /// Exposed so callers can pipeline many appends in one round trip.
    public static func appendStatement(
        _ events: [NewEvent], to stream: String, expected: ExpectedVersion
    ) -> Statement {
        appendBatchStatement([(stream, expected, events)])
    }

    /// The statement that appends to many streams at once, in order (each expected version is
    /// checked against the stream's version after the appends before it), through
    /// `append_events_batch`'s array overload (0017): the request as eight parallel PostgreSQL arrays, bound
    /// as array parameters, so no JSON document is built here nor parsed by the server. Per
    /// append: stream id, expected version (`ExpectedVersion.description`), event count; per
    /// event, in call order: id, type, data and metadata (JSON texts, stored and hashed byte
    /// for byte), occurred-at. Rows returned: `event_id, global_position, stream_version`,
    /// one per event in call order (see `appended(_:)`).
    public static func appendBatchStatement(
        _ appends: [(stream: String, expected: ExpectedVersion, events: [NewEvent])]
    ) -> Statement {
        var streams: [String] = [], expected: [String] = [], counts: [Int] = []
        streams.reserveCapacity(appends.count)
        expected.reserveCapacity(appends.count)
        counts.reserveCapacity(appends.count)
        let total = appends.reduce(0) { $0 + $1.events.count }
        var ids: [UUID] = [], types: [String] = [], data: [String] = [], metadata: [String] = []
        var occurred: [Timestamp] = []
        ids.reserveCapacity(total)
        types.reserveCapacity(total)
        data.reserveCapacity(total)
        metadata.reserveCapacity(total)
        occurred.reserveCapacity(total)
        for append in appends {
            streams.append(append.stream)
            expected.append(append.expected.description)
            counts.append(append.events.count)
            for event in append.events {
                ids.append(event.eventID)
                types.append(event.type)
                data.append(event.data)
                metadata.append(event.metadata)
                occurred.append(event.occurredAt)
            }
        }
        return Statement(
            """
            SELECT event_id, global_position, stream_version FROM append_events_batch(
                $1::text[], $2::text[], $3::integer[], $4::uuid[], $5::text[], $6::json[], $7::json[], $8::timestamptz[])
            """,
            [PostgresArray(streams), PostgresArray(expected), PostgresArray(counts), PostgresArray(ids),
             PostgresArray(types), PostgresArray(data), PostgresArray(metadata), PostgresArray(occurred)])
    }

    /// Decodes the rows `append_events` returns.
    public static func appended(_ result: QueryResult) throws -> [AppendedEvent] {
        try result.rows.map {
            AppendedEvent(eventID: try $0.decode(0), globalPosition: try $0.decode(1), streamVersion: try $0.decode(2))
        }
    }

    /// Appends events to one stream, atomically, through the `append_events_batch` SQL function (array overload).
    ///
    /// - Parameters:
    ///   - events: one or more events, appended in order at consecutive stream versions.
    ///   - stream: `<category>-<id>`.
    ///   - expected: the version the stream must be at.
    /// - Returns: each event's global position and stream version. When every event id
    ///   is already stored as exactly this append, the original positions (idempotent retry).
    /// - Throws: `EventStoreError.wrongExpectedVersion`, `.idempotencyConflict`, or `PostgresError`.
    @discardableResult
    public static func append(
        _ events: [NewEvent], to stream: String, expected: ExpectedVersion, on connection: isolated Connection
    ) throws -> [AppendedEvent] {
        let statement = Self.appendStatement(events, to: stream, expected: expected)
        do {
            return try Self.appended(connection.query(statement.sql, statement.parameters, name: "append_events"))
        } catch {
            throw EventStoreError.map(error, stream: stream)
        }
    }

    /// Reads one stream forward from `version` (inclusive), at most `limit` events.
    public static func readStream(
        _ stream: String, from version: Int = 1, limit: Int = 10_000, on connection: isolated Connection
    ) throws -> [RecordedEvent] {
        try events(where: "stream_id = $1 AND stream_version >= $2", orderBy: "stream_version",
                   [stream, version, limit], name: "read stream", on: connection)
    }

    /// Reads the whole log forward from after `position` (exclusive), at most `limit` events.
    /// Positions are dense, so a reader resuming from its last position misses nothing.
    /// - Parameter view: `.publicEvents` for a role without log access (the rows are the same).
    public static func readAll(
        after position: Int64 = 0, limit: Int = 10_000, view: EventLogView = .events, on connection: isolated Connection
    ) throws -> [RecordedEvent] {
        try events(where: "global_position > $1", [position, limit], name: "read all", from: view, on: connection)
    }

    /// Reads the events of one category (`agreement`, `request`, …) after `position`.
    public static func readCategory(
        _ category: String, after position: Int64 = 0, limit: Int = 10_000, on connection: isolated Connection
    ) throws -> [RecordedEvent] {
        try events(where: "split_part(stream_id, '-', 1) = $1 AND global_position > $2",
                   [category, position, limit], name: "read category", on: connection)
    }

    /// Reads the events of one type after `position`.
    public static func readByType(
        _ type: String, after position: Int64 = 0, limit: Int = 10_000, on connection: isolated Connection
    ) throws -> [RecordedEvent] {
        try events(where: "event_type = $1 AND global_position > $2", [type, position, limit], name: "read by type",
                   on: connection)
    }

    /// Events matching `condition`, in `orderBy` order, at most the last parameter's count
    /// (`LIMIT` takes the last placeholder).
    private static func events(
        where condition: String, orderBy: String = "global_position", _ parameters: [any PostgresEncodable],
        name: String, from view: EventLogView = .events, on connection: isolated Connection
    ) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        try connection.readPages(
            "SELECT \(eventColumns) FROM \(view.rawValue) WHERE \(condition) ORDER BY \(orderBy) LIMIT $\(parameters.count)",
            name: name, first: parameters, next: { _ in nil }
        ) { rows in
            events = try decodeEvents(rows)
            return true
        }
        return events
    }

    /// The highest global position (0 for an empty log).
    public static func lastPosition(on connection: isolated Connection) throws -> Int64 {
        try connection.query("SELECT coalesce(max(global_position), 0) FROM events", name: "last position").rows[0].decode(0)
    }

    /// A stream's current version (0 when it has no events).
    public static func streamVersion(_ stream: String, on connection: isolated Connection) throws -> Int {
        try connection.query("SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", [stream])
            .rows[0].decode(0)
    }

    /// Decodes rows of `eventColumns` in place (no `String` per value but the texts kept).
    /// - Throws: `PostgresDecodingError` naming the column whose value is NULL or malformed.
    static func decodeEvents(_ rows: ResultRows) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        events.reserveCapacity(rows.count)
        for row in 0..<rows.count {
            func value<T>(_ column: Int, _ type: String, _ decode: (UnsafeRawBufferPointer) -> T?) throws -> T {
                guard !rows.isNull(row, column) else {
                    throw PostgresDecodingError(column: rows.columnName(column), expectedType: type, reason: "value is NULL")
                }
                guard let value = decode(rows.bytes(row, column)) else {
                    throw PostgresDecodingError(column: rows.columnName(column), expectedType: type, reason: "malformed \(type)")
                }
                return value
            }
            func text(_ column: Int) throws -> String { try value(column, "String") { String(decoding: $0, as: UTF8.self) } }
            events.append(RecordedEvent(
                globalPosition: try value(0, "Int64") { PostgresText.integer($0) },
                streamID: try text(1), streamVersion: try value(2, "Int") { PostgresText.integer($0) },
                eventID: try value(3, "UUID", PostgresText.uuid), type: try text(4), data: try text(5), metadata: try text(6),
                occurredAt: try value(7, "Timestamp") { Timestamp(parsing: $0) },
                recordedAt: try value(8, "Timestamp") { Timestamp(parsing: $0) },
                prevHash: try value(9, "bytea", PostgresText.bytea), hash: try value(10, "bytea", PostgresText.bytea)))
        }
        return events
    }

    static func decodeEvents(_ result: QueryResult) throws -> [RecordedEvent] {
        try result.rows.map { row in
            RecordedEvent(
                globalPosition: try row.decode(0), streamID: try row.decode(1), streamVersion: try row.decode(2),
                eventID: try row.decode(3), type: try row.decode(4), data: try row.decode(5),
                metadata: try row.decode(6), occurredAt: try row.decode(7), recordedAt: try row.decode(8),
                prevHash: try row.decode(9), hash: try row.decode(10))
        }
    }
}
