import Foundation

/// The group roles a login can be made a member of (created by `Sql/0004_roles_and_security.sql`;
/// what each may do is in `docs/security.md`).
public enum LoginRole: String, Sendable, CaseIterable, Codable {
    /// Files its own agency's commands; reads its agency's commands and projection rows.
    case agencyClerk = "agency_clerk"
    /// Submits board commands; reads everything.
    case boardStaff = "board_staff"
    /// Submits register commands (ICE list import, renames, corrections); reads everything.
    case registrar
    /// Reads everything, writes nothing.
    case auditor
    /// Runs the daemon: claims commands, appends events, writes projections.
    case daemon = "workflow_daemon"
}

/// A database login that belongs to one of the `LoginRole` groups (or is mapped to an agency).
public struct LoginInfo: Sendable, Equatable, Codable {
    /// The role name, i.e. the `user` of its connection string.
    public var name: String
    /// The `LoginRole` groups it belongs to (raw values, sorted).
    public var roles: [String]
    /// For clerks: the agency it files for (`agency_logins`).
    public var agencyID: String?
    /// False for a role without LOGIN.
    public var canLogin: Bool

    /// JSON keys in snake_case, as every other JSON the project prints.
    enum CodingKeys: String, CodingKey {
        case name, roles, agencyID = "agency_id", canLogin = "can_login"
    }
}

/// Why a login could not be created.
public enum LoginError: Error, Equatable, CustomStringConvertible {
    /// Not a usable role name (1-63 bytes of `A-Za-z0-9_.@-`, not starting with `pg_`,
    /// not one of the group roles).
    case invalidName(String)
    /// A clerk needs an agency id that is a lowercase slug (`tallahassee-police-department`).
    case invalidAgency(String)
    /// A role of that name already exists (SQLSTATE 42710).
    case alreadyExists(String)
    /// The connected login may not create roles or write `agency_logins` (SQLSTATE 42501).
    case notPermitted(String)
    /// No login of that name in a `LoginRole` group (drop, remap), or it is not a clerk (remap).
    case unknownLogin(String, expected: String)
    /// PostgreSQL will not drop the role: it owns objects or holds privileges (2BP01), or
    /// it is the connected login (55006).
    case cannotDrop(String, reason: String)

    public var description: String {
        switch self {
        case .invalidName(let name):
            return "'\(name)' is not a usable login name: 1-63 characters of A-Z a-z 0-9 _ . @ -, "
                + "not starting with pg_, not a group role"
        case .invalidAgency(let agency):
            return "'\(agency)' is not an agency id (a lowercase slug such as tallahassee-police-department)"
        case .alreadyExists(let name): return "a role named '\(name)' already exists"
        case .notPermitted(let message):
            return "not permitted: \(message) (run as a superuser, or a workflow_owner member with CREATEROLE)"
        case .unknownLogin(let name, let expected): return "no \(expected) login named '\(name)' (see `sbie login list`)"
        case .cannotDrop(let name, let reason): return "cannot drop login '\(name)': \(reason)"
        }
    }
}

/// Database logins of the workflow's roles (`LoginRole`): create, drop, remap a clerk, list.
public enum Logins {
    /// Creates a login role in one group, and for a clerk maps it to its agency, in one transaction.
    ///
    /// `CREATE ROLE` takes no parameters, so the name and password are quoted with
    /// `PQescapeIdentifier` / `PQescapeLiteral` after validation.
    /// - Parameters:
    ///   - name: the login (see `LoginError.invalidName` for the shape).
    ///   - role: the group it joins.
    ///   - agencyID: required for `.agencyClerk` (lowercase slug), ignored otherwise.
    ///   - password: optional; without one the login authenticates however pg_hba.conf
    ///     allows (peer, certificate, trust on a test cluster).
    /// - Throws: `LoginError`; `PostgresError` for other database failures.
    public static func create(
        _ name: String, role: LoginRole, agencyID: String? = nil, password: String? = nil, on connection: isolated Connection
    ) throws {
        let groups = Set(LoginRole.allCases.map(\.rawValue)).union(["workflow_owner", "public"])
        guard (1...63).contains(name.utf8.count), !name.lowercased().hasPrefix("pg_"),
              !groups.contains(name.lowercased()),
              name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_.@-".unicodeScalars.contains($0)) })
        else { throw LoginError.invalidName(name) }
        let agency: String?
        if role == .agencyClerk {
            guard let agencyID, let slug = AgencyID(slug: agencyID) else { throw LoginError.invalidAgency(agencyID ?? "") }
            agency = slug.slug
        } else {
            agency = nil
        }
        var statement = "CREATE ROLE \(try connection.quoteIdentifier(name)) LOGIN"
        if let password { statement += " PASSWORD \(try connection.quoteLiteral(password))" }
        statement += " IN ROLE \(try connection.quoteIdentifier(role.rawValue))"
        let create = statement
        do {
            try connection.transaction { c in
                try c.executeScript(create, name: "create login")
                if let agency {
                    try c.query("INSERT INTO agency_logins (login, agency_id) VALUES ($1, $2)", [name, agency],
                                name: "map login to agency")
                }
            }
        } catch let error as PostgresError {
            switch error.sqlState {
            case PostgresError.State.duplicateObject: throw LoginError.alreadyExists(name)
            case PostgresError.State.insufficientPrivilege: throw LoginError.notPermitted(error.message)
            default: throw error
            }
        }
    }

    /// Drops a login made by `Logins.create` (a member of a `LoginRole` group, or a login mapped
    /// to an agency) and its agency mapping, in one transaction. The events and commands it
    /// caused keep its name as their actor.
    /// - Returns: the login as it was.
    /// - Throws: `LoginError.unknownLogin` for any other role (never drops an arbitrary role),
    ///   `.notPermitted` (42501), `.cannotDrop` (2BP01, 55006); `PostgresError` otherwise.
    @discardableResult
    public static func drop(_ name: String, on connection: isolated Connection) throws -> LoginInfo {
        do {
            guard let login = try Logins.list(on: connection).first(where: { $0.name == name }) else {
                throw LoginError.unknownLogin(name, expected: "sbie")
            }
            let drop = "DROP ROLE \(try connection.quoteIdentifier(name))"
            try connection.transaction { c in
                try c.query("DELETE FROM agency_logins WHERE login = $1", [name], name: "unmap login")
                try c.executeScript(drop, name: "drop login")
            }
            return login
        } catch let error as PostgresError {
            switch error.sqlState {
            case PostgresError.State.insufficientPrivilege: throw LoginError.notPermitted(error.message)
            case PostgresError.State.dependentObjectsStillExist, PostgresError.State.objectInUse: throw LoginError.cannotDrop(name, reason: error.message)
            default: throw error
            }
        }
    }

    /// Maps a clerk login to another agency (or to one, when it has none).
    /// - Parameter agencyID: the agency's id, a lowercase slug.
    /// - Returns: the agency it filed for before, if any.
    /// - Throws: `LoginError.invalidAgency`, `.unknownLogin` (not an `agency_clerk` member),
    ///   `.notPermitted` (42501); `PostgresError` otherwise.
    @discardableResult
    public static func remapClerk(
        _ name: String, to agencyID: String, on connection: isolated Connection
    ) throws -> String? {
        guard let agency = AgencyID(slug: agencyID) else { throw LoginError.invalidAgency(agencyID) }
        do {
            guard let login = try Logins.list(on: connection).first(where: { $0.name == name }),
                  login.roles.contains(LoginRole.agencyClerk.rawValue)
            else { throw LoginError.unknownLogin(name, expected: "agency_clerk") }
            try connection.query(
                """
                INSERT INTO agency_logins (login, agency_id) VALUES ($1, $2)
                ON CONFLICT (login) DO UPDATE SET agency_id = EXCLUDED.agency_id
                """, [name, agency.slug], name: "remap login")
            return login.agencyID
        } catch let error as PostgresError where error.sqlState == PostgresError.State.insufficientPrivilege {
            throw LoginError.notPermitted(error.message)
        }
    }

    /// Every login in a `LoginRole` group or mapped to an agency, by name.
    /// - Throws: `PostgresError` (42501 when the connected login may not read `agency_logins`:
    ///   only the owner and auditors may).
    public static func list(on connection: isolated Connection) throws -> [LoginInfo] {
        let groups = PostgresArray(LoginRole.allCases.map(\.rawValue))
        return try connection.query(
            """
            SELECT r.rolname::text, r.rolcanlogin,
                   coalesce(array_to_string(ARRAY(
                       SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                       WHERE m.member = r.oid AND g.rolname = ANY ($1::text[]) ORDER BY g.rolname), ','), ''),
                   a.agency_id
            FROM pg_roles r LEFT JOIN agency_logins a ON a.login = r.rolname
            WHERE a.login IS NOT NULL OR EXISTS (
                SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                WHERE m.member = r.oid AND g.rolname = ANY ($1::text[]))
            ORDER BY r.rolname
            """, [groups], name: "list logins"
        ).rows.map { row in
            LoginInfo(
                name: try row.decode(0),
                roles: try row.decode(2, as: String.self).split(separator: ",").map(String.init),
                agencyID: try row.decodeIfPresent(3), canLogin: try row.decode(1))
        }
    }
}
