import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Workflow

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API (/v1), health and metrics; with --with-daemon, also decide commands.",
        discussion: """
            Connects as an authenticator login (sbie login create-authenticator), which can only \
            switch into web-enabled logins and web_anon: each request runs in one transaction as \
            the caller's own login, so PostgreSQL enforces who may read and do what. Credentials: \
            Authorization: Bearer <token> (sbie login token create), or a session from \
            POST /v1/session with a password PostgreSQL checks; none: the public role.

            --listen defaults to $SBIE_LISTEN, then 127.0.0.1:8080 (loopback). Port 0 picks a \
            free port; the address is printed once listening. SIGTERM or SIGINT: stops accepting, \
            finishes requests in flight (and the daemon's batch), exits 0.

            --read-database (or $SBIE_READ_DATABASE_URL), the authenticator's connection string on a hot \
            standby: anonymous read-only requests are served there, with the Sbie-Replica-Lag header; \
            requests with a token or a session, writes, readiness and metrics stay on the primary.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "host:port to listen on (default: $SBIE_LISTEN, else 127.0.0.1:8080).") var listen: String?
    @Flag(help: "Also run the daemon in this process (one ServiceGroup; SIGTERM drains both).") var withDaemon = false
    @Option(help: ArgumentHelp("The daemon's connection string (a workflow_daemon login) for --with-daemon.",
                               discussion: "Default: $SBIE_DAEMON_DATABASE_URL, else --database."))
    var daemonDatabase: String?
    @Option(help: "Database connections for requests.") var poolSize = 8
    @Option(help: "Seconds a due command may wait before /health/ready reports the daemon blocked.") var readyMaxQueueAge = 30
    @Option(help: "Seconds between heartbeats on idle event streams.") var heartbeat = 15
    @Flag(help: "Mark the session cookie Secure (behind TLS).") var secureCookies = false
    @Option(help: "Folder of NNNN_name.sql files whose latest version /health/ready expects (default: $SBIE_SQL_DIR, else the executable's checkout's Sql/, else ./Sql).")
    var sqlDir: String?

    func run() async throws {
        let logger = db.logger("sbie.serve")
        let address = listen ?? ProcessInfo.processInfo.environment["SBIE_LISTEN"] ?? "127.0.0.1:8080"
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port), colon > address.startIndex
        else {
            printError("--listen must be host:port, e.g. 127.0.0.1:8080")
            throw ExitCode(2)
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var configuration = FrontDoorConfiguration(conninfo: db.conninfo)
        configuration.host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        configuration.port = port
        configuration.poolSize = max(1, poolSize)
        // Clamped (1 s .. 1 day), so no number given can overflow a clock's deadline.
        configuration.readyMaxQueueAge = .seconds(min(max(1, readyMaxQueueAge), 86_400))
        configuration.heartbeat = .seconds(min(max(1, heartbeat), 86_400))
        configuration.secureCookies = secureCookies
        // The in-process daemon's own status answers /health/ready (nil: the daemon runs elsewhere).
        let daemonStatus = DaemonStatus()
        if withDaemon { configuration.daemonStatus = daemonStatus }
        if let (directory, source) = try? Migrator.locate(explicit: sqlDir) {
            configuration.expectedMigration = (try? Migrator.load(from: directory))?.migrations.last?.version
            logger.info("migrations expected from \(directory.path) (\(source))", metadata: ["latest": "\(configuration.expectedMigration.map(String.init) ?? "none")"])
        } else {
            logger.warning("no Sql/ folder found: /health/ready does not check the migration version (give --sql-dir or $SBIE_SQL_DIR)")
        }
        // Fail fast with exit code 2 when the database is unreachable.
        do {
            let probe = try await Connection.connect(db.conninfo, logger: logger)
            await probe.close()
        } catch let error as PostgresError {
            printError("cannot connect to PostgreSQL: \(error.message)")
            throw ExitCode(2)
        }
        // A hot standby for anonymous reads: not in recovery is a misconfiguration (exit 2);
        // unreachable, the server starts and reads the primary until it answers.
        if let readConninfo = db.readConninfo {
            do {
                let probe = try await Connection.connect(readConninfo, logger: logger)
                let status = try await Standby.status(on: probe)
                await probe.close()
                guard status.inRecovery else {
                    printError("--read-database names a server that is not a standby (pg_is_in_recovery() is false: a primary, "
                               + "or a promoted standby). Name a hot standby of --database, or unset it to read the primary.")
                    throw ExitCode(2)
                }
                logger.info("anonymous reads on the standby", metadata: ["replayed_up_to": "\(status.replayLSN ?? "?")"])
            } catch let error as PostgresError {
                logger.warning("the standby (--read-database) is unreachable: reading from the primary until it answers",
                               metadata: ["error": "\(error.message)"])
            }
            configuration.readConninfo = readConninfo
        }
        let front = FrontDoorService(
            configuration: configuration, metrics: FrontDoorMetrics(registry: registry), logger: logger
        ) { host, port in
            let line = "sbie serve: listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: front, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if withDaemon {
            let daemonConninfo = daemonDatabase ?? ProcessInfo.processInfo.environment["SBIE_DAEMON_DATABASE_URL"] ?? db.conninfo
            let daemon = DaemonService(
                conninfo: daemonConninfo, configuration: CommandProcessor.Configuration(), pollInterval: .milliseconds(1000),
                once: false, status: daemonStatus, logger: db.logger("sbie.daemon"))
            // The agency timeline (a catch-up projection) follows the log beside the daemon, as in `sbie run`.
            let timeline = AgencyTimelineService(conninfo: daemonConninfo, pollInterval: .milliseconds(1000), once: false,
                                                 logger: db.logger("sbie.timeline"))
            // Register snapshots for point-in-time reads (issue 17 item 6), as in `sbie run`.
            let snapshots = SnapshotService(conninfo: daemonConninfo, logger: db.logger("sbie.snapshots"))
            for service in [daemon, timeline, snapshots] as [any Service] {
                services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup,
                                      failureTerminationBehavior: .gracefullyShutdownGroup))
            }
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as DaemonService.Fatal {
            printError(error.message)
            throw ExitCode(2)
        }
    }
}

extension Login {
    /// `sbie login web-enable LOGIN`: lets the HTTP server act for a login.
    struct WebEnable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "web-enable",
            abstract: "Let the HTTP server's authenticators act for a login (GRANT login TO sbie_authenticator).")
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "The login.") var login: String

        func run() async throws {
            try await changeWebLogins(db) { try await WebLogins.enable(login, on: $0) }
            print("login \(login) may now be used through sbie serve (tokens or password sessions)")
        }
    }

    /// `sbie login create-authenticator NAME`: the login `sbie serve` connects as.
    struct CreateAuthenticator: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-authenticator",
            abstract: "Create the login sbie serve connects as (NOINHERIT; may only switch into web-enabled logins).")
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "The login name.") var name: String
        @Option(help: "Its password (optional). If the authenticator exists already, its password is set to this one.") var password: String?

        /// Idempotent, so the README's steps work on a database that already has it (e.g.
        /// after `scripts/demo` served its pages): an existing authenticator is kept (exit 0),
        /// with its password set when `--password` is given; a role of that name that is not
        /// an authenticator is refused (exit 1).
        func run() async throws {
            let connection = try await db.connect(db.logger("sbie.login"))
            do {
                try await WebLogins.createAuthenticator(name, password: password, on: connection)
            } catch LoginError.alreadyExists {
                let isAuthenticator = try await connection.query(
                    "SELECT pg_catalog.pg_has_role($1::text, 'sbie_authenticator', 'MEMBER') AND NOT r.rolinherit AND r.rolcanlogin FROM pg_catalog.pg_roles r WHERE r.rolname = $1::text",
                    [name], name: "is authenticator").rows.first?.decode(0, as: Bool.self) ?? false
                guard isAuthenticator else {
                    printError("a role named '\(name)' already exists and is not an authenticator (a NOINHERIT login in sbie_authenticator); choose another name")
                    throw ExitCode(1)
                }
                if let password {
                    do {
                        try await connection.executeScript("ALTER ROLE \(try connection.quoteIdentifier(name)) PASSWORD \(try connection.quoteLiteral(password))", name: "set authenticator password")
                    } catch let error as PostgresError where error.sqlState == "42501" {
                        printError("authenticator \(name) exists, and this login may not set its password: \(error.message)")
                        throw ExitCode(1)
                    }
                    print("authenticator \(name) exists already; its password is now the one given")
                } else {
                    print("authenticator \(name) exists already; unchanged (give --password to set its password)")
                }
                return
            } catch let error as LoginError {
                printError("\(error)")
                throw ExitCode(1)
            }
            print("created authenticator \(name)")
        }
    }

    /// `sbie login token create|revoke|list`.
    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "API tokens for sbie serve (Authorization: Bearer): shown once, stored as a SHA-256 hash.",
            subcommands: [Create.self, Revoke.self, List.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Issue a token for a login (web-enabling it); prints the token once on standard output.")
            @OptionGroup var db: DatabaseOptions
            @Argument(help: "The login the token acts for.") var login: String
            @Option(help: "Expiry: a number of days, or a date (YYYY-MM-DD, midnight UTC). Default: 90 days.") var expires = "90"
            @Flag(help: "A token that never expires (revoke it when done).") var noExpiry = false
            @Option(help: "A label, e.g. who holds it.") var label: String?
            @Flag(help: "Print JSON.") var json = false

            func run() async throws {
                var expiresAt: Timestamp?
                if !noExpiry {
                    if let days = Int(expires), (1...3650).contains(days) {
                        expiresAt = Timestamp(Date().addingTimeInterval(Double(days) * 86_400))
                    } else if let date = Timestamp(parsing: expires + "T00:00:00Z") ?? Timestamp(parsing: expires) {
                        expiresAt = date
                    } else {
                        printError("--expires must be 1-3650 days or a date YYYY-MM-DD")
                        throw ExitCode(2)
                    }
                    if let expiresAt, expiresAt <= Timestamp(Date()) {
                        printError("--expires \(expires) is in the past (\(expiresAt.iso8601)): a token must expire after now; give a later date or a number of days")
                        throw ExitCode(2)
                    }
                }
                let connection = try await db.connect(db.logger("sbie.login"))
                do {
                    let issued = try await WebLogins.issueAPIToken(login: login, expiresAt: expiresAt, label: label, on: connection)
                    if json {
                        try printJSON(["token_id": issued.id.uuidString.lowercased(), "token": issued.token, "login": login,
                                       "expires_at": expiresAt?.iso8601 ?? ""])
                    } else {
                        print(issued.token)
                        FileHandle.standardError.write(Data(
                            "token \(issued.id.uuidString.lowercased()) for \(login)\(expiresAt.map { ", expires \($0.iso8601)" } ?? ", no expiry"); shown once\n".utf8))
                    }
                } catch let error as LoginError {
                    printError("\(error)")
                    throw ExitCode(1)
                } catch let error as PostgresError where error.sqlState == "22023" || error.sqlState == "42501" {
                    printError(error.message)
                    throw ExitCode(1)
                }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a token by its id.")
            @OptionGroup var db: DatabaseOptions
            @Argument(help: "The token's id (printed when it was created).") var tokenID: UUID

            func run() async throws {
                let connection = try await db.connect(db.logger("sbie.login"))
                guard try await WebLogins.revokeAPIToken(tokenID, on: connection) else {
                    printError("no unrevoked token \(tokenID.uuidString.lowercased())")
                    throw ExitCode(1)
                }
                print("revoked token \(tokenID.uuidString.lowercased())")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List tokens (never the tokens themselves).")
            @OptionGroup var db: DatabaseOptions
            @Flag(help: "Print JSON.") var json = false

            func run() async throws {
                let connection = try await db.connect(db.logger("sbie.login"))
                let tokens = try await WebLogins.apiTokens(on: connection)
                if json { return try printJSON(tokens) }
                printTable(["token", "login", "kind", "expires", "revoked", "label"], tokens.map {
                    [$0.tokenID.uuidString.lowercased(), $0.login, $0.kind, $0.expiresAt?.iso8601 ?? "never",
                     $0.revokedAt?.iso8601 ?? "", $0.label ?? ""]
                })
            }
        }
    }
}

/// Runs a change of the web logins on a new connection; a `LoginError` is printed and exits 1.
private func changeWebLogins(_ db: DatabaseOptions, _ change: (Connection) async throws -> Void) async throws {
    let connection = try await db.connect(db.logger("sbie.login"))
    do {
        try await change(connection)
    } catch let error as LoginError {
        printError("\(error)")
        throw ExitCode(1)
    }
}
