import Foundation
import Hummingbird
import Logging
import Synchronization

/// Where the HTTP server's anonymous reads go when `sbie serve` is given a hot standby
/// (`--read-database`, `$SBIE_READ_DATABASE_URL`).
///
/// The contract (README, "Reads on a hot standby"):
/// - Only read-only transactions of *anonymous* requests (the public register, pages,
///   history, verify, exports, the event stream) run on the standby. Requests with a token
///   or a session run on the primary: a token revoked or a session ended on the primary
///   must stop working at once, and a caller reads its own writes. Writes, readiness,
///   metrics and LISTEN stay on the primary.
/// - A response whose data the standby served carries `Sbie-Read-From: standby`,
///   `Sbie-Replica-Lag` (seconds, 3 decimals: 0 when the standby has replayed all the log it
///   received, else its `now()` minus the commit time of the last transaction it replayed),
///   `Sbie-Replica-Replayed-At` (that commit time, ISO 8601 UTC) and `Sbie-Replica-LSN`
///   (`pg_last_wal_replay_lsn()`).
/// - The standby unreachable, failing (a lost connection, a query cancelled by a conflict
///   with recovery: 40001) or no longer in recovery (promoted): the read runs on the primary
///   instead, the response says `Sbie-Read-From: primary`, and a warning is logged (at most
///   once a minute); the standby is then left alone for 5 s (`pause`), so that a server that
///   is down does not delay every request by a connect timeout.
final class StandbyReads: Sendable {
    let pool: ConnectionPool
    let logger: Logger
    private let lastWarning = Mutex<ContinuousClock.Instant?>(nil)
    /// After a failure the standby is left alone this long, so that a server that is down
    /// (a connect that waits for its timeout) does not delay every anonymous request.
    static let pause: Duration = .seconds(5)
    private let pausedUntil = Mutex<ContinuousClock.Instant?>(nil)

    init(conninfo: String, poolSize: Int, logger: Logger) {
        pool = ConnectionPool(conninfo: conninfo, size: poolSize, logger: logger)
        self.logger = logger
    }

    /// Runs `body` in one transaction on the standby, first reading its `ReplicaStatus`
    /// (recorded for the response's headers).
    /// - Returns: nil when the standby could not serve the read (the caller reads the primary).
    /// - Throws: what `body` throws, other than a lost connection or a recovery conflict.
    func run<T: Sendable>(
        _ mode: String, credential: Credential, _ body: @escaping @Sendable (isolated Connection, Principal) throws -> T
    ) async throws -> T? {
        if let until = pausedUntil.withLock({ $0 }), ContinuousClock.now < until {
            StandbyReadRecord.current?.record(.primary)
            return nil
        }
        let connection: Connection
        do {
            connection = try await pool.acquire()
        } catch {
            failed("the standby is unreachable (\(error)): reading from the primary")
            return nil
        }
        do {
            let served = try await connection.transaction(mode) { c -> (T, ReplicaStatus)? in
                let status = try Standby.status(on: c)
                guard status.inRecovery else { return nil }
                let principal = try DataLayer.switchRole(c, credential)
                return (try body(c, principal), status)
            }
            await pool.release(connection)
            guard let (value, status) = served else {
                failed("the read database is not in recovery (a primary, or a promoted standby): reading from the primary")
                return nil
            }
            StandbyReadRecord.current?.record(.standby(status))
            return value
        } catch let error as PostgresError where Self.standbyFailed(error) {
            await pool.release(connection)
            failed("a read on the standby failed (\(error.sqlState ?? "connection"): \(error.message)): reading from the primary")
            return nil
        } catch {
            await pool.release(connection)
            throw error
        }
    }

    /// Whether `error` says the standby could not serve the read (rather than the read being
    /// refused): the connection is lost (libpq, class 08, 57P01-57P03: terminated, crashed,
    /// shutting down or starting), or a conflict with recovery cancelled it (40001).
    static func standbyFailed(_ error: PostgresError) -> Bool {
        if error.kind == .connection { return true }
        guard let state = error.sqlState else { return false }
        return state.hasPrefix("08") || ["57P01", "57P02", "57P03", PostgresError.State.serializationFailure].contains(state)
    }

    /// The standby could not serve a read: warn, leave it alone for `pause`, and say the
    /// request's reads came from the primary.
    private func failed(_ message: String) {
        pausedUntil.withLock { $0 = ContinuousClock.now + Self.pause }
        warn(message)
        StandbyReadRecord.current?.record(.primary)
    }

    private func warn(_ message: String) {
        let now = ContinuousClock.now
        let due = lastWarning.withLock { last -> Bool in
            if let last, now - last < .seconds(60) { return false }
            last = now
            return true
        }
        if due { logger.warning("\(message)") }
    }

    func shutdown() async { await pool.closeAll() }
}

/// Where one HTTP request's reads were served, for `StandbyHeadersMiddleware`.
final class StandbyReadRecord: Sendable {
    enum Source: Sendable { case standby(ReplicaStatus), primary }
    @TaskLocal static var current: StandbyReadRecord?
    private let source = Mutex<Source?>(nil)

    /// The first read of a request decides what the headers say; a fallback to the primary wins.
    func record(_ new: Source) {
        source.withLock { current in
            if case .primary? = current { return }
            current = new
        }
    }

    var value: Source? { source.withLock { $0 } }
}

/// Adds `Sbie-Read-From` and the `Sbie-Replica-*` headers to responses whose reads a
/// standby served (or, with a standby configured, that fell back to the primary).
struct StandbyHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let record = StandbyReadRecord()
        var response = try await StandbyReadRecord.$current.withValue(record) { try await next(request, context) }
        func set(_ name: String, _ value: String) {
            if let name = HTTPFields.Element.Name(name) { response.headers[name] = value }
        }
        switch record.value {
        case .standby(let status)?:
            set("Sbie-Read-From", "standby")
            set("Sbie-Replica-Lag", status.lagSeconds.map { String(format: "%.3f", $0) } ?? "unknown")
            if let replayedAt = status.replayedAt { set("Sbie-Replica-Replayed-At", replayedAt.iso8601) }
            if let lsn = status.replayLSN { set("Sbie-Replica-LSN", lsn) }
        case .primary?:
            set("Sbie-Read-From", "primary")
        case nil:
            break
        }
        return response
    }
}
