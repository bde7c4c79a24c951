import Foundation
import Logging
import Workflow

extension BenchRunner {
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

    /// Commands offered at `rate` per second for --seconds, spread evenly over --clients
    /// connections (client `i` submits at start + (k * clients + i) / rate): the latency a
    /// user feels while the daemon is busy but not saturated. Runs after the busy case.
    func runPaced(_ daemon: any BenchDaemon, rate: Double) async throws -> PacedResult {
        let rate = max(rate, 1)
        let total = max(1, Int(rate * Double(options.seconds)))
        let first = options.commands + options.idleSamples
        progress("paced: \(total) commands at \(format(rate))/s by \(options.clients) clients")
        var submitters: [Connection] = []
        for _ in 0..<options.clients { submitters.append(try await Connection.connect(dsn, logger: logger)) }
        let watcher = try await Connection.connect(dsn, logger: logger)
        let clientCount = options.clients
        let interval = Duration.seconds(1 / rate)
        let start = ContinuousClock.now.advanced(by: .milliseconds(50))
        let late = try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, submitter) in submitters.enumerated() {
                group.addTask {
                    var late = 0
                    for k in stride(from: index, to: total, by: clientCount) {
                        let due = start.advanced(by: interval * k)
                        if ContinuousClock.now > due.advanced(by: interval) { late += 1 }
                        try await Task.sleep(until: due)
                        _ = try await submitter.benchSubmitOne(first + k, phase: "paced")
                    }
                    return late
                }
            }
            return try await group.reduce(0, +)
        }
        try await waitUntilDecided(watcher, daemon: daemon)
        for submitter in submitters { await submitter.close() }
        let accepted: Int = try await watcher.query(
            "SELECT count(*) FROM commands WHERE idempotency_key LIKE 'paced-%' AND status = 'accepted'").rows[0].decode(0)
        let latency = try await latencyFromDatabase(watcher, phase: "paced")
        await watcher.close()
        return PacedResult(offeredPerSecond: rate, submitted: total, accepted: accepted, late: late, latency: latency)
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
            let record = try await CommandQueue.waitForOutcome(id, timeout: .seconds(10), on: client)
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
        let events = Int(try await EventStore.lastPosition(on: connection))
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
            let check = try await Projections.rebuild(checkOnly: true, on: connection)
            rebuildTimes.append(seconds(start.duration(to: .now)))
            matches = matches && check.matches && check.events == events

            start = ContinuousClock.now
            let folded = try await Projections.foldLog(on: connection)
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
// MARK: - Client loops, run on each connection's own thread

extension Connection {
    /// Appends until `deadline`; returns each append's latency in milliseconds.
    func benchAppend(until deadline: ContinuousClock.Instant, eventsPerAppend: Int) throws -> [Double] {
        var latencies: [Double] = []
        latencies.reserveCapacity(20_000)
        while ContinuousClock.now < deadline {
            let events = BenchEvent.make(count: eventsPerAppend)
            let start = ContinuousClock.now
            try EventStore.append(events, to: "bench-\(UUID().uuidString.lowercased())", expected: .noStream, on: self)
            latencies.append(seconds(start.duration(to: .now)) * 1000)
        }
        return latencies
    }

    /// Submits `register_agreement` for each numbered bench agency, one command per call.
    func benchSubmit(_ numbers: [Int], phase: String) throws {
        for number in numbers { _ = try benchSubmitOne(number, phase: phase) }
    }

    /// Submits `register_agreement` for agency "Bench Police Department <number>" through
    /// `CommandQueue.submit`, the client API; the idempotency key is `<phase>-<number>`.
    func benchSubmitOne(_ number: Int, phase: String) throws -> UUID {
        let digits = String(number)
        let padded = String(repeating: "0", count: max(0, 5 - digits.count)) + digits
        let payload = """
            {"agency_name": "Bench Police Department \(padded)", "agency_type": "Municipality", \
            "model": "TFM", "signed_on": "2025-03-10", "source_edition": "bench"}
            """
        return try CommandQueue.submit(type: "register_agreement", payload: payload, idempotencyKey: "\(phase)-\(number)", on: self)
            .commandID
    }
}

