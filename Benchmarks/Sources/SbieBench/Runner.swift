import Foundation
import Logging
import Synchronization
import Workflow

// MARK: - The runner

struct BenchRunner {
    var options: BenchCommand
    var dsn: String
    var pgbenchPath: String
    /// The `sbie` executable, for `--daemon child`.
    var sbiePath: String?
    var workDirectory: URL
    var logger: Logger

    func run(database: String, serverVersion: String) async throws -> BenchReport {
        let n = options.clients
        await checkpoint()
        let (commands, paced, idle) = try await withDaemon { daemon in
            let commands = try await runCommands(daemon)
            let paced = try await runPaced(daemon, rate: options.pacedRate ?? commands.acceptedPerSecond / 2)
            let idle = try await runIdle(daemon)
            return (commands, paced, idle)
        }
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

        // The raw round trip an idle command competes with: one INSERT at a time, about as far
        // apart as the idle commands (7/s on a Poisson schedule against 100-200 ms apart), so
        // that it pays what the idle commands pay (caches gone cold, an idle disk's flush).
        progress("raw INSERT at idle, 7/s")
        let rawIdle = try await runPgbench(
            "single-idle", script: RawTable.singleInsert, clients: 1, rowsPerTransaction: 1, rate: 7,
            seconds: max(3, Int((Double(options.idleSamples) * 0.15).rounded(.up)))
        ).throughput

        // The raw round trip a paced command competes with: INSERTs offered at the paced
        // case's rate by as many clients (a Poisson schedule), so that the disk's flushes come
        // as often as the commands' do.
        progress("raw INSERT at \(format(paced.offeredPerSecond))/s, \(n) clients")
        let rawPaced = try await runPgbench(
            "single-paced", script: RawTable.singleInsert, clients: n, rowsPerTransaction: 1, rate: paced.offeredPerSecond
        ).throughput

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
            CaseRow("commands, saturated, queueing p50", unit: "ms", ours: commands.latency.p50,
                    raw: rawSingle1.latency.p50, rawName: "INSERT p50, 1 client", goal: .none),
            CaseRow("commands, saturated, queueing p99", unit: "ms", ours: commands.latency.p99,
                    raw: rawSingle1.latency.p99, rawName: "INSERT p99, 1 client", goal: .none),
            CaseRow("commands at \(format(paced.offeredPerSecond))/s (\(options.pacedRate == nil ? "half max" : "fixed")), p50", unit: "ms",
                    ours: paced.latency.p50, raw: rawSingle1.latency.p50, rawName: "INSERT p50, 1 client",
                    goal: .atMost(10)),
            CaseRow("commands at \(format(paced.offeredPerSecond))/s (\(options.pacedRate == nil ? "half max" : "fixed")), p99", unit: "ms",
                    ours: paced.latency.p99, raw: rawSingle1.latency.p99, rawName: "INSERT p99, 1 client",
                    goal: .atMost(50)),
            CaseRow("commands at \(format(paced.offeredPerSecond))/s, p50, vs INSERT at that rate", unit: "ms",
                    ours: paced.latency.p50, raw: rawPaced.latency.p50,
                    rawName: "INSERT p50 at \(format(paced.offeredPerSecond))/s, \(n) clients", goal: .atMost(10)),
            CaseRow("commands at \(format(paced.offeredPerSecond))/s, p99, vs INSERT at that rate", unit: "ms",
                    ours: paced.latency.p99, raw: rawPaced.latency.p99,
                    rawName: "INSERT p99 at \(format(paced.offeredPerSecond))/s, \(n) clients", goal: .atMost(50)),
            CaseRow("idle submit -> outcome seen, p50", unit: "ms", ours: idle.clientLatency.p50,
                    raw: rawSingle1.latency.p50, rawName: "INSERT p50, 1 client", goal: .atMost(10)),
            CaseRow("idle submit -> outcome seen, p99", unit: "ms", ours: idle.clientLatency.p99,
                    raw: rawSingle1.latency.p99, rawName: "INSERT p99, 1 client", goal: .none),
            CaseRow("idle submit -> outcome seen, p50, vs idle INSERT", unit: "ms", ours: idle.clientLatency.p50,
                    raw: rawIdle.latency.p50, rawName: "INSERT p50 at idle, 7/s", goal: .atMost(10)),
            CaseRow("idle submit -> outcome seen, p99, vs idle INSERT", unit: "ms", ours: idle.clientLatency.p99,
                    raw: rawIdle.latency.p99, rawName: "INSERT p99 at idle, 7/s", goal: .none),
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
            batch: options.batch, rawSingle1: rawSingle1, rawSingleN: rawSingleN, rawBatch1: rawBatch1, rawIdle: rawIdle,
            rawPaced: rawPaced,
            appendSingle1: appendSingle1, appendSingleN: appendSingleN, appendBatch1: appendBatch1,
            commands: commands, paced: paced, idle: idle, rebuild: rebuild, cases: cases)
    }

    /// Runs `body` while a daemon decides the queued commands: the library's services in this
    /// process (`--daemon service`), or an `sbie run` child (`--daemon child`), stopped afterwards.
    func withDaemon<T: Sendable>(_ body: (any BenchDaemon) async throws -> T) async throws -> T {
        switch options.daemon {
        case .service:
            var quiet = logger
            quiet.logLevel = max(logger.logLevel, .warning)
            return try await ServiceDaemon.run(dsn: dsn, logger: quiet) { try await body($0) }
        case .child:
            guard let sbiePath else { throw BenchError("--daemon child needs the sbie executable (--sbie)") }
            let daemon = try await ChildDaemon.start(sbie: sbiePath, dsn: dsn, workDirectory: workDirectory)
            let result: T
            do {
                result = try await body(daemon)
            } catch {
                try? await daemon.stopAndWait()
                throw error
            }
            try await daemon.stopAndWait()
            return result
        }
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

