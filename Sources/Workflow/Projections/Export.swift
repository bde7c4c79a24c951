import Foundation

/// What `Exporter.export` can write: the event log or a read model.
public enum ExportSource: String, Sendable, CaseIterable {
    case events
    case agreementStatus = "agreement_status"
    case terminationRequests = "termination_requests"
    case boardDocket = "board_docket"
    case agencyTimeline = "agency_timeline"

    /// The query: every column (hashes as hex), in a stable order.
    ///
    /// The events' columns are exactly what the hash chain covers, in its text forms
    /// (docs/export-format.md): times as UTC `YYYY-MM-DDTHH:MM:SS.ffffffZ`, whatever the
    /// session's time zone, so that the export verifies with no database.
    var sql: String {
        switch self {
        case .events:
            return """
                SELECT global_position, stream_id, stream_version, event_id, event_type, data, metadata,
                       to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at,
                       to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS recorded_at,
                       encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash
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
    /// Booleans are `true`/`false`, timestamps ISO 8601 in UTC (`2025-08-01T04:00:00.000000Z`,
    /// as `Timestamp.iso8601`), dates `YYYY-MM-DD`. A text cell that a spreadsheet would
    /// read as a formula (first character `=`, `+`, `-`, `@`, tab or CR) is written with a
    /// single quote before it (OWASP, CSV injection), so `=1+1` is written `'=1+1`.
    case csv
    /// One JSON object per line (`row_to_json`): JSON columns embedded as JSON, NULL as null.
    case jsonl
}

/// CSV encoding (RFC 4180).
public enum CSV {
    /// One record, with its CRLF. Nil fields are empty; empty strings are written `""`
    /// so they differ from NULL; a field starting with `=`, `+`, `-`, `@`, tab or CR gets a
    /// leading `'` (OWASP's defence against CSV formula injection: a spreadsheet shows it
    /// as text); fields with a comma, a quote, a line break or surrounding white space are
    /// quoted (quotes doubled).
    public static func record(_ fields: [String?]) -> String {
        fields.map { field -> String in
            guard var field else { return "" }
            if let first = field.unicodeScalars.first, formulaStarts.contains(first) { field = "'" + field }
            let needsQuotes = field.isEmpty || field.first?.isWhitespace == true || field.last?.isWhitespace == true
                || field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline })
            guard needsQuotes else { return field }
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",") + "\r\n"
    }

    /// First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]
}

/// Exports of the log or a read model as CSV or JSON lines, from one consistent snapshot.
public enum Exporter {
    /// Writes a whole table or the event log as CSV or JSON lines, read through a
    /// cursor in one read-only repeatable-read transaction (a consistent snapshot,
    /// in batches, so a large log never sits in memory at once).
    /// - Parameters:
    ///   - write: receives the output in chunks, in order.
    /// - Returns: the number of rows written (the CSV header is not counted).
    /// - Throws: `PostgresError`, or what `write` throws.
    @discardableResult
    public static func export(_ source: ExportSource, format: ExportFormat, batchSize: Int = 2_000,
                       on connection: isolated Connection,
                       write: @escaping @Sendable (String) throws -> Void) throws -> Int {
        try connection.transaction("ISOLATION LEVEL REPEATABLE READ READ ONLY") { c in
            try Exporter.exportInTransaction(source, format: format, batchSize: batchSize, on: c, write: write)
        }
    }

    /// `export` inside the caller's open transaction (which should be REPEATABLE READ, for
    /// a consistent snapshot): the HTTP server's, already switched into the caller's role.
    @discardableResult
    public static func exportInTransaction(_ source: ExportSource, format: ExportFormat, batchSize: Int = 2_000,
                                    on connection: isolated Connection,
                                    write: @escaping @Sendable (String) throws -> Void) throws -> Int {
        do {
            let select = format == .jsonl ? "SELECT row_to_json(t)::text FROM (\(source.sql)) t" : try csvSelect(source.sql, on: connection)
            try connection.executeScript("DECLARE sbie_export NO SCROLL CURSOR FOR \(select)")
            var count = 0
            var header = format == .csv
            while true {
                let batch = try connection.query("FETCH \(max(batchSize, 1)) FROM sbie_export", name: "export fetch")
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
            try connection.executeScript("CLOSE sbie_export")
            return count
        }
    }

    /// `sql` with its boolean columns as `true`/`false` and its timestamptz columns as ISO
    /// 8601 UTC text, found by their types (so a column added later is written alike).
    private static func csvSelect(_ sql: String, on connection: isolated Connection) throws -> String {
        // One row of NULLs whatever the table holds: its column names, then their types.
        let probe = "FROM (SELECT 1) AS one LEFT JOIN (\(sql) LIMIT 0) AS t ON true"
        let columns = try connection.query("SELECT t.* \(probe)", name: "export columns").columns
        func quoted(_ column: String) -> String { "t.\"" + column.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        let types = try connection.query("SELECT " + columns.map { "pg_catalog.pg_typeof(\(quoted($0)))::text" }.joined(separator: ", ")
                                + " " + probe, name: "export column types").rows[0].values
        let list = zip(columns, types).map { column, type -> String in
            let name = quoted(column), alias = String(name.dropFirst(2))
            switch type {
            case "boolean": return "CASE WHEN \(name) THEN 'true' WHEN NOT \(name) THEN 'false' END AS \(alias)"
            case "timestamp with time zone":
                return "pg_catalog.to_char(\(name) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS \(alias)"
            default: return name
            }
        }
        return "SELECT \(list.joined(separator: ", ")) FROM (\(sql)) AS t"
    }
}
