internal import CPQ
import Logging
import Foundation

/// Owns the libpq connection pointer; `PQfinish` runs when the last reference goes.
private final class ConnectionHandle: @unchecked Sendable {
    var raw: OpaquePointer?
    let executor: ThreadExecutor
    let noticeLogger: NoticeLogger

    init(executor: ThreadExecutor, noticeLogger: NoticeLogger) {
        self.executor = executor
        self.noticeLogger = noticeLogger
    }

    deinit {
        if let raw { PQfinish(raw) }
        executor.shutdown()
    }
}

/// Receives the server's NOTICE and WARNING messages (libpq prints them to stderr by default).
private final class NoticeLogger: @unchecked Sendable {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
}

/// One PostgreSQL session, over libpq.
///
/// Every call runs on the connection's own thread (see `ThreadExecutor`), so the
/// blocking libpq API never occupies Swift's cooperative threads. Statements take
/// `$1, $2, …` parameters, never values spliced into SQL; results come back in
/// text format and are decoded by `Row`. The session runs with `TimeZone = UTC`
/// and `DateStyle = ISO`.
///
/// A connection is used by one task at a time (it is an actor); open one per
/// concurrent worker.
public actor Connection {
    private let handle: ConnectionHandle
    private var prepared: [String: String] = [:]
    /// Numbers the session's prepared statements (`s1`, `s2`, …); never reused on a connection.
    private var preparedCount = 0
    /// Statement texts `pipeline` prepares on one session at most (a bound on the session's
    /// memory should a caller build texts with values in them).
    static let preparedStatementLimit = 1_000
    /// What `open` was given, for `reconnect()`.
    private var conninfo = ""
    /// Channels this session has listened to outside a transaction block (a LISTEN that a
    /// rollback cannot undo); `listen` sends nothing for them again.
    private var listening: Set<String> = []
    public let logger: Logger

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        handle.executor.asUnownedSerialExecutor()
    }

    private init(logger: Logger) {
        let executor = ThreadExecutor(name: "postgres-connection")
        self.handle = ConnectionHandle(executor: executor, noticeLogger: NoticeLogger(logger: logger))
        self.logger = logger
    }

    /// Opens a connection.
    ///
    /// - Parameters:
    ///   - conninfo: a libpq connection string (`host=/tmp dbname=x`) or a
    ///     `postgres://user@host/db` URL. Empty: libpq's defaults and the `PG*`
    ///     environment variables apply, as with psql.
    ///   - logger: receives server notices (at debug level) and connection events.
    /// - Throws: `PostgresError` of kind `.connection` with libpq's message.
    public static func connect(_ conninfo: String = "", logger: Logger = Logger(label: "postgres")) async throws
        -> Connection
    {
        let connection = Connection(logger: logger)
        try await connection.open(conninfo)
        return connection
    }

    private func open(_ conninfo: String) throws {
        self.conninfo = conninfo
        guard let raw = PQconnectdb(conninfo) else {
            throw PostgresError(kind: .connection, message: "libpq could not allocate a connection")
        }
        handle.raw = raw
        guard PQstatus(raw) == CONNECTION_OK else {
            let message = Self.errorMessage(raw)
            PQfinish(raw)
            handle.raw = nil
            throw PostgresError(kind: .connection, message: message)
        }
        PQsetNoticeReceiver(raw, { context, result in
            guard let context, let result else { return }
            let box = Unmanaged<NoticeLogger>.fromOpaque(context).takeUnretainedValue()
            let text = PQresultErrorMessage(result).map { String(cString: $0) } ?? ""
            box.logger.debug("postgres notice", metadata: ["notice": "\(text.trimmingCharacters(in: .whitespacesAndNewlines))"])
        }, Unmanaged.passUnretained(handle.noticeLogger).toOpaque())
        // The project's objects are in schema sbie (Sql/0007_security.sql). Where it exists, our
        // sessions search only sbie (pg_catalog is searched first implicitly), not public: a
        // look-alike function someone created there could otherwise win overload resolution in
        // our own statements. (psql users get the database's default, sbie, public; a database
        // without schema sbie, not yet migrated, keeps its default.)
        try executeScript("""
            SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_encoding = 'UTF8';
            SELECT pg_catalog.set_config('search_path', 'sbie', false) WHERE pg_catalog.to_regnamespace('sbie') IS NOT NULL
            """)
    }

    /// Closes the connection now (otherwise it closes when the last reference goes).
    public func close() {
        if let raw = handle.raw { PQfinish(raw) }
        handle.raw = nil
    }

    /// Ends this session (if any is left) and opens a new one with the same connection
    /// string and session settings, e.g. after the server restarted or terminated the
    /// session. Session state is gone: prepared statements (re-prepared on next use),
    /// `LISTEN` subscriptions, temporary tables, an open transaction.
    /// - Throws: `PostgresError` of kind `.connection` when the server cannot be reached;
    ///   the connection then stays closed and `reconnect()` may be called again.
    public func reconnect() throws {
        if let raw = handle.raw { PQfinish(raw) }
        handle.raw = nil
        prepared = [:]
        listening = []
        try open(conninfo)
    }

    /// Whether the connection is open and healthy as far as libpq knows (no round trip).
    public var isOpen: Bool {
        guard let raw = handle.raw else { return false }
        return PQstatus(raw) == CONNECTION_OK
    }

    /// Whether the server asked for, and checked, a password when this connection opened
    /// (`PQconnectionUsedPassword`). A web login by password must refuse a connection that
    /// `trust` or `peer` authentication let in without one.
    public var usedPassword: Bool { handle.raw.map { PQconnectionUsedPassword($0) == 1 } ?? false }

    /// The server's backend process id (`pg_backend_pid()`), 0 when closed.
    public var backendPID: Int32 { handle.raw.map { PQbackendPID($0) } ?? 0 }

    private func live() throws -> OpaquePointer {
        guard let raw = handle.raw, PQstatus(raw) == CONNECTION_OK else {
            throw PostgresError(kind: .connection, message: handle.raw.map { Self.errorMessage($0) } ?? "connection is closed")
        }
        return raw
    }

    // MARK: Statements

    /// Runs one statement with parameters and returns its rows.
    ///
    /// The statement is prepared once per connection and reused (`PQprepare` /
    /// `PQexecPrepared`), so repeated calls pay no parse cost.
    /// - Parameters:
    ///   - sql: one statement with `$1…$n` placeholders.
    ///   - parameters: values for the placeholders, in order; `nil` / `.null` is SQL NULL.
    ///   - name: a label for errors and logs; defaults to the start of the SQL.
    /// - Throws: `PostgresError` with the server's SQLSTATE.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = [], name: String? = nil) throws
        -> QueryResult
    {
        let raw = try live()
        let statementName = try prepare(sql, on: raw, name: name)
        let values = parameters.map(\.postgresValue)
        let result = withParameterArrays(values) { count, pointers, lengths, formats in
            PQexecPrepared(raw, statementName, count, pointers, lengths, formats, 0)
        }
        return try consume(result, statement: name ?? Self.label(sql))
    }

    /// Runs one statement and returns the number of rows it affected.
    /// - Throws: `PostgresError` with the server's SQLSTATE.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresEncodable] = [], name: String? = nil) throws
        -> Int
    {
        try query(sql, parameters, name: name).affectedRows
    }

    /// Runs a script of one or more statements without parameters (migrations, DDL),
    /// through the simple query protocol.
    /// - Throws: `PostgresError` for the first statement that fails; the rest do not run.
    public func executeScript(_ sql: String, name: String? = nil) throws {
        let raw = try live()
        guard PQsendQuery(raw, sql) == 1 else {
            throw PostgresError(kind: .connection, message: Self.errorMessage(raw), statement: name)
        }
        try drainResults(raw, statement: name ?? Self.label(sql))
    }

    // MARK: Paged reads, in place

    /// Reads a keyset-paged query page after page, handing each page's rows to `body` in
    /// place (bytes in libpq's result buffer, no `String` per value), and overlaps the
    /// server's work with the client's: as soon as a page has arrived, the statement for the
    /// next page is sent, and while `body` works through the current page it calls
    /// `ResultRows.absorbInput()` now and then, which moves what the server has sent of the
    /// next page into libpq's buffer without waiting (so the server is never stalled on a
    /// full socket while the client decodes).
    ///
    /// - Parameters:
    ///   - sql: one statement with `$1…$n` placeholders, prepared once per connection.
    ///   - first: the first page's parameters.
    ///   - next: given a page, the next page's parameters, or nil when that page was the last.
    ///   - body: called once per page, in order; returns false to stop reading.
    /// - Throws: `PostgresError` with the server's SQLSTATE, or what `next` or `body` threw
    ///   (the statement in flight is then read to its end, so the session stays usable).
    func readPages(
        _ sql: String, name: String, first: [any PostgresEncodable],
        next: (ResultRows) throws -> [any PostgresEncodable]?, _ body: (ResultRows) throws -> Bool
    ) throws {
        let raw = try live()
        let statementName = try prepare(sql, on: raw, name: name)
        func send(_ parameters: [any PostgresEncodable]) throws {
            let sent = withParameterArrays(parameters.map(\.postgresValue)) { count, pointers, lengths, formats in
                PQsendQueryPrepared(raw, statementName, count, pointers, lengths, formats, 0)
            }
            guard sent == 1 else { throw PostgresError(kind: .connection, message: Self.errorMessage(raw), statement: name) }
        }
        /// The one result of the statement in flight (and the NULL after it); the caller clears it.
        func receive() throws -> OpaquePointer {
            var page: OpaquePointer?
            var failure: PostgresError?
            while let result = PQgetResult(raw) {
                if page == nil, PQresultStatus(result) == PGRES_TUPLES_OK {
                    page = result
                    continue
                }
                do { try consume(result, statement: name) } catch let error as PostgresError {
                    if failure == nil { failure = error }
                }
            }
            if let failure {
                if let page { PQclear(page) }
                throw failure
            }
            guard let page else { throw PostgresError(kind: .protocolViolation, message: "no rows result", statement: name) }
            return page
        }
        try send(first)
        var inFlight = true
        defer {
            // Stopped early or failed: read the statement in flight to its end.
            if inFlight { while let result = PQgetResult(raw) { PQclear(result) } }
        }
        while inFlight {
            let page = try receive()
            inFlight = false
            defer { PQclear(page) }
            let rows = ResultRows(result: page, connection: raw)
            if let parameters = try next(rows) {
                try send(parameters)
                inFlight = true
            }
            guard try body(rows) else { return }
        }
    }

    /// The name of `sql`'s prepared statement on this session, preparing it on first use.
    private func prepare(_ sql: String, on raw: OpaquePointer, name: String?) throws -> String {
        if let existing = prepared[sql] { return existing }
        preparedCount += 1
        let statementName = "s\(preparedCount)"
        try consume(PQprepare(raw, statementName, sql, 0, nil), statement: name ?? Self.label(sql))
        prepared[sql] = statementName
        return statementName
    }

    // MARK: Transactions

    /// Runs `body` inside `BEGIN … COMMIT`; rolls back and rethrows if `body` throws.
    ///
    /// - Parameter isolation: e.g. `"ISOLATION LEVEL SERIALIZABLE"`, appended to `BEGIN`.
    /// - Returns: what `body` returned, after the commit succeeded.
    /// - Throws: what `body` threw, or the `PostgresError` of a failed `COMMIT`.
    @discardableResult
    public func transaction<T: Sendable>(
        _ mode: String = "", _ body: @Sendable (isolated Connection) throws -> T
    ) throws -> T {
        try executeScript(mode.isEmpty ? "BEGIN" : "BEGIN \(mode)")
        do {
            let value = try body(self)
            try executeScript("COMMIT")
            return value
        } catch {
            if let raw = handle.raw, PQtransactionStatus(raw) != PQTRANS_IDLE {
                try? executeScript("ROLLBACK")
            }
            throw error
        }
    }

    /// Runs `body` as one transaction whose `BEGIN` (and possibly `COMMIT`) travel in the
    /// body's own round trips: the body's first statement to the server must be `BEGIN` (e.g.
    /// the first of a `pipeline`), and its last may be `COMMIT` (the last of a pipeline, which
    /// PostgreSQL skips when a statement before it failed). Saves BEGIN's and COMMIT's round
    /// trips of `transaction(_:_:)`.
    /// - Returns: what `body` returns, once the transaction has committed: a transaction still
    ///   open when `body` returns is committed here.
    /// - Throws: what `body` or the COMMIT throws, after rolling back a transaction still open
    ///   (a transaction the body committed before throwing stays committed); a
    ///   `.protocolViolation` when the body returns from a failed transaction (rolled back).
    public func transactionInPipelines<T: Sendable>(_ body: @Sendable (isolated Connection) throws -> T) throws -> T {
        do {
            let value = try body(self)
            if let raw = handle.raw, PQtransactionStatus(raw) == PQTRANS_INERROR {
                // A statement failed and the body went on: COMMIT would roll back without an error.
                throw PostgresError(kind: .protocolViolation, message: "a statement of the transaction failed; rolled back")
            }
            if inTransaction { try executeScript("COMMIT") }
            return value
        } catch {
            if inTransaction { try? executeScript("ROLLBACK") }
            throw error
        }
    }

    /// Whether a transaction block is open on this session.
    public var inTransaction: Bool {
        guard let raw = handle.raw else { return false }
        return PQtransactionStatus(raw) != PQTRANS_IDLE
    }

    // MARK: Pipeline mode

    /// Sends many statements in one round trip per chunk (libpq pipeline mode)
    /// and returns their results in order.
    ///
    /// Statements are sent in chunks of `chunkSize`, each followed by a flush
    /// request, and each chunk's results are read before the next is sent, so
    /// neither side's socket buffer can fill up and deadlock. All statements up to
    /// the final sync form one implicit transaction unless a transaction is open.
    /// Each distinct statement text is prepared once per session, in the pipeline itself
    /// (`PQsendPrepare`), and run by name afterwards, like `query`; past
    /// `preparedStatementLimit` texts on one session, new texts run unnamed (parsed each time).
    /// - Throws: the `PostgresError` of the first statement that failed; the
    ///   statements after it were not executed (PostgreSQL aborts the pipeline).
    @discardableResult
    public func pipeline(_ statements: [Statement], chunkSize: Int = 256) throws -> [QueryResult] {
        let raw = try live()
        guard PQenterPipelineMode(raw) == 1 else {
            throw PostgresError(kind: .protocolViolation, message: "cannot enter pipeline mode: \(Self.errorMessage(raw))")
        }
        var results: [QueryResult] = []
        results.reserveCapacity(statements.count)
        var failure: PostgresError?
        var pending: [String: String] = [:]  // prepared in this pipeline, not yet confirmed
        var start = 0
        while start < statements.count {
            let chunk = statements[start..<min(start + max(chunkSize, 1), statements.count)]
            // Each statement runs as a prepared statement of this session, prepared in the pipeline
            // itself the first time its text is seen (the batch's statements are the same few
            // texts every time: parsing and planning them once per session, not once per batch).
            var preparing: [String?] = []
            preparing.reserveCapacity(chunk.count)
            for statement in chunk {
                var name = prepared[statement.sql] ?? pending[statement.sql]
                var prepares: String?
                if name == nil, prepared.count + pending.count < Self.preparedStatementLimit {
                    preparedCount += 1
                    let fresh = "s\(preparedCount)"
                    guard PQsendPrepare(raw, fresh, statement.sql, 0, nil) == 1 else {
                        throw PostgresError(kind: .connection, message: Self.errorMessage(raw), statement: Self.label(statement.sql))
                    }
                    pending[statement.sql] = fresh
                    (name, prepares) = (fresh, fresh)
                }
                preparing.append(prepares)
                let sent = withParameterArrays(statement.parameters) { count, pointers, lengths, formats in
                    if let name {
                        return PQsendQueryPrepared(raw, name, count, pointers, lengths, formats, 0)
                    }
                    return PQsendQueryParams(raw, statement.sql, count, nil, pointers, lengths, formats, 0)
                }
                guard sent == 1 else {
                    throw PostgresError(kind: .connection, message: Self.errorMessage(raw), statement: Self.label(statement.sql))
                }
            }
            if chunk.endIndex == statements.count {
                // The sync goes with the last chunk: once the server has run it, the session is
                // idle (in transaction), so idle_in_transaction_session_timeout covers a client
                // that freezes while reading the results.
                guard PQpipelineSync(raw) == 1 else {
                    throw PostgresError(kind: .connection, message: Self.errorMessage(raw))
                }
            } else {
                PQsendFlushRequest(raw)
                guard PQflush(raw) == 0 else {
                    throw PostgresError(kind: .connection, message: Self.errorMessage(raw))
                }
            }
            for (statement, prepares) in zip(chunk, preparing) {
                if let prepares {
                    // The prepare's own result: recorded only once the server has it.
                    guard let result = PQgetResult(raw) else {
                        throw PostgresError(kind: .protocolViolation, message: "pipeline ended early")
                    }
                    if PQresultStatus(result) == PGRES_COMMAND_OK {
                        prepared[statement.sql] = prepares
                        PQclear(result)
                    } else if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                        PQclear(result)
                    } else {
                        do { _ = try consume(result, statement: Self.label(statement.sql)) } catch let error as PostgresError {
                            if failure == nil { failure = error }
                        }
                    }
                    pending[statement.sql] = nil
                    while let extra = PQgetResult(raw) { PQclear(extra) }  // the NULL after it
                }
                guard let result = PQgetResult(raw) else {
                    throw PostgresError(kind: .protocolViolation, message: "pipeline ended early")
                }
                if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                    PQclear(result)
                    results.append(QueryResult(columns: [], rows: [], affectedRows: 0))
                } else {
                    do {
                        results.append(try consume(result, statement: Self.label(statement.sql)))
                    } catch let error as PostgresError {
                        if failure == nil { failure = error }
                        results.append(QueryResult(columns: [], rows: [], affectedRows: 0))
                    }
                }
                while let extra = PQgetResult(raw) { PQclear(extra) }  // the NULL after each statement
            }
            start = chunk.endIndex
        }
        if statements.isEmpty, PQpipelineSync(raw) != 1 {
            throw PostgresError(kind: .connection, message: Self.errorMessage(raw))
        }
        while let result = PQgetResult(raw) {
            let status = PQresultStatus(result)
            PQclear(result)
            if status == PGRES_PIPELINE_SYNC { break }
        }
        PQexitPipelineMode(raw)
        if let failure { throw failure }
        return results
    }

    // MARK: COPY

    /// Streams rows into `COPY … FROM STDIN` (text format).
    ///
    /// - Parameters:
    ///   - sql: e.g. `COPY t (a, b) FROM STDIN`.
    ///   - rows: one array of column values per row; nil is SQL NULL. Tabs,
    ///     newlines and backslashes are escaped here.
    /// - Returns: the number of rows copied, as the server counted them.
    /// - Throws: `PostgresError` when the server rejects the COPY or a row.
    @discardableResult
    public func copyIn(_ sql: String, rows: some Sequence<[String?]>) throws -> Int {
        let raw = try live()
        try startCopy(raw, sql, expecting: PGRES_COPY_IN, "COPY FROM STDIN")
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 16)
        var sendFailed = false
        func flush() {
            guard !buffer.isEmpty, !sendFailed else { return }
            let ok = buffer.withUnsafeBufferPointer { bytes in
                guard let base = bytes.baseAddress else { return Int32(1) }
                return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    PQputCopyData(raw, $0, Int32(bytes.count))
                }
            }
            if ok != 1 { sendFailed = true }
            buffer.removeAll(keepingCapacity: true)
        }
        for row in rows {
            for (column, value) in row.enumerated() {
                if column > 0 { buffer.append(9) }
                guard let value else {
                    buffer.append(contentsOf: [92, 78])  // \N
                    continue
                }
                for byte in value.utf8 {
                    switch byte {
                    case 92: buffer.append(contentsOf: [92, 92])
                    case 9: buffer.append(contentsOf: [92, 116])
                    case 10: buffer.append(contentsOf: [92, 110])
                    case 13: buffer.append(contentsOf: [92, 114])
                    default: buffer.append(byte)
                    }
                }
            }
            buffer.append(10)
            if buffer.count >= 1 << 16 { flush() }
        }
        flush()
        PQputCopyEnd(raw, sendFailed ? "client failed to send data" : nil)
        return try drainResults(raw, statement: Self.label(sql))?.affectedRows ?? 0
    }

    /// Sends a COPY statement and checks that the server entered the `expected` copy mode.
    /// - Throws: `PostgresError`: the server's error, or a protocol violation naming `mode`.
    private func startCopy(_ raw: OpaquePointer, _ sql: String, expecting expected: ExecStatusType, _ mode: String) throws {
        guard let start = PQexec(raw, sql) else {
            throw PostgresError(kind: .connection, message: Self.errorMessage(raw))
        }
        guard PQresultStatus(start) == expected else {
            try consume(start, statement: Self.label(sql))
            throw PostgresError(kind: .protocolViolation, message: "statement did not start \(mode)")
        }
        PQclear(start)
    }

    /// Runs `COPY … TO STDOUT` and returns the raw bytes the server sent.
    /// - Throws: `PostgresError` when the server rejects the COPY.
    public func copyOut(_ sql: String) throws -> [UInt8] {
        let raw = try live()
        try startCopy(raw, sql, expecting: PGRES_COPY_OUT, "COPY TO STDOUT")
        var output: [UInt8] = []
        while true {
            var chunk: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(raw, &chunk, 0)
            if length > 0, let chunk {
                chunk.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                    output.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(length)))
                }
                PQfreemem(chunk)
            } else {
                break
            }
        }
        try drainResults(raw, statement: Self.label(sql))
        return output
    }

    // MARK: LISTEN / NOTIFY

    /// Subscribes this session to a channel (`LISTEN "channel"`). A channel this session
    /// already listens to costs nothing: the LISTEN is sent once per session (again after
    /// `reconnect`, and each time inside a transaction block, where a rollback would undo it).
    /// Sessions that UNLISTEN through raw SQL must not rely on this.
    /// - Throws: `PostgresError` when the statement fails.
    public func listen(_ channel: String) throws {
        if listening.contains(channel) { return }
        try executeScript("LISTEN \(try quoteIdentifier(channel))")
        if !inTransaction { listening.insert(channel) }
    }

    /// Sends a notification (`pg_notify`); delivered when the current transaction commits.
    public func notify(_ channel: String, payload: String = "") throws {
        try query("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// Waits up to `timeout` for a notification on a channel this session listens to.
    ///
    /// Returns nil when the time runs out; that is not an error. Notifications are
    /// hints: they are lost while nobody listens and folded when duplicated, so
    /// callers must also poll the state they are told about.
    /// - Throws: `PostgresError` of kind `.connection` when the connection is lost.
    public func waitForNotification(timeout: Duration) throws -> PostgresNotification? {
        let raw = try live()
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            guard PQconsumeInput(raw) == 1 else {
                throw PostgresError(kind: .connection, message: Self.errorMessage(raw))
            }
            if let notify = PQnotifies(raw) {
                defer { PQfreemem(notify) }
                return PostgresNotification(
                    channel: String(cString: notify.pointee.relname),
                    payload: String(cString: notify.pointee.extra),
                    processID: notify.pointee.be_pid)
            }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return nil }
            let (seconds, attoseconds) = remaining.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var descriptor = pollfd(fd: PQsocket(raw), events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 && errno != EINTR {
                throw PostgresError(kind: .connection, message: "poll failed: errno \(errno)")
            }
        }
    }

    /// Drops the notifications already received (no waiting, no round trip: it reads what the
    /// socket holds). For callers about to look at the state the notifications were about,
    /// which makes them stale.
    /// - Returns: how many were dropped.
    /// - Throws: `PostgresError` of kind `.connection` when the connection is lost.
    @discardableResult
    public func drainNotifications() throws -> Int {
        var dropped = 0
        while try waitForNotification(timeout: .zero) != nil { dropped += 1 }
        return dropped
    }

    // MARK: Helpers

    /// Quotes an identifier for SQL (`PQescapeIdentifier`), for the rare statements
    /// that take no parameters in that place (LISTEN, CREATE ROLE).
    /// - Throws: `PostgresError` when libpq rejects the text (e.g. invalid encoding).
    public func quoteIdentifier(_ identifier: String) throws -> String {
        try quote(identifier, with: PQescapeIdentifier)
    }

    /// Quotes a string literal for SQL (`PQescapeLiteral`), for statements that
    /// cannot take parameters (`CREATE ROLE … PASSWORD`).
    public func quoteLiteral(_ literal: String) throws -> String {
        try quote(literal, with: PQescapeLiteral)
    }

    /// `text` through libpq's `PQescapeIdentifier` or `PQescapeLiteral` (same signature).
    private func quote(
        _ text: String, with escape: (OpaquePointer?, UnsafePointer<CChar>?, Int) -> UnsafeMutablePointer<CChar>?
    ) throws -> String {
        let raw = try live()
        guard let quoted = escape(raw, text, text.utf8.count) else {
            throw PostgresError(kind: .statement, message: Self.errorMessage(raw))
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    private static func label(_ sql: String) -> String {
        let flat = sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return flat.count > 80 ? String(flat.prefix(80)) + "…" : flat
    }

    private static func errorMessage(_ raw: OpaquePointer) -> String {
        guard let text = PQerrorMessage(raw) else { return "unknown libpq error" }
        // libpq ends a line without a full stop ("No such file or directory\n\tIs the server
        // running…"): join its lines as sentences.
        let lines = String(cString: text).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return lines.enumerated().map { index, line in
            index < lines.count - 1 && !(line.last.map { ".?!:;".contains($0) } ?? true) ? line + "." : line
        }.joined(separator: " ")
    }

    /// Reads every pending result until libpq returns NULL (as it must be, before the
    /// next command), and returns the last one.
    /// - Throws: the first result's `PostgresError`, after draining the rest.
    @discardableResult
    private func drainResults(_ raw: OpaquePointer, statement: @autoclosure () -> String) throws -> QueryResult? {
        var last: QueryResult?
        var failure: PostgresError?
        while let result = PQgetResult(raw) {
            do { last = try consume(result, statement: statement()) } catch let error as PostgresError {
                if failure == nil { failure = error }
            }
        }
        if let failure { throw failure }
        return last
    }

    /// The one place that turns a `PGresult` into rows or a `PostgresError`; clears it.
    /// `statement` (the label for errors) is only evaluated when there is an error.
    @discardableResult
    private func consume(_ result: OpaquePointer?, statement: @autoclosure () -> String) throws -> QueryResult {
        guard let result else {
            let message = handle.raw.map { Self.errorMessage($0) } ?? "connection is closed"
            throw PostgresError(kind: .connection, message: message, statement: statement())
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_SINGLE_TUPLE
            || status == PGRES_EMPTY_QUERY
        {
            let columnCount = PQnfields(result)
            let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
            let rowCount = PQntuples(result)
            var rows: [Row] = []
            rows.reserveCapacity(Int(rowCount))
            for r in 0..<rowCount {
                var values: [String?] = []
                values.reserveCapacity(Int(columnCount))
                for c in 0..<columnCount {
                    values.append(PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c)))
                }
                rows.append(Row(columns: columns, values: values))
            }
            let affected = PQcmdTuples(result).map { Int(String(cString: $0)) ?? 0 } ?? 0
            return QueryResult(columns: columns, rows: rows, affectedRows: affected)
        }
        func field(_ code: Int32) -> String? {
            PQresultErrorField(result, code).map { String(cString: $0) }
        }
        let sqlState = field(CPQ_DIAG_SQLSTATE)
        let message = field(CPQ_DIAG_MESSAGE_PRIMARY)
            ?? String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
        let lost = handle.raw.map { PQstatus($0) != CONNECTION_OK } ?? true
        throw PostgresError(
            kind: lost && sqlState == nil ? .connection : .statement,
            sqlState: sqlState, message: message,
            detail: field(CPQ_DIAG_MESSAGE_DETAIL), hint: field(CPQ_DIAG_MESSAGE_HINT),
            constraint: field(CPQ_DIAG_CONSTRAINT_NAME), statement: statement())
    }
}

/// Lays the parameters out as the C arrays libpq wants, valid for the duration of `body`.
private func withParameterArrays<R>(
    _ values: [PostgresValue],
    _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
) -> R {
    if values.isEmpty { return body(0, nil, nil, nil) }
    var storage: [UnsafeMutablePointer<CChar>?] = []
    var lengths: [Int32] = []
    var formats: [Int32] = []
    storage.reserveCapacity(values.count)
    defer { for pointer in storage { free(pointer) } }
    for value in values {
        switch value {
        case .null:
            storage.append(nil)
            lengths.append(0)
            formats.append(0)
        case .text(let text):
            storage.append(strdup(text))
            lengths.append(0)
            formats.append(0)
        case .bytea(let bytes):
            let pointer = malloc(max(bytes.count, 1))?.assumingMemoryBound(to: CChar.self)
            if let pointer {
                bytes.withUnsafeBytes { source in
                    if let base = source.baseAddress { memcpy(pointer, base, bytes.count) }
                }
            }
            storage.append(pointer)
            lengths.append(Int32(bytes.count))
            formats.append(1)
        }
    }
    let pointers = storage.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { p in
        lengths.withUnsafeBufferPointer { l in
            formats.withUnsafeBufferPointer { f in
                body(Int32(values.count), p.baseAddress, l.baseAddress, f.baseAddress)
            }
        }
    }
}

/// The rows of one result, read in place: each value is a view of libpq's result buffer,
/// valid only inside the closure the rows are given to (`Connection.readPages`). Values are
/// in PostgreSQL's text format, as in `Row`.
struct ResultRows {
    fileprivate let result: OpaquePointer
    /// The session a next page is arriving on, if any.
    fileprivate let connection: OpaquePointer?

    fileprivate init(result: OpaquePointer, connection: OpaquePointer?) {
        self.result = result
        self.connection = connection
        self.count = Int(PQntuples(result))
        self.columnCount = Int(PQnfields(result))
    }

    let count: Int
    let columnCount: Int

    func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) == 1 }

    /// The value's bytes (empty for NULL), without its terminating zero byte.
    func bytes(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer {
        guard let value = PQgetvalue(result, Int32(row), Int32(column)) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: value, count: Int(PQgetlength(result, Int32(row), Int32(column))))
    }

    /// The value as a `String` (the bytes are UTF-8: every session sets client_encoding).
    func string(_ row: Int, _ column: Int) -> String {
        String(decoding: bytes(row, column), as: UTF8.self)
    }

    /// The column's name.
    func columnName(_ column: Int) -> String { PQfname(result, Int32(column)).map { String(cString: $0) } ?? "?" }

    /// Moves what the server has sent so far into libpq's buffer, without waiting
    /// (`PQconsumeInput`); a lost connection shows when the next page is read.
    func absorbInput() {
        if let connection { _ = PQconsumeInput(connection) }
    }
}
