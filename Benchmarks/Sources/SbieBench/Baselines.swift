import Foundation
import Logging
import Workflow

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


extension BenchRunner {
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

    // MARK: pgbench

    /// Runs pgbench on a custom script and reads its summary and per-transaction log.
    /// - Parameters:
    ///   - rate: transactions per second on a Poisson schedule (`pgbench -R`), nil for as fast as
    ///     possible; latency then counts from each transaction's scheduled start.
    ///   - seconds: how long (`-T`), default `--seconds`.
    func runPgbench(
        _ label: String, script: String, clients: Int, rowsPerTransaction: Int, rate: Double? = nil, seconds: Int? = nil
    ) async throws -> Sample {
        let duration = seconds ?? options.seconds
        await checkpoint()
        let scriptURL = workDirectory.appendingPathComponent("\(label).sql")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        let run = UUID().uuidString.prefix(8).lowercased()
        let logPrefix = workDirectory.appendingPathComponent("\(label)-\(run)-log").path
        let outputURL = workDirectory.appendingPathComponent("\(label).out")
        let arguments = [
            "-n", "-M", "prepared", "-f", scriptURL.path, "-T", String(duration),
            "-c", String(clients), "-j", String(min(clients, 2)), "-l", "--log-prefix", logPrefix,
        ] + (rate.map { ["-R", String(format: "%.3f", $0)] } ?? []) + [dsn]
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
        let tps = number(after: "tps = ") ?? transactions / Double(duration)
        let elapsed = tps > 0 ? transactions / tps : Double(duration)
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

}
