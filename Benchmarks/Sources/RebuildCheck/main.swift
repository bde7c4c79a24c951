import Foundation
import Logging
import Workflow

// `sbie-rebuild-check DSN [RUNS]`: the benchmark's rebuild case on an existing, migrated database
// whose log the domain can fold (e.g. one `sbie-bench --keep` left, its BenchEventAppended events
// removed, or one Benchmarks/generate-log.sql wrote): Projections.rebuild(checkOnly: true), the
// fold alone (Projections.foldLog) and a raw COPY (SELECT * FROM events) TO STDOUT, RUNS times
// each (default 7), interleaved. Prints the median and minimum of each in milliseconds, the
// rebuild check's ratio to COPY in events per second (what scripts/bench prints), and the check's
// per-table counts. For profiling one part alone: ONLY=check|fold|copy runs just that one.
let arguments = CommandLine.arguments.dropFirst()
guard let dsn = arguments.first else {
    FileHandle.standardError.write(Data("usage: sbie-rebuild-check DSN [RUNS]\n".utf8))
    exit(64)
}
let runs = max(1, arguments.dropFirst().first.flatMap { Int($0) } ?? 7)
let only = ProcessInfo.processInfo.environment["ONLY"]
var logger = Logger(label: "rebuild-check")
logger.logLevel = .warning
let db = try await Connection.connect(dsn, logger: logger)
let clock = ContinuousClock()
func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15 }

let head = try await EventStore.lastPosition(on: db)
var check: Projections.RebuildCheck?
var times: [String: [Double]] = ["check": [], "fold": [], "copy": []]
for _ in 0..<runs {
    if only == nil || only == "check" {
        times["check", default: []].append(ms(try await clock.measure { check = try await Projections.rebuild(checkOnly: true, on: db) }))
    }
    if only == nil || only == "fold" {
        times["fold", default: []].append(ms(try await clock.measure { _ = try await Projections.foldLog(on: db) }))
    }
    if only == nil || only == "copy" {
        times["copy", default: []].append(ms(try await clock.measure { _ = try await db.copyOut("COPY (SELECT * FROM events) TO STDOUT") }))
    }
}
func median(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.sorted()[(xs.count - 1) / 2] }
for name in ["check", "fold", "copy"] where !(times[name] ?? []).isEmpty {
    let xs = times[name] ?? []
    print(String(format: "%-6@ median %8.2f ms  min %8.2f ms  (%d runs)", name as NSString, median(xs), xs.min() ?? 0, xs.count))
}
if let c = times["check"], let p = times["copy"], !c.isEmpty, !p.isEmpty {
    print(String(format: "rebuild check / COPY read (ev/s ratio, medians): %.2fx; min/min %.2fx", median(p) / median(c), (p.min() ?? 0) / (c.min() ?? 1)))
}
if let check {
    print("events \(check.events) (head \(head)); matches \(check.matches); tables \(check.tables.sorted { $0.key < $1.key })")
}
await db.close()
