import Crypto
import Foundation
import Logging

/// One numbered SQL file from `Sql/`, e.g. `0001_event_store.sql` (version 1).
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
    /// Lowercase hex SHA-256 of the file's bytes.
    public var checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Why migrations could not be applied.
public enum MigrationError: Error, CustomStringConvertible, Equatable {
    /// No `Sql/` folder was found in the places searched.
    case directoryNotFound(searched: [String])
    /// A file in `Sql/` is not named `NNNN_name.sql`.
    case badFileName(String)
    /// Two files share a version number.
    case duplicateVersion(Int)
    /// An applied migration's file has changed since it was applied.
    case checksumMismatch(version: Int, name: String, applied: String, file: String)
    /// The database records a migration that no file provides.
    case missingFile(version: Int, name: String)

    public var description: String {
        switch self {
        case .directoryNotFound(let searched):
            return "no Sql/ migrations folder found (searched: \(searched.joined(separator: ", "))); pass --sql-dir"
        case .badFileName(let name):
            return "migration file \(name) is not named NNNN_description.sql"
        case .duplicateVersion(let version):
            return "two migration files have version \(version)"
        case .checksumMismatch(let version, let name, let applied, let file):
            return "migration \(version) (\(name)) was applied with checksum \(applied.prefix(12))… but the file now has "
                + "\(file.prefix(12))…; applied migrations must never change: add a new migration instead"
        case .missingFile(let version, let name):
            return "the database has migration \(version) (\(name)) applied, but no file provides it"
        }
    }
}

/// Applies `Sql/NNNN_name.sql` files in version order, each exactly once, each in
/// its own transaction together with its row in `schema_migrations` (version,
/// name, SHA-256 checksum, applied_at). A session-level advisory lock serialises
/// concurrent migrators.
///
/// Objects live in schema `sbie` (created by 0007). Migrations before 0007 run with `search_path = public, sbie` (they were
/// written for schema public) and 0007 moves their objects to sbie; later ones run with
/// `sbie, public`, so unqualified names create and find objects in sbie. After each
/// migration, in its transaction, `sbie.harden()` (from 0007 on) pins every function's
/// search_path to `pg_catalog, sbie, pg_temp` and re-revokes what PostgreSQL grants
/// PUBLIC by default.
public struct Migrator: Sendable {
    public var migrations: [Migration]

    public init(migrations: [Migration]) { self.migrations = migrations.sorted { $0.version < $1.version } }

    /// Loads every `*.sql` file of a folder.
    /// - Throws: `MigrationError.badFileName` / `.duplicateVersion`, or a file-system error.
    public static func load(from directory: URL) throws -> Migrator {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        var seen = Set<Int>()
        var migrations: [Migration] = []
        for file in names {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else {
                throw MigrationError.badFileName(file)
            }
            guard seen.insert(version).inserted else { throw MigrationError.duplicateVersion(version) }
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        return Migrator(migrations: migrations)
    }

    /// The running executable's path: `/proc/self/exe` (so `sbie` found on `PATH` is located
    /// too), else `argv[0]`.
    public static var runningExecutable: String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first
    }

    /// Finds the `Sql/` folder; see `locate`.
    /// - Throws: `MigrationError.directoryNotFound` naming the places searched.
    public static func locateDirectory(explicit: String? = nil) throws -> URL {
        try locate(explicit: explicit).directory
    }

    /// Finds the `Sql/` folder, and says how: `explicit` (`--sql-dir`) if given, else
    /// `$SBIE_SQL_DIR`, else `Sql/` in a parent of the running executable (its own
    /// checkout: `.build/release/sbie` finds the `Sql/` it was built with), and only when
    /// the executable has none, `Sql/` in the current directory. So `sbie migrate` run from
    /// another checkout never silently applies that checkout's migrations.
    /// - Returns: the folder and a phrase naming where it came from, for the log.
    /// - Throws: `MigrationError.directoryNotFound` naming the places searched.
    public static func locate(explicit: String? = nil,
                              executable: String? = runningExecutable,
                              currentDirectory: String = FileManager.default.currentDirectoryPath,
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (directory: URL, source: String) {
        if let explicit { return (URL(fileURLWithPath: explicit), "--sql-dir") }
        if let env = environment["SBIE_SQL_DIR"], !env.isEmpty { return (URL(fileURLWithPath: env), "$SBIE_SQL_DIR") }
        var candidates: [(URL, String)] = []
        if let executable {
            var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<6 {
                candidates.append((dir.appendingPathComponent("Sql"), "the running executable's checkout"))
                dir = dir.deletingLastPathComponent()
            }
        }
        candidates.append((URL(fileURLWithPath: currentDirectory).appendingPathComponent("Sql"),
                           "the current directory (the running executable's checkout has no Sql/)"))
        for (candidate, source) in candidates {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), isDirectory.boolValue {
                return (candidate.standardizedFileURL, source)
            }
        }
        throw MigrationError.directoryNotFound(searched: candidates.map(\.0.path))
    }

    /// Applies the migrations not yet applied.
    /// - Returns: the migrations applied by this call (empty when the schema was current).
    /// - Throws: `MigrationError.checksumMismatch` / `.missingFile` before applying
    ///   anything; `PostgresError` when a migration's SQL fails (that migration is
    ///   rolled back, earlier ones stay applied).
    @discardableResult
    public func migrate(on connection: isolated Connection, logger: Logger) throws -> [Migration] {
        try Self.apply(self, logger: logger, on: connection)
    }
}

extension Migrator {
    /// The schema that holds the project's objects (`Sql/0007_security.sql`).
    public static let schema = "sbie"

    fileprivate static func apply(
        _ migrator: Migrator, logger: Logger, on connection: isolated Connection
    ) throws -> [Migration] {
        try connection.query("SELECT pg_catalog.pg_advisory_lock($1::bigint)", [SharedNames.AdvisoryLock.migrations])
        defer { _ = try? connection.query("SELECT pg_catalog.pg_advisory_unlock($1::bigint)", [SharedNames.AdvisoryLock.migrations]) }
        let hardened: Bool = try connection.query("SELECT pg_catalog.to_regprocedure('sbie.harden()') IS NOT NULL").rows[0].decode(0)
        try connection.executeScript(hardened ? "SET search_path = sbie, public" : "SET search_path = public, sbie")
        try connection.executeScript("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var applied: [Int: (name: String, checksum: String)] = [:]
        for row in try connection.query("SELECT version, name, checksum FROM schema_migrations").rows {
            applied[try row.decode(0)] = (try row.decode(1), try row.decode(2))
        }
        let byVersion = Dictionary(uniqueKeysWithValues: migrator.migrations.map { ($0.version, $0) })
        for (version, record) in applied.sorted(by: { $0.key < $1.key }) {
            guard let file = byVersion[version] else {
                throw MigrationError.missingFile(version: version, name: record.name)
            }
            guard file.checksum == record.checksum else {
                throw MigrationError.checksumMismatch(
                    version: version, name: file.name, applied: record.checksum, file: file.checksum)
            }
        }
        var done: [Migration] = []
        for migration in migrator.migrations where applied[migration.version] == nil {
            let settings = try migrationSettings(on: connection)
            try connection.transaction {
                try $0.executeScript(settings)
                try $0.executeScript(migration.sql, name: "migration \(migration.version)_\(migration.name)")
                try $0.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [migration.version, migration.name, migration.checksum])
                try harden(on: $0)
            }
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            done.append(migration)
        }
        if done.isEmpty { try harden(on: connection) }
        try connection.executeScript("SET search_path = sbie")  // as Connection sets it
        return done
    }

    /// Before 0007 (no `sbie.harden()` yet): `public, sbie`, so that 0001-0006, written for
    /// schema public (0004 pins `search_path = public, pg_temp` on a SQL function, whose body
    /// PostgreSQL checks when it is created), create and replace their objects in public;
    /// 0007 then moves them all to sbie. From 0007 on: `sbie, public`, and function bodies
    /// are not checked at creation (`check_function_bodies = off`, as pg_dump does), because
    /// a later migration may pin a function to `pg_catalog, public, pg_temp` while our
    /// tables are in sbie; `sbie.harden()` re-pins it to sbie in the same transaction.
    private static func migrationSettings(on connection: isolated Connection) throws -> String {
        let hardened: Bool = try connection.query("SELECT pg_catalog.to_regprocedure('sbie.harden()') IS NOT NULL").rows[0].decode(0)
        return hardened ? "SET LOCAL search_path = sbie, public; SET LOCAL check_function_bodies = off"
            : "SET LOCAL search_path = public, sbie"
    }

    /// Runs `sbie.harden()` (0007: search_path of every function, no CREATE on public for
    /// PUBLIC, ...) when it exists and this login may run it.
    private static func harden(on connection: isolated Connection) throws {
        let callable: Bool = try connection.query(
            """
            SELECT pg_catalog.to_regprocedure('sbie.harden()') IS NOT NULL
               AND pg_catalog.has_function_privilege('sbie.harden()', 'EXECUTE')
            """).rows[0].decode(0)
        if callable { try connection.query("SELECT sbie.harden()") }
    }
}
