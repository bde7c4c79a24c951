import ArgumentParser
import Foundation
import Logging
import Workflow

@main
struct Sbie: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sbie",
        abstract: "Event-sourced record of 287(g) termination requests before Florida's State Board of Immigration Enforcement.",
        discussion: """
            One executable for the daemon and for the command-line client of every actor: \
            agencies file termination requests, board staff schedule reviews and record votes, \
            auditors read, replay and verify the history.

            The database is named by --database, else $DATABASE_URL, else libpq's defaults \
            and PG* variables (as psql). Read-only commands may read a hot standby: \
            --read-database, else $SBIE_READ_DATABASE_URL (README, "Reads on a hot standby").


            """ + exitCodesHelp + """


            Shell completion: `sbie --generate-completion-script bash` (or zsh, fish) prints a \
            script to source or install, e.g. \
            `sbie --generate-completion-script bash > /etc/bash_completion.d/sbie`.
            """,
        version: sbieVersion,
        subcommands: [
            Demo.self, Migrate.self, Run.self, ImportCommand.self, Verify.self, Rebuild.self,
            RequestTermination.self, WithdrawRequest.self, RecordNotice.self,
            ScheduleReviewCommand.self, RecordVote.self, Seat.self, Annotate.self, Policy.self,
            Status.self, Docket.self, History.self, Export.self, QueueCommands.self, Retry.self, Login.self,
            CheckpointCommand.self, AgencyCommand.self, AgreementCommand.self, Serve.self,
        ]
    )

    /// ArgumentParser's entry point, except that a usage error exits with 2 (its default
    /// is 64) and a database error nobody handled is said as a sentence, with the exit
    /// codes of `exitCodesHelp`: 0 done, 1 refused, 2 not carried out.
    static func main() async {
        if let problem = ArgumentCheck.problem(Array(CommandLine.arguments.dropFirst())) {
            printError(problem)
            exit(withError: ExitCode(2))
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as PostgresError {
            // A database error that no command handled (e.g. a login without the privilege).
            let (message, code) = explain(error)
            printError(message)
            exit(withError: code)
        } catch is SubmissionRefused {
            exit(withError: Exit.refused)  // the reason is printed already
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            exit(withError: ExitCode(2))
        }
    }
}

/// The version `sbie --version` prints.
let sbieVersion = "0.1.0"

/// Options every subcommand that talks to PostgreSQL takes.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: [.customLong("database"), .customShort("d")],
        help: ArgumentHelp(
            "libpq connection string or postgres:// URL (default: $DATABASE_URL, then libpq's defaults and PG* variables).",
            valueName: "conninfo"))
    var database: String?

    @Option(
        name: .customLong("read-database"),
        help: ArgumentHelp(
            "A hot standby for read-only commands (default: $SBIE_READ_DATABASE_URL; none: everything reads the primary).",
            discussion: """
                status, docket, history, commands, export, verify and checkpoint list read there once it has replayed                 what the primary had written when the command began (waiting up to --read-wait); a line on standard                 error says so and how stale the read may be. Writes, waits for outcomes and the daemon stay on --database.
                """,
            valueName: "conninfo"))
    var readDatabase: String?

    @Option(help: ArgumentHelp(
        "Seconds a read waits for the standby to replay what the primary had written when it began (then it reads the primary).",
        valueName: "seconds"))
    var readWait: Double = 5

    @Option(help: "How much to log on standard error.")
    var logLevel: Logger.Level = .info

    var conninfo: String { database ?? ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "" }

    func logger(_ label: String) -> Logger {
        LoggingBootstrap.once(level: logLevel)
        return Logger(label: label)
    }

    /// Connects, or exits with code 2 and libpq's reason.
    func connect(_ logger: Logger) async throws -> Connection {
        do {
            return try await Connection.connect(conninfo, logger: logger)
        } catch let error as PostgresError {
            printError("cannot connect to PostgreSQL: \(error.message)")
            throw ExitCode(2)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false
    static func once(level: Logger.Level, format: LogFormat = .text) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            if format == .json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}

/// Prints a value as one line of JSON (sorted keys) on standard output.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the numbered SQL migrations in Sql/ that are not yet applied.",
        discussion: """
            Each file is applied once, in version order, in its own transaction, and recorded in \
            schema_migrations with its SHA-256. A second run does nothing. An applied file whose \
            content changed is refused: add a new migration instead.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Folder of NNNN_name.sql files (default: $SBIE_SQL_DIR, else the Sql/ of the executable's own checkout, else ./Sql).")
    var sqlDir: String?

    func run() async throws {
        let logger = db.logger("sbie.migrate")
        let migrator: Migrator
        do {
            let (directory, source) = try Migrator.locate(explicit: sqlDir)
            logger.info("migrations from \(directory.path) (\(source))")
            migrator = try Migrator.load(from: directory)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let connection = try await db.connect(logger)
        do {
            let applied = try await migrator.migrate(on: connection, logger: logger)
            print(applied.isEmpty
                ? "schema is up to date (\(migrator.migrations.count) migrations)"
                : "applied \(applied.count) migration(s): " + applied.map { "\($0.version)_\($0.name)" }.joined(separator: ", "))
        } catch let error as MigrationError {
            printError("\(error)")
            throw ExitCode(1)
        } catch let error as PostgresError where error.sqlState == PostgresError.State.insufficientPrivilege {
            let login = (try? await connection.query("SELECT session_user::text").rows.first?.decode(0, as: String.self)) ?? nil
            printError("login \(login ?? "?") may not migrate this database (\(error.message)): run `sbie migrate` as a superuser, "
                       + "or as a login with CREATEROLE that owns the database (docs/security.md)")
            throw Exit.refused
        }
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the hash chain, positions and stream versions: of the live log, or of an export with no database.",
        discussion: """
            Recomputes every SHA-256 in Swift, independently of the database's own function, and \
            reports the first position whose hash does not match, any gap in global positions and \
            any stream whose versions are not 1..n. Exit code 1 on any finding.

            With --file, verifies an events export (sbie export events --format jsonl) offline, \
            from its bytes (docs/export-format.md): stops at the first bad position, else prints \
            the head (position and hash) to compare with a signed checkpoint.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "An events export in JSON lines to verify with no database.") var file: String?
    @Flag(help: "Print the report as JSON.") var json = false

    func run() async throws {
        if let file {
            let report: ExportVerification
            do {
                report = try ExportVerifier.verify(fileAt: URL(fileURLWithPath: file))
            } catch {
                printError("cannot read \(file): \(error.localizedDescription)")
                throw ExitCode(2)
            }
            if json { try printJSON(report) } else { print(report.summary) }
            if !report.isIntact { throw ExitCode(1) }
            return
        }
        let logger = db.logger("sbie.verify")
        let connection = try await db.connectForReading(logger, json: json)
        try await requireEventLog(connection, for: "verify")
        let report = try await ChainVerifier.verify(on: connection)
        if json { try printJSON(report) } else { print(report.summary) }
        if !report.isIntact { throw ExitCode(1) }
    }
}
