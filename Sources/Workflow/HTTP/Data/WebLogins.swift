import Foundation

/// An API token as listed (never the token itself: only its hash is stored).
public struct APITokenInfo: Sendable, Equatable, Codable {
    public var tokenID: UUID
    public var login: String
    /// `api` (issued by an administrator) or `session` (a web login by password).
    public var kind: String
    public var label: String?
    public var createdAt: Timestamp
    public var expiresAt: Timestamp?
    public var revokedAt: Timestamp?

    enum CodingKeys: String, CodingKey {
        case tokenID = "token_id", login, kind, label, createdAt = "created_at", expiresAt = "expires_at", revokedAt = "revoked_at"
    }
}

/// What lets the HTTP server act for a login: web-enabling it, API tokens, the
/// authenticator login `sbie serve` connects as.
public enum WebLogins {
    /// Lets the server's authenticators act for `login` (`GRANT login TO sbie_authenticator`).
    /// Needs a superuser or a role with ADMIN on the login (CREATEROLE). Refuses what the web
    /// must never become: group roles, superusers, and members of `workflow_owner` or
    /// `workflow_daemon` (the HTTP layer would then hold the owner's or the daemon's rights).
    /// - Throws: `LoginError.notPermitted`; `LoginError.invalidName` for such a role.
    public static func enable(_ login: String, on connection: isolated Connection) throws {
        let row = try connection.query(
            """
            SELECT rolcanlogin AND NOT rolsuper AND NOT pg_has_role(oid, 'workflow_owner', 'MEMBER')
                   AND NOT pg_has_role(oid, 'workflow_daemon', 'MEMBER'), true
            FROM pg_roles WHERE rolname = $1
            """, [login], name: "login role").rows.first
        guard let row, try row.decode(0, as: Bool.self) else {
            throw LoginError.invalidName(login)
        }
        do {
            try connection.executeScript("GRANT \(try connection.quoteIdentifier(login)) TO sbie_authenticator", name: "web-enable login")
        } catch let error as PostgresError where error.sqlState == "42501" {
            throw LoginError.notPermitted(error.message)
        }
    }

    /// Issues an API token for `login` (enabling the login for the web first). The token is
    /// returned once; the database keeps its SHA-256 only.
    /// - Parameters:
    ///   - expiresAt: nil for a token that does not expire (revoke it with `revokeAPIToken`).
    /// - Returns: the token's id (for revoking) and the token.
    public static func issueAPIToken(
        login: String, expiresAt: Timestamp?, label: String?, on connection: isolated Connection
    ) throws -> (id: UUID, token: String) {
        try WebLogins.enable(login, on: connection)
        let token = Tokens.generate()
        let id: UUID = try connection.query("SELECT issue_api_token($1, $2, $3, $4)", [login, token, expiresAt?.iso8601, label],
                                 name: "issue api token").rows[0].decode(0)
        return (id, token)
    }

    /// Revokes a token by id. - Returns: false when no unrevoked token has that id.
    @discardableResult
    public static func revokeAPIToken(_ id: UUID, on connection: isolated Connection) throws -> Bool {
        try connection.execute("UPDATE api_tokens SET revoked_at = clock_timestamp() WHERE token_id = $1 AND revoked_at IS NULL",
                    [id], name: "revoke api token") == 1
    }

    /// Every token, newest first (owner and auditors).
    public static func apiTokens(on connection: isolated Connection) throws -> [APITokenInfo] {
        try connection.query("SELECT token_id, login::text, kind, label, created_at, expires_at, revoked_at FROM api_tokens ORDER BY created_at DESC",
                  name: "list api tokens").rows.map { row in
            APITokenInfo(tokenID: try row.decode(0), login: try row.decode(1), kind: try row.decode(2), label: try row.decodeIfPresent(3),
                         createdAt: try row.decode(4), expiresAt: try row.decodeIfPresent(5), revokedAt: try row.decodeIfPresent(6))
        }
    }

    /// Creates the HTTP server's authenticator login: LOGIN NOINHERIT, a member of
    /// `sbie_authenticator` only, so it can do nothing but switch into web-enabled logins
    /// and `web_anon`.
    public static func createAuthenticator(
        _ name: String, password: String?, on connection: isolated Connection
    ) throws {
        var statement = "CREATE ROLE \(try connection.quoteIdentifier(name)) LOGIN NOINHERIT"
        if let password { statement += " PASSWORD \(try connection.quoteLiteral(password))" }
        statement += " IN ROLE sbie_authenticator"
        do {
            try connection.executeScript(statement, name: "create authenticator")
        } catch let error as PostgresError {
            switch error.sqlState {
            case "42710": throw LoginError.alreadyExists(name)
            case "42501": throw LoginError.notPermitted(error.message)
            default: throw error
            }
        }
    }
}
