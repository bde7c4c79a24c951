/// The rows of one statement's result, every value in PostgreSQL's text format.
public struct QueryResult: Sendable {
    /// Column names, in select-list order.
    public let columns: [String]
    public let rows: [Row]
    /// Rows inserted, updated, deleted or copied (`PQcmdTuples`), 0 when not applicable.
    public let affectedRows: Int

    public init(columns: [String], rows: [Row], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    public var isEmpty: Bool { rows.isEmpty }
    public var first: Row? { rows.first }
}

/// One result row. Values are decoded by column index or name.
public struct Row: Sendable {
    /// Column names shared by every row of the result.
    public let columns: [String]
    /// Text values; nil is SQL NULL.
    public let values: [String?]

    /// The column's value as `T`.
    /// - Throws: `PostgresDecodingError` when the value is NULL or not a valid `T`.
    public func decode<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        guard let text = values[index] else {
            throw PostgresDecodingError(column: columns[index], expectedType: "\(T.self)", reason: "value is NULL")
        }
        do {
            return try T(postgresText: text)
        } catch var error as PostgresDecodingError {
            error.column = columns[index]
            throw error
        }
    }

    /// The column's value as `T`, or nil for SQL NULL.
    /// - Throws: `PostgresDecodingError` when the value is not a valid `T`.
    public func decodeIfPresent<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T? {
        values[index] == nil ? nil : try decode(index, as: type)
    }

    /// The named column's value as `T`.
    /// - Throws: `PostgresDecodingError` when there is no such column, or as `decode(_:as:)`.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try decode(try index(of: column), as: type)
    }

    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        try decodeIfPresent(try index(of: column), as: type)
    }

    private func index(of column: String) throws -> Int {
        guard let index = columns.firstIndex(of: column) else {
            throw PostgresDecodingError(column: column, expectedType: "column", reason: "no such column")
        }
        return index
    }
}

/// A statement and its parameters, for `Connection.pipeline(_:)`.
public struct Statement: Sendable {
    public var sql: String
    public var parameters: [PostgresValue]

    public init(_ sql: String, _ parameters: [any PostgresEncodable] = []) {
        self.sql = sql
        self.parameters = parameters.map(\.postgresValue)
    }
}

/// A notification delivered by `NOTIFY` / `pg_notify`.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    /// Process id of the notifying server backend.
    public var processID: Int32
}
