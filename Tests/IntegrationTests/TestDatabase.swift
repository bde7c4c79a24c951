import Foundation
import Logging
import Testing
import Workflow

/// Live-PostgreSQL test support.
///
/// `SBIE_TEST_DSN` names a server on which the tests may create and drop
/// databases (`scripts/test` starts a throwaway one when it is unset). Without it,
/// database tests are skipped locally but **fail** under CI (`CI` set), so a CI
/// run that never started PostgreSQL cannot pass.
enum TestDatabase {
    static let dsn = ProcessInfo.processInfo.environment["SBIE_TEST_DSN"]
    static let requiredInCI = ProcessInfo.processInfo.environment["CI"] != nil
    static let available = dsn != nil || requiredInCI

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()

    /// The repository root (for `Sql/` and `data/`).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func adminDSN() throws -> String {
        try #require(dsn, "CI is set but SBIE_TEST_DSN is not: the database tests need a live PostgreSQL")
    }

    /// Creates an empty database with a unique name and returns its connection string.
    /// - Parameter migrated: apply `Sql/` migrations.
    static func create(migrated: Bool = true) async throws -> String {
        let admin = try await Connection.connect(try adminDSN(), logger: logger)
        let name = "sbie_test_\(UUID().uuidString.prefix(8).lowercased())"
        try await admin.executeScript("CREATE DATABASE \(name) TEMPLATE template0 ENCODING 'UTF8'")
        await admin.close()
        let dsn = ConnectionString.replacingDatabase(in: try adminDSN(), with: name)
        if migrated {
            let connection = try await Connection.connect(dsn, logger: logger)
            try await Migrator.load(from: root.appendingPathComponent("Sql")).migrate(on: connection, logger: logger)
            await connection.close()
        }
        return dsn
    }

    /// Drops a database made by `create` (best effort).
    static func drop(_ dsn: String) async {
        guard let admin = try? await Connection.connect(try adminDSN(), logger: logger) else { return }
        let name = dsn.components(separatedBy: "dbname='").last?.replacingOccurrences(of: "'", with: "") ?? ""
        guard name.hasPrefix("sbie_test_") else { return }
        _ = try? await admin.executeScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        await admin.close()
    }

    /// Runs `body` with a fresh migrated database and drops it afterwards.
    static func with<T>(migrated: Bool = true, _ body: (String) async throws -> T) async throws -> T {
        let dsn = try await create(migrated: migrated)
        do {
            let value = try await body(dsn)
            await drop(dsn)
            return value
        } catch {
            await drop(dsn)
            throw error
        }
    }
}
