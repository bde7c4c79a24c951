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
        return conninfo.isEmpty ? "dbname=\(quoted(database))" : "\(conninfo) dbname=\(quoted(database))"
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
        var result = conninfo.isEmpty ? "user=\(quoted(user))" : "\(conninfo) user=\(quoted(user))"
        if let password { result += " password=\(quoted(password))" }
        return result
    }

    /// A libpq key/value value in single quotes, with `\` and `'` escaped by a backslash.
    /// Scalar by scalar: Foundation's `replacingOccurrences` mishandled text with NUL
    /// characters (found by fuzz/ConnInfo.swift).
    static func quoted(_ value: String) -> String { backslashQuoted(value, in: "'") }

    /// `value` between two `quote`s, each `quote` and backslash in it preceded by a backslash
    /// (conninfo values and PostgreSQL array elements both quote this way).
    static func backslashQuoted(_ value: String, in quote: Unicode.Scalar) -> String {
        var result = String.UnicodeScalarView()
        result.append(quote)
        for scalar in value.unicodeScalars {
            if scalar == "\\" || scalar == quote { result.append("\\") }
            result.append(scalar)
        }
        result.append(quote)
        return String(result)
    }
}
