import Foundation

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

/// Commands offered at a fixed rate (half the measured maximum): the latency a user feels under load.
struct PacedResult: Codable, Sendable {
    var offeredPerSecond: Double
    var submitted: Int
    var accepted: Int
    /// Commands whose submission fell behind schedule by more than one interval (the clients could not keep up).
    var late: Int
    /// processed_at - submitted_at, database clock.
    var latency: Latency
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
    /// One INSERT at a time at 7/s (`pgbench -R 7`): the raw round trip at idle.
    var rawIdle: Throughput
    /// INSERTs offered at the paced case's rate by --clients clients (`pgbench -R`).
    var rawPaced: Throughput
    var appendSingle1: Throughput
    var appendSingleN: Throughput
    var appendBatch1: Throughput
    var commands: CommandsResult
    var paced: PacedResult
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
            "paced: \(paced.submitted) commands offered at \(format(paced.offeredPerSecond))/s by \(clients) clients, "
                + "\(paced.accepted) accepted, \(paced.late) submitted late; latency processed_at - submitted_at.")
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

