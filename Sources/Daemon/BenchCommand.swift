import ArgumentParser
import Foundation
import Logging
import Synchronization
import Workflow

/// `sbie bench`: our append, command queue and rebuild against raw PostgreSQL on one fresh database.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure appends, the command queue and rebuilds against raw PostgreSQL (pgbench).",
        discussion: """
            Creates a fresh database sbie_bench_<random> on the server named by --database (the \
            login must be allowed to CREATE DATABASE; CHECKPOINT is tried before each case), applies \
            the migrations, runs every case on it, and drops it at the end unless --keep.

            Cases, in this order (commands first: they need a log of domain events only):

            commands: --commands register_agreement commands submitted by --clients connections \
            while a daemon decides them (--daemon: an `sbie run` child, or in process); throughput \
            first submit -> last outcome and latency processed_at - submitted_at, both from the \
            database clock. Then, with the daemon idle, --idle-samples commands one at a time, \
            spaced: the NOTIFY wake-up latency.

            rebuild: rebuildInlineProjections(checkOnly: true) and foldLog over that log, against \
            a raw COPY (SELECT * FROM events) TO STDOUT through copyOut.

            append: append_events with 1 event per transaction at 1 and at --clients connections, \
            and --batch events per append (one transaction) at 1 connection, each right after \
            pgbench doing the same inserts into raw_events: a plain table with the columns, primary \
            key, unique constraints and indexes of events, but no triggers, no checks, an identity \
            position and no hashing.

            pgbench runs as a subprocess with -n -M prepared -T --seconds and -l (its \
            per-transaction log gives p50/p99). Goals: single append >= 0.9x raw; batched \
            append >= 0.5x raw batched INSERT; commands >= 0.5x raw --clients INSERT throughput, \
            p50 <= 10x and p99 <= 50x raw single-INSERT latency; rebuild >= 0.3x raw COPY read.
            """)

    @OptionGroup var db: DatabaseOptions
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
    @Option(help: "Commands submitted one at a time to the idle daemon.")
    var idleSamples = 50
    @Option(help: ArgumentHelp(
        "Who decides the commands: child (an `sbie run` child process) or in-process (a CommandProcessor loop here).",
        discussion: "in-process also counts the daemon's batches and sleeps."))
    var daemon: DaemonKind = .child
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
    }

    func run() async throws {
        let logger = db.logger("sbie.bench")
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
        let admin = try await db.connect(logger)
        let name = "sbie_bench_" + UUID().uuidString.prefix(8).lowercased()
        try await admin.executeScript("CREATE DATABASE \(name) TEMPLATE template0 ENCODING 'UTF8'")
        let dsn = ConnectionString.replacingDatabase(in: db.conninfo, with: name)
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
                options: self, dsn: dsn, pgbenchPath: pgbenchPath, workDirectory: workDirectory, logger: logger)
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
}

enum DaemonKind: String, ExpressibleByArgument, Codable, Sendable {
    case child
    case inProcess = "in-process"
}

/// A progress line on standard error (the table or JSON goes to standard output).
func progress(_ message: String) {
    FileHandle.standardError.write(Data("==> \(message)\n".utf8))
}

// MARK: - The payload both sides write

/// The event both our append and the raw INSERT write: the same JSON bytes, the size of a real
/// `AgreementRegistered`. The text has no `:name` pattern, which pgbench would take for a variable.
enum BenchEvent {
    static let type = "BenchEventAppended"
    static let data = """
        {"agency_name": "Bench Police Department 00042", "agency_type": "Municipality", "model": "TFM", \
        "signed_on": "2025-03-10", "source_edition": "bench"}
        """
    static let metadata = #"{"actor": "bench"}"#

    static func make(count: Int) -> [NewEvent] {
        let now = Timestamp(Date())
        return (0..<count).map { _ in NewEvent(type: type, data: data, metadata: metadata, occurredAt: now) }
    }
}

/// `raw_events`: the baseline table, shaped like `events`.
enum RawTable {
    static let createSQL = """
        CREATE TABLE raw_events (
            global_position bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            stream_id       text        NOT NULL,
            stream_version  integer     NOT NULL,
            event_id        uuid        NOT NULL UNIQUE,
            event_type      text        NOT NULL,
            data            json        NOT NULL,
            metadata        json        NOT NULL,
            occurred_at     timestamptz NOT NULL,
            recorded_at     timestamptz NOT NULL,
            prev_hash       bytea       NOT NULL,
            hash            bytea       NOT NULL,
            UNIQUE (stream_id, stream_version)
        );
        CREATE INDEX raw_events_category_idx ON raw_events (split_part(stream_id, '-', 1), global_position);
        CREATE INDEX raw_events_type_idx ON raw_events (event_type, global_position);
        """

    private static let columns =
        "stream_id, stream_version, event_id, event_type, data, metadata, occurred_at, recorded_at, prev_hash, hash"
    private static let constants =
        "'\(BenchEvent.type)', '\(BenchEvent.data)', '\(BenchEvent.metadata)', now(), clock_timestamp(), "
        + "decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex')"

    /// pgbench script: one event in a new stream per transaction.
    static let singleInsert =
        "INSERT INTO raw_events (\(columns)) VALUES ('bench-' || gen_random_uuid(), 1, gen_random_uuid(), \(constants));\n"

    /// pgbench script: `rows` events of one new stream in one statement (one transaction).
    static func batchInsert(rows: Int) -> String {
        "INSERT INTO raw_events (\(columns)) SELECT s.id, g, gen_random_uuid(), \(constants) "
            + "FROM (SELECT 'bench-' || gen_random_uuid() AS id) s, generate_series(1, \(rows)) g;\n"
    }
}

// MARK: - Results

/// A latency distribution in milliseconds.
struct Latency: Codable, Sendable {
    var samples: Int
    var p50: Double
    var p99: Double
    var mean: Double

    init(milliseconds values: [Double]) {
        let sorted = values.sorted()
        samples = sorted.count
        p50 = percentile(sorted, 0.50)
        p99 = percentile(sorted, 0.99)
        mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
    }

    init(samples: Int, p50: Double, p99: Double, mean: Double) {
        (self.samples, self.p50, self.p99, self.mean) = (samples, p50, p99, mean)
    }
}

/// Nearest-rank percentile of sorted values (0 when empty).
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((p * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// What one timed run measured; runs of the same case add up.
struct Sample: Sendable {
    var rows = 0
    var transactions = 0
    var seconds = 0.0
    /// Per transaction, in milliseconds.
    var latencies: [Double] = []

    static func + (a: Sample, b: Sample) -> Sample {
        Sample(rows: a.rows + b.rows, transactions: a.transactions + b.transactions, seconds: a.seconds + b.seconds,
               latencies: a.latencies + b.latencies)
    }

    var throughput: Throughput {
        Throughput(rows: rows, transactions: transactions, seconds: seconds, latency: Latency(milliseconds: latencies))
    }
}

/// A timed run: how many rows (or events, commands) in how long.
struct Throughput: Codable, Sendable {
    var rows: Int
    var transactions: Int
    var seconds: Double
    var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }
    var latency: Latency

    enum CodingKeys: String, CodingKey { case rows, transactions, seconds, rowsPerSecond, latency }

    init(rows: Int, transactions: Int, seconds: Double, latency: Latency) {
        (self.rows, self.transactions, self.seconds, self.latency) = (rows, transactions, seconds, latency)
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rows = try c.decode(Int.self, forKey: .rows)
        transactions = try c.decode(Int.self, forKey: .transactions)
        seconds = try c.decode(Double.self, forKey: .seconds)
        latency = try c.decode(Latency.self, forKey: .latency)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rows, forKey: .rows)
        try c.encode(transactions, forKey: .transactions)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(rowsPerSecond, forKey: .rowsPerSecond)
        try c.encode(latency, forKey: .latency)
    }
}

struct CommandsResult: Codable, Sendable {
    var submitted: Int
    var accepted: Int
    var rejected: Int
    var failed: Int
    /// First submitted_at to last processed_at, database clock.
    var seconds: Double
    var acceptedPerSecond: Double
    /// First submit call to last outcome seen, client clock.
    var clientSeconds: Double
    /// processed_at - submitted_at, database clock.
    var latency: Latency
    var daemon: DaemonKind
    /// Times the daemon found the queue empty and slept (so submissions paid a NOTIFY); in-process only.
    var daemonSleeps: Int?
    /// Batches that decided at least one command; in-process only.
    var batches: Int?
}

struct IdleResult: Codable, Sendable {
    /// processed_at - submitted_at, database clock.
    var latency: Latency
    /// Submit call to outcome seen by the client (LISTEN sbie_outcomes), client clock.
    var clientLatency: Latency
}

struct RebuildResult: Codable, Sendable {
    var events: Int
    var projectionsMatch: Bool
    var rebuildSeconds: Double
    var foldSeconds: Double
    var copySeconds: Double
    var copyBytes: Int
    var rebuildEventsPerSecond: Double
    var foldEventsPerSecond: Double
    var copyEventsPerSecond: Double
}

/// One line of the summary table.
struct CaseRow: Codable, Sendable {
    enum Goal: Codable, Sendable {
        case atLeast(Double)
        case atMost(Double)
        case none
    }

    var name: String
    var unit: String
    var ours: Double
    var raw: Double
    var rawName: String
    var goal: Goal

    var ratio: Double { raw > 0 ? ours / raw : 0 }
    var met: Bool? {
        switch goal {
        case .atLeast(let x): return ratio >= x
        case .atMost(let x): return ratio <= x
        case .none: return nil
        }
    }
    var goalText: String {
        switch goal {
        case .atLeast(let x): return ">= " + String(format: "%gx", x)
        case .atMost(let x): return "<= " + String(format: "%gx", x)
        case .none: return "-"
        }
    }

    enum CodingKeys: String, CodingKey { case name, unit, ours, raw, rawName, ratio, goal, met }

    init(_ name: String, unit: String, ours: Double, raw: Double, rawName: String, goal: Goal) {
        (self.name, self.unit, self.ours, self.raw, self.rawName, self.goal) = (name, unit, ours, raw, rawName, goal)
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        unit = try c.decode(String.self, forKey: .unit)
        ours = try c.decode(Double.self, forKey: .ours)
        raw = try c.decode(Double.self, forKey: .raw)
        rawName = try c.decode(String.self, forKey: .rawName)
        goal = try c.decode(Goal.self, forKey: .goal)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(unit, forKey: .unit)
        try c.encode(ours, forKey: .ours)
        try c.encode(raw, forKey: .raw)
        try c.encode(rawName, forKey: .rawName)
        try c.encode(ratio, forKey: .ratio)
        try c.encode(goalText, forKey: .goal)
        try c.encodeIfPresent(met, forKey: .met)
    }
}

struct BenchReport: Codable, Sendable {
    var database: String
    var serverVersion: String
    var seconds: Int
    var rounds: Int
    var clients: Int
    var batch: Int
    var rawSingle1: Throughput
    var rawSingleN: Throughput
    var rawBatch1: Throughput
    var appendSingle1: Throughput
    var appendSingleN: Throughput
    var appendBatch1: Throughput
    var commands: CommandsResult
    var idle: IdleResult
    var rebuild: RebuildResult
    var cases: [CaseRow]

    /// The aligned summary table.
    var table: String {
        let header = ["case", "ours", "raw baseline", "ratio", "goal", "met"]
        var lines: [[String]] = [header]
        for row in cases {
            lines.append([
                row.name, "\(format(row.ours)) \(row.unit)", "\(format(row.raw)) \(row.unit) (\(row.rawName))",
                String(format: "%.2fx", row.ratio), row.goalText, row.met.map { $0 ? "ok" : "MISSED" } ?? "",
            ])
        }
        let widths = (0..<header.count).map { column in lines.map { $0[column].count }.max() ?? 0 }
        func render(_ line: [String]) -> String {
            line.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var out = [render(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += lines.dropFirst().map(render)
        out.append("")
        out.append(
            "PostgreSQL \(serverVersion); append cases: \(rounds) x \(seconds) s per side, raw and ours alternating; "
                + "\(clients) clients; batches of \(batch).")
        out.append(
            "commands: \(commands.accepted) accepted, \(commands.rejected) rejected, \(commands.failed) failed "
                + "in \(format(commands.seconds)) s (client clock \(format(commands.clientSeconds)) s), "
                + "daemon: \(commands.daemon.rawValue)"
                + (commands.batches.map { ", \($0) batches" } ?? "")
                + (commands.daemonSleeps.map { ", slept \($0) times while busy" } ?? "") + ".")
        out.append(
            "idle wake-up, client clock (submit call -> outcome seen): p50 \(format(idle.clientLatency.p50)) ms, "
                + "p99 \(format(idle.clientLatency.p99)) ms.")
        out.append(
            "rebuild: \(rebuild.events) events; rebuild \(format(rebuild.rebuildSeconds)) s, fold "
                + "\(format(rebuild.foldSeconds)) s, COPY \(format(rebuild.copySeconds)) s "
                + "(\(rebuild.copyBytes) bytes); rebuilt projections \(rebuild.projectionsMatch ? "match" : "DIFFER").")
        return out.joined(separator: "\n")
    }
}

/// A number with thousands separators above 100, else three significant digits.
func format(_ value: Double) -> String {
    if value >= 100 {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: value.rounded())) ?? String(Int(value.rounded()))
    }
    if value >= 10 { return String(format: "%.1f", value) }
    if value >= 1 { return String(format: "%.2f", value) }
    return String(format: "%.3f", value)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

// MARK: - The runner

struct BenchRunner {
    var options: BenchCommand
    var dsn: String
    var pgbenchPath: String
    var workDirectory: URL
    var logger: Logger

    func run(database: String, serverVersion: String) async throws -> BenchReport {
        let n = options.clients
        await checkpoint()
        let daemon: any BenchDaemon = switch options.daemon {
        case .child: try await ChildDaemon.start(dsn: dsn, workDirectory: workDirectory)
        case .inProcess: try await InProcessDaemon.start(dsn: dsn, logger: logger)
        }
        let commands: CommandsResult
        let idle: IdleResult
        do {
            commands = try await runCommands(daemon)
            idle = try await runIdle(daemon)
        } catch {
            try? await daemon.stopAndWait()
            throw error
        }
        try await daemon.stopAndWait()
        let rebuild = try await runRebuild()

        let batch = options.batch
        let (rawSingle1, appendSingle1) = try await paired(
            "1 client, 1 row per transaction",
            raw: { try await runPgbench("single-1", script: RawTable.singleInsert, clients: 1, rowsPerTransaction: 1) },
            ours: { try await runAppends(connections: 1, eventsPerAppend: 1) })
        let (rawSingleN, appendSingleN) = try await paired(
            "\(n) clients, 1 row per transaction",
            raw: { try await runPgbench("single-n", script: RawTable.singleInsert, clients: n, rowsPerTransaction: 1) },
            ours: { try await runAppends(connections: n, eventsPerAppend: 1) })
        let (rawBatch1, appendBatch1) = try await paired(
            "1 client, \(batch) rows per transaction",
            raw: {
                try await runPgbench("batch-1", script: RawTable.batchInsert(rows: batch), clients: 1, rowsPerTransaction: batch)
            },
            ours: { try await runAppends(connections: 1, eventsPerAppend: batch) })

        let layer = try await runLayer()
        let cases = [
            CaseRow("libpq: INSERT per row, autocommit", unit: "rows/s", ours: layer.autocommit,
                    raw: rawSingle1.rowsPerSecond, rawName: "INSERT, 1 client", goal: .none),
            CaseRow("libpq: INSERT per row, one transaction", unit: "rows/s", ours: layer.oneTransaction,
                    raw: rawBatch1.rowsPerSecond, rawName: "\(batch)-row INSERT, 1 client", goal: .none),
            CaseRow("libpq: pipeline, 10,000 INSERTs", unit: "rows/s", ours: layer.pipeline,
                    raw: rawBatch1.rowsPerSecond, rawName: "\(batch)-row INSERT, 1 client", goal: .none),
            CaseRow("libpq: COPY FROM STDIN, 100,000 rows", unit: "rows/s", ours: layer.copy,
                    raw: rawBatch1.rowsPerSecond, rawName: "\(batch)-row INSERT, 1 client", goal: .none),
            CaseRow("append, 1 conn, 1 event/tx", unit: "ev/s", ours: appendSingle1.rowsPerSecond,
                    raw: rawSingle1.rowsPerSecond, rawName: "INSERT, 1 client", goal: .atLeast(0.9)),
            CaseRow("append, 1 conn, latency p50", unit: "ms", ours: appendSingle1.latency.p50,
                    raw: rawSingle1.latency.p50, rawName: "INSERT, 1 client", goal: .none),
            CaseRow("append, \(n) conns, 1 event/tx", unit: "ev/s", ours: appendSingleN.rowsPerSecond,
                    raw: rawSingleN.rowsPerSecond, rawName: "INSERT, \(n) clients", goal: .none),
            CaseRow("append, 1 conn, \(options.batch) events/append", unit: "ev/s", ours: appendBatch1.rowsPerSecond,
                    raw: rawBatch1.rowsPerSecond, rawName: "\(options.batch)-row INSERT, 1 client", goal: .atLeast(0.5)),
            CaseRow("commands, \(n) clients, end to end", unit: "cmd/s", ours: commands.acceptedPerSecond,
                    raw: rawSingleN.rowsPerSecond, rawName: "INSERT, \(n) clients", goal: .atLeast(0.5)),
            CaseRow("commands, latency p50", unit: "ms", ours: commands.latency.p50,
                    raw: rawSingle1.latency.p50, rawName: "INSERT p50, 1 client", goal: .atMost(10)),
            CaseRow("commands, latency p99", unit: "ms", ours: commands.latency.p99,
                    raw: rawSingle1.latency.p99, rawName: "INSERT p99, 1 client", goal: .atMost(50)),
            CaseRow("idle daemon wake-up p50", unit: "ms", ours: idle.latency.p50,
                    raw: rawSingle1.latency.p50, rawName: "INSERT p50, 1 client", goal: .none),
            CaseRow("idle daemon wake-up p99", unit: "ms", ours: idle.latency.p99,
                    raw: rawSingle1.latency.p99, rawName: "INSERT p99, 1 client", goal: .none),
            CaseRow("rebuild check (inline projections)", unit: "ev/s", ours: rebuild.rebuildEventsPerSecond,
                    raw: rebuild.copyEventsPerSecond, rawName: "COPY read of events", goal: .atLeast(0.3)),
            CaseRow("fold log only", unit: "ev/s", ours: rebuild.foldEventsPerSecond,
                    raw: rebuild.copyEventsPerSecond, rawName: "COPY read of events", goal: .none),
        ]
        return BenchReport(
            database: database, serverVersion: serverVersion, seconds: options.seconds, rounds: options.rounds, clients: n,
            batch: options.batch, rawSingle1: rawSingle1, rawSingleN: rawSingleN, rawBatch1: rawBatch1,
            appendSingle1: appendSingle1, appendSingleN: appendSingleN, appendBatch1: appendBatch1,
            commands: commands, idle: idle, rebuild: rebuild, cases: cases)
    }

    /// The libpq layer's own throughput on a two-column table: one INSERT per round
    /// trip (autocommit, then in one transaction), pipeline mode, and COPY.
    func runLayer() async throws -> (autocommit: Double, oneTransaction: Double, pipeline: Double, copy: Double) {
        progress("libpq layer: per-row INSERT, pipeline, COPY")
        let c = try await Connection.connect(dsn, logger: logger)
        try await c.executeScript("CREATE TABLE layer_rows (n int, s text)")
        func rate(_ rows: Int, _ body: () async throws -> Void) async throws -> Double {
            let start = ContinuousClock.now
            try await body()
            return Double(rows) / max(seconds(ContinuousClock.now - start), 1e-9)
        }
        let autocommit = try await rate(2_000) {
            for i in 0..<2_000 { try await c.execute("INSERT INTO layer_rows VALUES ($1, $2)", [i, "row \(i)"]) }
        }
        let oneTransaction = try await rate(10_000) {
            try await c.transaction { c in
                for i in 0..<10_000 { try c.execute("INSERT INTO layer_rows VALUES ($1, $2)", [i, "row \(i)"]) }
            }
        }
        let statements = (0..<10_000).map { Statement("INSERT INTO layer_rows VALUES ($1, $2)", [$0, "row \($0)"]) }
        let pipeline = try await rate(10_000) { try await c.pipeline(statements) }
        let rows = (0..<100_000).map { [String($0), "row \($0)"] as [String?] }
        let copy = try await rate(100_000) { try await c.copyIn("COPY layer_rows (n, s) FROM STDIN", rows: rows) }
        try await c.executeScript("DROP TABLE layer_rows")
        await c.close()
        return (autocommit, oneTransaction, pipeline, copy)
    }

    /// Runs raw (pgbench) and ours (append) alternately, --rounds times each, and pools each side.
    func paired(
        _ label: String, raw: () async throws -> Sample, ours: () async throws -> Sample
    ) async throws -> (raw: Throughput, ours: Throughput) {
        var rawTotal = Sample()
        var oursTotal = Sample()
        for round in 1...options.rounds {
            let of = options.rounds > 1 ? " (round \(round) of \(options.rounds))" : ""
            progress("raw INSERT, \(label), \(options.seconds) s\(of)")
            rawTotal = rawTotal + (try await raw())
            progress("our append, \(label), \(options.seconds) s\(of)")
            oursTotal = oursTotal + (try await ours())
        }
        return (rawTotal.throughput, oursTotal.throughput)
    }

    /// Flushes dirty buffers so that a checkpoint does not land in the middle of the next case
    /// (best effort: it needs superuser or pg_checkpoint).
    func checkpoint() async {
        guard let connection = try? await Connection.connect(dsn, logger: logger) else { return }
        do {
            try await connection.executeScript("CHECKPOINT")
        } catch {
            logger.notice("CHECKPOINT refused; cases may include checkpoint I/O", metadata: ["error": "\(error)"])
        }
        await connection.close()
    }

    // MARK: pgbench

    /// Runs pgbench on a custom script and reads its summary and per-transaction log.
    func runPgbench(_ label: String, script: String, clients: Int, rowsPerTransaction: Int) async throws -> Sample {
        await checkpoint()
        let scriptURL = workDirectory.appendingPathComponent("\(label).sql")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        let run = UUID().uuidString.prefix(8).lowercased()
        let logPrefix = workDirectory.appendingPathComponent("\(label)-\(run)-log").path
        let outputURL = workDirectory.appendingPathComponent("\(label).out")
        let arguments = [
            "-n", "-M", "prepared", "-f", scriptURL.path, "-T", String(options.seconds),
            "-c", String(clients), "-j", String(min(clients, 2)), "-l", "--log-prefix", logPrefix, dsn,
        ]
        let status = try await runProcess(pgbenchPath, arguments, output: outputURL)
        let output = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw BenchError("pgbench \(label) exited with status \(status):\n\(output)")
        }
        func number(after key: String) -> Double? {
            guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return nil }
            return Double(line.dropFirst(key.count).split(separator: " ").first ?? "")
        }
        guard let transactions = number(after: "number of transactions actually processed: ") else {
            throw BenchError("cannot read pgbench \(label) output:\n\(output)")
        }
        let failed = number(after: "number of failed transactions: ") ?? 0
        guard failed == 0 else { throw BenchError("pgbench \(label): \(Int(failed)) failed transactions:\n\(output)") }
        // Each log line: client_id transaction_no latency_us script_no epoch_s epoch_us.
        var latencies: [Double] = []
        let logName = URL(fileURLWithPath: logPrefix).lastPathComponent + "."
        for file in try FileManager.default.contentsOfDirectory(atPath: workDirectory.path)
        where file.hasPrefix(logName) {
            let text = try String(contentsOf: workDirectory.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count >= 3, let micros = Double(fields[2]) { latencies.append(micros / 1000) }
            }
        }
        // pgbench's elapsed time is -T; its tps excludes connection time, as ours does.
        let tps = number(after: "tps = ") ?? transactions / Double(options.seconds)
        let elapsed = tps > 0 ? transactions / tps : Double(options.seconds)
        return Sample(
            rows: Int(transactions) * rowsPerTransaction, transactions: Int(transactions), seconds: elapsed,
            latencies: latencies)
    }

    /// Runs a program to completion without blocking a Swift concurrency thread.
    func runProcess(_ path: String, _ arguments: [String], output: URL) async throws -> Int32 {
        let process = try makeProcess(path, arguments, output: output)
        return try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in continuation.resume(returning: finished.terminationStatus) }
            do {
                try launch(process)
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }

    // MARK: Our append

    /// `connections` writers append `eventsPerAppend` events to a new stream per call, for --seconds.
    func runAppends(connections: Int, eventsPerAppend: Int) async throws -> Sample {
        await checkpoint()
        var writers: [Connection] = []
        for _ in 0..<connections { writers.append(try await Connection.connect(dsn, logger: logger)) }
        let start = ContinuousClock.now
        let deadline = start.advanced(by: .seconds(options.seconds))
        let perWriter = try await withThrowingTaskGroup(of: [Double].self) { group in
            for writer in writers {
                group.addTask { try await writer.benchAppend(until: deadline, eventsPerAppend: eventsPerAppend) }
            }
            var all: [[Double]] = []
            for try await latencies in group { all.append(latencies) }
            return all
        }
        let elapsed = seconds(start.duration(to: .now))
        for writer in writers { await writer.close() }
        let latencies = perWriter.flatMap { $0 }
        return Sample(
            rows: latencies.count * eventsPerAppend, transactions: latencies.count, seconds: elapsed, latencies: latencies)
    }

    // MARK: Commands

    /// The busy queue: submitters enqueue --commands commands while the daemon decides them.
    func runCommands(_ daemon: any BenchDaemon) async throws -> CommandsResult {
        progress("commands: \(options.clients) clients submit \(options.commands) register_agreement commands")
        var submitters: [Connection] = []
        for _ in 0..<options.clients { submitters.append(try await Connection.connect(dsn, logger: logger)) }
        let watcher = try await Connection.connect(dsn, logger: logger)
        let total = options.commands
        let clientCount = options.clients
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, submitter) in submitters.enumerated() {
                let mine = Array(stride(from: index, to: total, by: clientCount))
                group.addTask { try await submitter.benchSubmit(mine, phase: "busy") }
            }
            try await group.waitForAll()
        }
        let submitted = seconds(start.duration(to: .now))
        progress("commands: submitted in \(format(submitted)) s; waiting for the daemon")
        try await waitUntilDecided(watcher, daemon: daemon)
        let clientSeconds = seconds(start.duration(to: .now))
        for submitter in submitters { await submitter.close() }

        let row = try await watcher.query(
            """
            SELECT count(*) FILTER (WHERE status = 'accepted'), count(*) FILTER (WHERE status = 'rejected'),
                   count(*) FILTER (WHERE status = 'failed'),
                   extract(epoch FROM max(processed_at) - min(submitted_at))::float8
            FROM commands WHERE idempotency_key LIKE 'busy-%'
            """
        ).rows[0]
        let accepted: Int = try row.decode(0)
        let elapsed: Double = try row.decode(3)
        let latency = try await latencyFromDatabase(watcher, phase: "busy")
        await watcher.close()
        return CommandsResult(
            submitted: total, accepted: accepted, rejected: try row.decode(1), failed: try row.decode(2),
            seconds: elapsed, acceptedPerSecond: elapsed > 0 ? Double(accepted) / elapsed : 0,
            clientSeconds: clientSeconds, latency: latency, daemon: options.daemon, daemonSleeps: daemon.sleeps,
            batches: daemon.batches)
    }

    /// The idle daemon: one command at a time, spaced so that the daemon is asleep each time.
    func runIdle(_ daemon: any BenchDaemon) async throws -> IdleResult {
        progress("idle daemon: \(options.idleSamples) commands one at a time")
        let client = try await Connection.connect(dsn, logger: logger)
        var clientLatencies: [Double] = []
        for sample in 0..<options.idleSamples {
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...200)))
            let start = ContinuousClock.now
            let id = try await client.benchSubmitOne(options.commands + sample, phase: "idle")
            if let failure = daemon.failure { throw BenchError("the daemon failed: \(failure)") }
            let record = try await client.waitForOutcome(id, timeout: .seconds(10))
            guard let record, record.isFinal else { throw BenchError("idle command \(sample) was not decided within 10 s") }
            clientLatencies.append(seconds(start.duration(to: .now)) * 1000)
        }
        let latency = try await latencyFromDatabase(client, phase: "idle")
        await client.close()
        return IdleResult(latency: latency, clientLatency: Latency(milliseconds: clientLatencies))
    }

    func waitUntilDecided(_ watcher: Connection, daemon: any BenchDaemon) async throws {
        while true {
            if let failure = daemon.failure { throw BenchError("the daemon failed: \(failure)") }
            let pending: Int = try await watcher.query(
                "SELECT count(*) FROM commands WHERE status = 'pending'").rows[0].decode(0)
            if pending == 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func latencyFromDatabase(_ connection: Connection, phase: String) async throws -> Latency {
        let row = try await connection.query(
            """
            SELECT count(*),
                   percentile_disc(0.5) WITHIN GROUP (ORDER BY l), percentile_disc(0.99) WITHIN GROUP (ORDER BY l),
                   avg(l)
            FROM (SELECT extract(epoch FROM processed_at - submitted_at)::float8 * 1000 AS l
                  FROM commands WHERE idempotency_key LIKE $1 AND processed_at IS NOT NULL) t
            """, ["\(phase)-%"]
        ).rows[0]
        return Latency(samples: try row.decode(0), p50: try row.decode(1), p99: try row.decode(2), mean: try row.decode(3))
    }

    // MARK: Rebuild

    func runRebuild() async throws -> RebuildResult {
        await checkpoint()
        let connection = try await Connection.connect(dsn, logger: logger)
        let events = Int(try await connection.lastPosition())
        progress("rebuild: \(events) events; rebuild check, fold, raw COPY (median of up to 3 runs each)")
        var rebuildTimes: [Double] = []
        var foldTimes: [Double] = []
        var copyTimes: [Double] = []
        var matches = true
        var copyBytes = 0
        let began = ContinuousClock.now
        // Three runs each, fewer when one round takes over 20 s (the fold grows with the log).
        while rebuildTimes.count < 3 && (rebuildTimes.isEmpty || began.duration(to: .now) < .seconds(20)) {
            var start = ContinuousClock.now
            let check = try await connection.rebuildInlineProjections(checkOnly: true)
            rebuildTimes.append(seconds(start.duration(to: .now)))
            matches = matches && check.matches && check.events == events

            start = ContinuousClock.now
            let folded = try await connection.foldLog()
            foldTimes.append(seconds(start.duration(to: .now)))
            matches = matches && folded.events == events

            start = ContinuousClock.now
            copyBytes = try await connection.copyOut("COPY (SELECT * FROM events) TO STDOUT").count
            copyTimes.append(seconds(start.duration(to: .now)))
        }
        await connection.close()
        let rebuild = percentile(rebuildTimes.sorted(), 0.5)
        let fold = percentile(foldTimes.sorted(), 0.5)
        let copy = percentile(copyTimes.sorted(), 0.5)
        func rate(_ time: Double) -> Double { time > 0 ? Double(events) / time : 0 }
        return RebuildResult(
            events: events, projectionsMatch: matches, rebuildSeconds: rebuild, foldSeconds: fold, copySeconds: copy,
            copyBytes: copyBytes, rebuildEventsPerSecond: rate(rebuild), foldEventsPerSecond: rate(fold),
            copyEventsPerSecond: rate(copy))
    }
}

/// A process whose standard output and error go to `output`.
func makeProcess(_ path: String, _ arguments: [String], output: URL) throws -> Process {
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    let handle = try FileHandle(forWritingTo: output)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardOutput = handle
    process.standardError = handle
    return process
}

/// Starts a process from a fresh thread with an empty signal mask, and waits until it started.
///
/// A child inherits the signal mask of the thread that spawns it, and Swift's worker
/// threads block most signals: pgbench would never see the SIGALRM that ends a `-T`
/// run, and an `sbie run` child would never see SIGTERM.
func launch(_ process: Process) throws {
    let box = ProcessBox(process: process)
    let started = DispatchSemaphore(value: 0)
    let failure = Mutex<(any Error)?>(nil)
    let launcher = Thread {
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        do {
            try box.process.run()
        } catch {
            failure.withLock { $0 = error }
        }
        started.signal()
    }
    launcher.start()
    started.wait()
    if let error = failure.withLock({ $0 }) { throw error }
}

/// Hands a `Process` to the launcher thread, which alone touches it until it runs.
private struct ProcessBox: @unchecked Sendable {
    let process: Process
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Client loops, run on each connection's own thread

extension Connection {
    /// Appends until `deadline`; returns each append's latency in milliseconds.
    func benchAppend(until deadline: ContinuousClock.Instant, eventsPerAppend: Int) throws -> [Double] {
        var latencies: [Double] = []
        latencies.reserveCapacity(20_000)
        while ContinuousClock.now < deadline {
            let events = BenchEvent.make(count: eventsPerAppend)
            let start = ContinuousClock.now
            try append(events, to: "bench-\(UUID().uuidString.lowercased())", expected: .noStream)
            latencies.append(seconds(start.duration(to: .now)) * 1000)
        }
        return latencies
    }

    /// Submits `register_agreement` for each numbered bench agency, one command per call.
    func benchSubmit(_ numbers: [Int], phase: String) throws {
        for number in numbers { _ = try benchSubmitOne(number, phase: phase) }
    }

    /// Submits `register_agreement` for agency "Bench Police Department <number>" through
    /// `submitCommand`, the client API; the idempotency key is `<phase>-<number>`.
    func benchSubmitOne(_ number: Int, phase: String) throws -> UUID {
        let digits = String(number)
        let padded = String(repeating: "0", count: max(0, 5 - digits.count)) + digits
        let payload = """
            {"agency_name": "Bench Police Department \(padded)", "agency_type": "Municipality", \
            "model": "TFM", "signed_on": "2025-03-10", "source_edition": "bench"}
            """
        return try submitCommand(type: "register_agreement", payload: payload, idempotencyKey: "\(phase)-\(number)")
            .commandID
    }
}

// MARK: - The daemons

/// Whatever decides the queued commands during the commands cases.
protocol BenchDaemon: Sendable {
    /// Why it stopped early, if it did.
    var failure: String? { get }
    var sleeps: Int? { get }
    var batches: Int? { get }
    func stopAndWait() async throws
}

/// `sbie run` (this executable) as a child process, stopped with SIGTERM.
final class ChildDaemon: BenchDaemon {
    private let process: Process
    private let log: URL
    private let stopping = Atomic<Bool>(false)
    private let exited = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let exitStatus = Mutex<Int32?>(nil)

    private init(process: Process, log: URL) {
        (self.process, self.log) = (process, log)
    }

    static func start(dsn: String, workDirectory: URL) async throws -> ChildDaemon {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let log = workDirectory.appendingPathComponent("sbie-run.log")
        let process = try makeProcess(executable, ["run", "--database", dsn, "--log-level", "warning"], output: log)
        let daemon = ChildDaemon(process: process, log: log)
        process.terminationHandler = { finished in daemon.terminated(finished.terminationStatus) }
        try launch(process)
        return daemon
    }

    private func terminated(_ status: Int32) {
        exitStatus.withLock { $0 = status }
        exited.withLock { continuation in
            continuation?.resume()
            continuation = nil
        }
    }

    var failure: String? {
        guard let status = exitStatus.withLock({ $0 }), !stopping.load(ordering: .relaxed) else { return nil }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return "sbie run exited with status \(status):\n\(output.suffix(2000))"
    }
    var sleeps: Int? { nil }
    var batches: Int? { nil }

    func stopAndWait() async throws {
        stopping.store(true, ordering: .relaxed)
        await withCheckedContinuation { continuation in
            let done = exited.withLock { waiting in
                if exitStatus.withLock({ $0 }) != nil { return true }
                waiting = continuation
                return false
            }
            if done {
                continuation.resume()
            } else {
                process.terminate()  // SIGTERM: finish the batch in flight, exit 0
            }
        }
        if let status = exitStatus.withLock({ $0 }), status != 0 {
            throw BenchError("sbie run exited with status \(status) after SIGTERM")
        }
    }
}

/// Decides queued commands in a loop, as `sbie run` does: process batches while there is
/// work; when there is none, mark itself sleeping in `queue_sleepers` (so submissions
/// NOTIFY), re-check, wait for a notification up to 1 s, and mark itself awake.
final class InProcessDaemon: BenchDaemon {
    private let stopping = Atomic<Bool>(false)
    private let sleepCount = Atomic<Int>(0)
    private let batchCount = Atomic<Int>(0)
    private let failureText = Mutex<String?>(nil)
    private let task = Mutex<Task<Void, any Error>?>(nil)

    var sleeps: Int? { sleepCount.load(ordering: .relaxed) }
    var batches: Int? { batchCount.load(ordering: .relaxed) }
    var failure: String? { failureText.withLock { $0 } }

    static func start(dsn: String, logger: Logger) async throws -> InProcessDaemon {
        let daemon = InProcessDaemon()
        let worker = try await Connection.connect(dsn, logger: logger)
        let listener = try await Connection.connect(dsn, logger: logger)
        try await listener.listen("sbie_commands")
        daemon.task.withLock {
            $0 = Task {
                do {
                    try await daemon.loop(worker: worker, listener: listener, logger: logger)
                } catch {
                    daemon.failureText.withLock { $0 = "\(error)" }
                    throw error
                }
            }
        }
        return daemon
    }

    func stop() { stopping.store(true, ordering: .relaxed) }

    func stopAndWait() async throws {
        stop()
        let running = task.withLock { $0 }
        try await running?.value
    }

    private func loop(worker: Connection, listener: Connection, logger: Logger) async throws {
        var processor = CommandProcessor()
        while !stopping.load(ordering: .relaxed) {
            let done = try await processor.processBatch(on: worker, logger: logger)
            if done.processed > 0 {
                batchCount.add(1, ordering: .relaxed)
                continue
            }
            try await listener.markDaemonSleeping()
            // Notifications that arrived while busy are for commits the re-check will see.
            while try await listener.waitForNotification(timeout: .zero) != nil {}
            let recheck = try await processor.processBatch(on: worker, logger: logger)
            if recheck.processed > 0 {
                batchCount.add(1, ordering: .relaxed)
            } else {
                sleepCount.add(1, ordering: .relaxed)
                _ = try await listener.waitForNotification(timeout: .seconds(1))
            }
            try await listener.markDaemonAwake()
        }
        await worker.close()
        await listener.close()
    }
}
