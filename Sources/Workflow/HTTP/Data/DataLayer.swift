import Foundation
import Logging

/// Who an HTTP request says it is, before the database has checked it.
public enum Credential: Sendable, Equatable {
    /// No credentials: the read-only public role `web_anon`.
    case anonymous
    /// An API token or a web session token (`Authorization: Bearer …` or the session cookie).
    case token(String)
}

/// Who the database agreed a request acts for (inside its transaction).
public struct Principal: Sendable, Equatable, Codable {
    /// The login (`acting_login()`); nil for anonymous requests.
    public var login: String?
    /// For agency clerks, the agency the login files for (`current_agency_id()`).
    public var agencyID: String?
    /// The role the transaction runs under (`current_user`): the login, or `web_anon`.
    public var role: String

    enum CodingKeys: String, CodingKey { case login, agencyID = "agency_id", role }
}

/// Why the data layer refused a request before running it.
public enum AccessError: Error, Equatable, Sendable {
    /// The token is unknown, revoked, expired, or its login is no longer enabled for the web (401).
    case invalidToken
    /// The pool could not get a connection in time (503).
    case unavailable(String)
}

/// A bounded pool of connections of the server's *authenticator* login.
actor ConnectionPool {
    private let conninfo: String
    private let size: Int
    private let logger: Logger
    private var idle: [Connection] = []
    private var opened = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(conninfo: String, size: Int, logger: Logger) {
        self.conninfo = conninfo
        self.size = max(1, size)
        self.logger = logger
    }

    func acquire() async throws -> Connection {
        while true {
            if let connection = idle.popLast() { return connection }
            if opened < size {
                opened += 1
                do {
                    return try await Connection.connect(conninfo, logger: logger)
                } catch {
                    opened -= 1
                    wakeOne()
                    throw error
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    /// Returns a connection; a broken one (or one left inside a transaction) is closed instead.
    func release(_ connection: Connection) async {
        if await connection.isOpen, await !connection.inTransaction {
            idle.append(connection)
        } else {
            await connection.close()
            opened -= 1
        }
        wakeOne()
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }

    func closeAll() async {
        for connection in idle { await connection.close() }
        opened -= idle.count
        idle.removeAll()
    }
}

/// The server's data layer: every request runs in one transaction of an authenticator
/// connection, switched (`set_config('role', …, true)`, i.e. `SET LOCAL ROLE`) into the
/// caller's own login role or into `web_anon`. PostgreSQL decides what that role may do:
/// grants, row-level security, `submit_command`'s checks and `submitted_by` are exactly
/// those of the user on psql (see docs/architecture.md, "The front door").
public final class DataLayer: Sendable {
    let pool: ConnectionPool
    /// The authenticator's connection string (also the server and database that check web passwords).
    public let conninfo: String
    let logger: Logger
    /// The hot standby's pool for anonymous reads (`StandbyReads`); nil: all on the primary.
    let standby: StandbyReads?

    /// - Parameters:
    ///   - conninfo: the authenticator login's connection string.
    ///   - poolSize: connections kept open at most (requests beyond wait for one), per server.
    ///   - standbyConninfo: the authenticator's connection string on a hot standby, for the
    ///     read-only transactions of anonymous requests (`StandbyReads`); nil: none.
    public init(conninfo: String, poolSize: Int = 8, standbyConninfo: String? = nil, logger: Logger) {
        self.conninfo = conninfo
        self.pool = ConnectionPool(conninfo: conninfo, size: poolSize, logger: logger)
        self.logger = logger
        self.standby = standbyConninfo.map { StandbyReads(conninfo: $0, poolSize: poolSize, logger: logger) }
    }

    /// Runs `body` in one transaction as the credential's user (`snapshot`: REPEATABLE READ).
    ///
    /// A read-only transaction of an anonymous request runs on the hot standby when there is
    /// one (and on the primary when the standby cannot serve it); `primary: true` keeps it on
    /// the primary (readiness, metrics: what must describe the primary itself).
    /// - Throws: `AccessError.invalidToken` (401); `PostgresError` as the database refused
    ///   (42501 no privilege, CQ003 another agency, …); what `body` throws.
    public func run<T: Sendable>(
        as credential: Credential, readOnly: Bool = false, snapshot: Bool = false, primary: Bool = false,
        _ body: @escaping @Sendable (isolated Connection, Principal) throws -> T
    ) async throws -> T {
        let mode = (snapshot ? "ISOLATION LEVEL REPEATABLE READ " : "") + (readOnly ? "READ ONLY" : "")
        if readOnly, !primary, credential == .anonymous, let standby,
           let value = try await standby.run(mode, credential: credential, body) {
            return value
        }
        return try await withConnection { connection in
            try await connection.transaction(mode) { c in
                let principal = try DataLayer.switchRole(c, credential)
                return try body(c, principal)
            }
        }
    }

    /// Runs `body` in one transaction under `role` exactly as given, with no token check:
    /// what the HTTP layer does after authenticating. Exposed so tests can show that
    /// whatever the HTTP layer gets wrong (a forged login or agency), PostgreSQL refuses.
    /// - Throws: `PostgresError` 42501 when the authenticator may not switch into `role`.
    public func run<T: Sendable>(
        unauthenticatedRole role: String, _ body: @escaping @Sendable (isolated Connection, Principal) throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try await connection.transaction { c in
                try c.query("SELECT set_config('role', $1, true)", [role], name: "switch role")
                return try body(c, try DataLayer.principal(c))
            }
        }
    }

    /// Runs `body` on a pooled connection outside any role switch (the authenticator itself,
    /// which holds no privilege): LISTEN, and `SELECT 1` for readiness.
    func withConnection<T: Sendable>(_ body: (Connection) async throws -> T) async throws -> T {
        let connection: Connection
        do {
            connection = try await pool.acquire()
        } catch let error as PostgresError {
            throw AccessError.unavailable(error.message)
        }
        do {
            let value = try await body(connection)
            await pool.release(connection)
            return value
        } catch {
            await pool.release(connection)
            throw error
        }
    }

    /// Closes every pooled connection (the primary's and, when configured, the standby's).
    public func shutdown() async {
        await pool.closeAll()
        await standby?.shutdown()
    }

    static func switchRole(_ c: isolated Connection, _ credential: Credential) throws -> Principal {
        try c.query("SELECT set_config('role', 'web_anon', true)", name: "switch to web_anon")
        if case .token(let token) = credential {
            guard token.utf8.count <= 512,
                  let login = try c.query("SELECT authenticate_token($1)::text", [token], name: "authenticate token")
                    .rows.first?.decodeIfPresent(0, as: String.self)
            else { throw AccessError.invalidToken }
            try c.query("SELECT set_config('role', $1, true)", [login], name: "switch role")
        }
        return try principal(c)
    }

    static func principal(_ c: isolated Connection) throws -> Principal {
        let row = try c.query("SELECT acting_login()::text, current_agency_id(), current_user::text", name: "principal").rows[0]
        return Principal(login: try row.decodeIfPresent(0), agencyID: try row.decodeIfPresent(1), role: try row.decode(2))
    }
}
