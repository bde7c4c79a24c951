import Foundation

/// Small helpers over libpq connection strings (`key=value …`) and `postgres://` URLs.
public enum ConnectionString {
    /// The same server and credentials with another database name.
    ///
    /// Works for both forms: a URL's path is replaced; a key/value string gets a
    /// trailing `dbname=` (libpq takes the last value of a repeated keyword).
    public static func replacingDatabase(in conninfo: String, with database: String) -> String {
        if conninfo.hasPrefix("postgres://") || conninfo.hasPrefix("postgresql://"),
            var components = URLComponents(string: conninfo)
        {
            components.path = "/" + database
            return components.string ?? conninfo
        }
        let escaped = database.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        return conninfo.isEmpty ? "dbname='\(escaped)'" : "\(conninfo) dbname='\(escaped)'"
    }

    /// The same server and database, logging in as another role.
    public static func replacingUser(in conninfo: String, with user: String, password: String? = nil) -> String {
        if conninfo.hasPrefix("postgres://") || conninfo.hasPrefix("postgresql://"),
            var components = URLComponents(string: conninfo)
        {
            components.user = user
            components.password = password
            return components.string ?? conninfo
        }
        func quote(_ s: String) -> String {
            "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        }
        var result = conninfo.isEmpty ? "user=\(quote(user))" : "\(conninfo) user=\(quote(user))"
        if let password { result += " password=\(quote(password))" }
        return result
    }
}
