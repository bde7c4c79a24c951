import ArgumentParser
import Foundation
import Logging
import Workflow

/// `sbie-bench` (run by `scripts/bench`): our append, command queue and rebuild against raw
/// PostgreSQL on one fresh database. Not part of the shipped `sbie`: this package depends on it.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sbie-bench",
        abstract: "Measure appends, the command queue and rebuilds against raw PostgreSQL (pgbench).",
        discussion: """
            Creates a fresh database sbie_bench_<random> on the server named by --database (the \
            login must be allowed to CREATE DATABASE; CHECKPOINT is tried before each case), applies \
            the migrations, runs every case on it, and drops it at the end unless --keep.

            Cases, in this order (commands first: they need a log of domain events only):

            commands: --commands register_agreement commands submitted by --clients connections \
            while a daemon decides them (--daemon service: the library's DaemonService and \
            AgencyTimelineService in a ServiceGroup in this process; --daemon child: `sbie run`, \
            see --sbie); throughput first submit -> last outcome and latency processed_at - \
            submitted_at, both from the database clock.

            paced: the same commands offered at a fixed rate, half the measured maximum, for \
            --seconds, by --clients connections: the latency a user feels under load \
            (processed_at - submitted_at), against raw single-INSERT p50/p99 from the busy loop \
            below and from pgbench -R at the same rate by --clients clients (flushes as often \
            as the commands').

            idle: with the daemon idle, --idle-samples commands one at a time, spaced: submit call \
            -> outcome seen by the client (LISTEN), client clock, and the NOTIFY wake-up latency \
            (database clock); against raw single-INSERT p50/p99 from the busy loop below and from \
            pgbench -R 7 (one INSERT at a time, about as far apart as the idle commands: the \
            round trip at idle, cold caches and an idle disk's flush included).

            rebuild: rebuildInlineProjections(checkOnly: true) and foldLog over that log, against \
            a raw COPY (SELECT * FROM events) TO STDOUT through copyOut.

            append: append_events with 1 event per transaction at 1 and at --clients connections, \
            and --batch events per append (one transaction) at 1 connection, each right after \
            pgbench doing the same inserts into raw_events: a plain table with the columns, primary \
            key, unique constraints and indexes of events, but no triggers, no checks, an identity \
            position and no hashing.

            pgbench runs as a subprocess with -n -M prepared -T --seconds and -l (its \
            per-transaction log gives p50/p99). Goals: single append >= 0.9x raw; batched append \
            >= 0.5x raw batched INSERT; commands >= 0.5x raw --clients INSERT throughput; paced \
            commands p50 <= 10x and p99 <= 50x raw single-INSERT p50/p99 (shown against both \
            baselines); idle submit -> outcome \
            p50 <= 10x raw INSERT p50 (shown against both baselines); rebuild >= 0.3x raw COPY read. It measures, it does not \
            judge: exit 0 whatever the ratios.
            """)

    @Option(
        name: [.customLong("database"), .customShort("d")],
        help: ArgumentHelp(
            "libpq connection string or postgres:// URL of a server where this login may CREATE DATABASE.",
            discussion: "Defaults to $DATABASE_URL, then libpq's defaults and PG* variables.",
            valueName: "conninfo"))
    var database: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .notice
    @Option(help: "Seconds each timed case runs (pgbench -T and our append loops).")
    var seconds = 10
    @Option(help: "Rounds of each append case: raw and ours alternate, --seconds each, results pooled.")
    var rounds = 1
    @Option(help: "Commands submitted in the busy-queue case.")
    var commands = 20_000
    @Option(help: "Concurrent client connections (pgbench -c, append writers, command submitters).")
    var clients = 8
    @Option(help: "Events per append (and rows per raw INSERT) in the batched case.")
    var batch = 100
    @Option(help: "Commands per second offered in the paced case (default: half the measured maximum).")
    var pacedRate: Double?
    @Option(help: "Commands submitted one at a time to the idle daemon.")
    var idleSamples = 50
    @Option(help: ArgumentHelp(
        "Who decides the commands: service (the library's DaemonService in this process) or child (`sbie run`, see --sbie)."))
    var daemon: DaemonKind = .service
    @Option(help: "The sbie executable for --daemon child (default: ../.build/release/sbie next to this package).")
    var sbie: String?
    @Option(help: "The pgbench executable (a path, or a name looked up in $PATH).")
    var pgbench = "pgbench"
    @Option(help: "Folder of NNNN_name.sql migrations (default: $SBIE_SQL_DIR, ./Sql, or the checkout's Sql/).")
    var sqlDir: String?
    @Flag(help: "Keep the benchmark database (its log then holds BenchEventAppended events the domain cannot fold).")
    var keep = false
    @Flag(help: "Print the results as JSON instead of a table.")
    var json = false

    func validate() throws {
        guard seconds >= 1 else { throw ValidationError("--seconds must be at least 1") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard commands >= 1 else { throw ValidationError("--commands must be at least 1") }
        guard clients >= 1 else { throw ValidationError("--clients must be at least 1") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard idleSamples >= 1 else { throw ValidationError("--idle-samples must be at least 1") }
        if let pacedRate, !(pacedRate > 0 && pacedRate <= 1_000_000) {
            throw ValidationError("--paced-rate must be a number of commands per second above 0")
        }
    }

    var conninfo: String { database ?? ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "" }

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "sbie.bench")
        guard let pgbenchPath = Self.executable(pgbench) else {
            printError("pgbench not found (\(pgbench)); install postgresql-client or pass --pgbench PATH")
            throw ExitCode(2)
        }
        let migrator: Migrator
        do {
            migrator = try Migrator.load(from: try Migrator.locateDirectory(explicit: sqlDir))
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        var sbiePath: String?
        if daemon == .child {
            sbiePath = sbie.map { Self.executable($0) } ?? Self.defaultSbie()
            guard sbiePath != nil else {
                printError("sbie not found; build it (swift build -c release at the top) or pass --sbie PATH")
                throw ExitCode(2)
            }
        }
        let admin: Connection
        do {
            admin = try await Connection.connect(conninfo, logger: logger)
        } catch let error as PostgresError {
            printError("cannot connect to PostgreSQL: \(error.message)")
            throw ExitCode(2)
        }
        let name = "sbie_bench_" + UUID().uuidString.prefix(8).lowercased()
        try await admin.executeScript("CREATE DATABASE \(name) TEMPLATE template0 ENCODING 'UTF8'")
        let dsn = ConnectionString.replacingDatabase(in: conninfo, with: name)
        let workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(name)
        progress("database \(name)")
        do {
            try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
            var quiet = logger
            quiet.logLevel = .warning
            let setup = try await Connection.connect(dsn, logger: quiet)
            _ = try await migrator.migrate(on: setup, logger: quiet)
            try await setup.executeScript(RawTable.createSQL)
            let serverVersion: String = try await setup.query("SHOW server_version").rows[0].decode(0)
            await setup.close()
            let runner = BenchRunner(
                options: self, dsn: dsn, pgbenchPath: pgbenchPath, sbiePath: sbiePath, workDirectory: workDirectory, logger: logger)
            let report = try await runner.run(database: name, serverVersion: serverVersion)
            if json { try printJSON(report) } else { print(report.table) }
        } catch {
            await finish(admin: admin, name: name, workDirectory: workDirectory)
            throw error
        }
        await finish(admin: admin, name: name, workDirectory: workDirectory)
    }

    private func finish(admin: Connection, name: String, workDirectory: URL) async {
        try? FileManager.default.removeItem(at: workDirectory)
        if keep {
            progress("kept database \(name)")
        } else {
            do {
                try await admin.executeScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            } catch {
                printError("could not drop database \(name): \(error)")
            }
        }
        await admin.close()
    }

    /// A path to an executable: the name itself when it holds a `/`, else the first match in `$PATH`.
    static func executable(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// `sbie` built in release by the main package, beside this one.
    static func defaultSbie() -> String? {
        let here = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        // Benchmarks/.build/<triple>/release/sbie-bench -> <checkout>/.build/release/sbie
        let checkout = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return executable(checkout.appendingPathComponent(".build/release/sbie").path)
    }
}

enum DaemonKind: String, ExpressibleByArgument, Codable, Sendable {
    /// `DaemonService` and `AgencyTimelineService` in a `ServiceGroup` in the benchmark's process.
    case service
    /// An `sbie run` child process.
    case child
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

/// A progress line on standard error (the table or JSON goes to standard output).
func progress(_ message: String) {
    FileHandle.standardError.write(Data("==> \(message)\n".utf8))
}


extension Logger.Level: @retroactive ExpressibleByArgument {}
