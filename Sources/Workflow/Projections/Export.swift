import Foundation

/// What `Connection.export` can write: the event log or a read model.
public enum ExportSource: String, Sendable, CaseIterable {
    case events
    case agreementStatus = "agreement_status"
    case terminationRequests = "termination_requests"
    case boardDocket = "board_docket"
    case agencyTimeline = "agency_timeline"

    /// The query: every column (hashes as hex), in a stable order.
    var sql: String {
        switch self {
        case .events:
            return """
                SELECT global_position, stream_id, stream_version, event_id, event_type, data, metadata,
                       occurred_at, recorded_at, encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash
                FROM events ORDER BY global_position
                """
        case .agreementStatus: return "SELECT * FROM agreement_status ORDER BY agreement_id"
        case .terminationRequests: return "SELECT * FROM termination_requests ORDER BY filed_on, request_id"
        case .boardDocket: return "SELECT * FROM board_docket ORDER BY meeting_on NULLS LAST, filed_on, request_id"
        case .agencyTimeline: return "SELECT * FROM agency_timeline ORDER BY agency_id, global_position"
        }
    }
}

/// Export formats.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// RFC 4180: a header line, CRLF line ends, fields quoted when they contain a comma,
    /// a quote or a line break; SQL NULL is an empty unquoted field, an empty string `""`.
    case csv
    /// One JSON object per line (`row_to_json`): JSON columns embedded as JSON, NULL as null.
    case jsonl
}

/// CSV encoding (RFC 4180).
public enum CSV {
    /// One record, with its CRLF. Nil fields are empty; empty strings are written `""`
    /// so they differ from NULL; fields with a comma, a quote, a line break or
    /// surrounding white space are quoted (quotes doubled).
    public static func record(_ fields: [String?]) -> String {
        fields.map { field -> String in
            guard let field else { return "" }
            let needsQuotes = field.isEmpty || field.first?.isWhitespace == true || field.last?.isWhitespace == true
                || field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline })
            guard needsQuotes else { return field }
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",") + "\r\n"
    }
}

extension Connection {
    /// Writes a whole table or the event log as CSV or JSON lines, read through a
    /// cursor in one read-only repeatable-read transaction (a consistent snapshot,
    /// in batches, so a large log never sits in memory at once).
    /// - Parameters:
    ///   - write: receives the output in chunks, in order.
    /// - Returns: the number of rows written (the CSV header is not counted).
    /// - Throws: `PostgresError`, or what `write` throws.
    @discardableResult
    public func export(_ source: ExportSource, format: ExportFormat, batchSize: Int = 2_000,
                       write: @escaping @Sendable (String) throws -> Void) throws -> Int {
        try transaction("ISOLATION LEVEL REPEATABLE READ READ ONLY") { c in
            try c.exportInTransaction(source, format: format, batchSize: batchSize, write: write)
        }
    }

    /// `export` inside the caller's open transaction (which should be REPEATABLE READ, for
    /// a consistent snapshot): the HTTP server's, already switched into the caller's role.
    @discardableResult
    public func exportInTransaction(_ source: ExportSource, format: ExportFormat, batchSize: Int = 2_000,
                                    write: @escaping @Sendable (String) throws -> Void) throws -> Int {
        do {
            let select = format == .jsonl ? "SELECT row_to_json(t)::text FROM (\(source.sql)) t" : source.sql
            try executeScript("DECLARE sbie_export NO SCROLL CURSOR FOR \(select)")
            var count = 0
            var header = format == .csv
            while true {
                let batch = try query("FETCH \(max(batchSize, 1)) FROM sbie_export", name: "export fetch")
                if header {
                    try write(CSV.record(batch.columns))
                    header = false
                }
                guard !batch.rows.isEmpty else { break }
                var chunk = ""
                for row in batch.rows {
                    switch format {
                    case .csv: chunk += CSV.record(row.values)
                    case .jsonl: chunk += (row.values.first.flatMap { $0 } ?? "null") + "\n"
                    }
                }
                try write(chunk)
                count += batch.rows.count
            }
            try executeScript("CLOSE sbie_export")
            return count
        }
    }
}
