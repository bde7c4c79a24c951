import Foundation
import Logging
import Workflow

// `sbie-log-reads DSN [REPEAT] [--no-before]` (run by Benchmarks/log-size): what a user waits for on a large log,
// measured through the library calls (in this process, no `sbie` process start):
//   snapshot-catch-up  Snapshots.catchUp until nothing is due (the daemon's SnapshotService does this);
//   snapshot-decode    fetching and decoding the newest snapshot (its size in bytes);
//   before-*           the fold from position 0 (what status --as-of did before snapshots), once;
//   as-of-position     PointInTime.register(.position(random n)), p50/p95 of REPEAT;
//   as-of-date         PointInTime.register(.endOf(random day between the first and last legal dates));
//   history-agreement  EventHistory.entries(agreement:) of a random agreement;
//   history-agency     EventHistory.entries(agency:) of a random agency;
//   public-*           as the public role (web_anon, SET ROLE): before-public-seats (the fold
//                      of public_events from 0, what anonymous reads did before 0023, once),
//                      public-as-of-position and public-seats (the register at the head, as
//                      /v1/seats reads it), p50/p95;
//   daemon-start       a new CommandProcessor's first (empty) batch: the register it starts
//                      from (the newest snapshot, then the events after it), once.
// Prints one line per measure: milliseconds of wall clock; and this process's peak RSS (VmHWM).
let arguments = CommandLine.arguments.dropFirst()
guard let dsn = arguments.first else {
    FileHandle.standardError.write(Data("usage: sbie-log-reads DSN [REPEAT] [--no-before]\n".utf8))
    exit(64)
}
let repeatCount = arguments.dropFirst().first.flatMap { Int($0) } ?? 20
let before = !arguments.contains("--no-before")
var logger = Logger(label: "log-reads")
logger.logLevel = .warning
let db = try await Connection.connect(dsn, logger: logger)
let clock = ContinuousClock()

func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15 }
func report(_ label: String, _ samples: [Double], _ note: String = "") {
    let sorted = samples.sorted()
    func pct(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)] }
    if sorted.count == 1 {
        print(String(format: "%-20@ %10.1f ms %@", label as NSString, sorted[0], note))
    } else {
        print(String(format: "%-20@ p50 %8.1f ms  p95 %8.1f ms  (%d runs) %@", label as NSString, pct(0.5), pct(0.95), sorted.count, note))
    }
}
func vmHWM() -> String {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    return status.split(separator: "\n").first { $0.hasPrefix("VmHWM") }.map(String.init) ?? "?"
}

let head = try await EventStore.lastPosition(on: db)
var snapshots = 0
let catchUp = try await clock.measure {
    while true {
        let step = try await Snapshots.catchUp(on: db)
        snapshots += step.written
        if step.written == 0 { break }
    }
}
let stored: (Int, Int64) = try await {
    let row = try await db.query("SELECT count(*)::int, coalesce(sum(octet_length(state)), 0)::bigint FROM register_snapshots").rows[0]
    return (try row.decode(0), try row.decode(1))
}()
report("snapshot-catch-up", [ms(catchUp)], "(\(snapshots) written; \(stored.0) stored, \(stored.1 / 1_048_576) MiB; head \(head))")
var newest: Snapshots.Loaded?
let decode = try await clock.measure { newest = try await Snapshots.newest(on: db) }
report("snapshot-decode", [ms(decode)], "(position \(newest?.position ?? 0), \(newest?.bytes ?? 0) bytes, \(newest?.state.agreements.count ?? 0) agreements)")

let range: (FloridaDate, FloridaDate) = try await {
    let row = try await db.query("SELECT min(legal_at)::text, max(legal_at)::text FROM event_legal_time").rows[0]
    let low: String = try row.decodeIfPresent(0) ?? "2024-01-01"
    let high: String = try row.decodeIfPresent(1) ?? "2024-12-31"
    guard let first = FloridaDate(iso: String(low.prefix(10))), let last = FloridaDate(iso: String(high.prefix(10))) else {
        fatalError("legal dates \(low) .. \(high)")
    }
    return (first, last)
}()
let span = max(1, range.1.days(since: range.0))
var random = SystemRandomNumberGenerator()
let dates = (0..<repeatCount).map { _ in range.0.adding(days: Int.random(in: 0...span, using: &random)) }
let positions = (0..<repeatCount).map { _ in Int64.random(in: 1...max(head, 1), using: &random) }

if before {
    let p = try await clock.measure { _ = try await Projections.foldLog(upTo: positions[0], on: db) }
    report("before-as-of-position", [ms(p)], "(fold from 0 to \(positions[0]))")
    guard case .occurredBefore(let instant) = AsOf.endOf(dates[0]) else { fatalError("endOf is a date bound") }
    let d = try await clock.measure { _ = try await Projections.foldLog(occurredBefore: instant, on: db) }
    report("before-as-of-date", [ms(d)], "(fold of the whole log, \(dates[0]))")
}
var samples: [Double] = []
var folded = 0
for n in positions {
    samples.append(ms(try await clock.measure { folded += try await PointInTime.register(asOf: .position(n), on: db).events }))
}
report("as-of-position", samples)
samples = []
for day in dates {
    samples.append(ms(try await clock.measure { _ = try await PointInTime.register(asOf: .endOf(day), on: db) }))
}
report("as-of-date", samples, "(days \(range.0) .. \(range.1))")

let agreements: [String] = try await db.query(
    "SELECT agreement_id FROM agreement_status ORDER BY random() LIMIT $1", [repeatCount]).rows.map { try $0.decode(0) }
samples = []
var entries = 0
for id in agreements {
    guard let agreement = AgreementID(id) else { continue }
    samples.append(ms(try await clock.measure { entries += try await EventHistory.entries(agreement: agreement, on: db).count }))
}
if !samples.isEmpty { report("history-agreement", samples, "(\(entries / max(samples.count, 1)) events each)") }
let agencies: [String] = try await db.query(
    "SELECT agency_id FROM (SELECT DISTINCT agency_id FROM agreement_status) a ORDER BY random() LIMIT $1", [repeatCount]).rows.map { try $0.decode(0) }
samples = []
entries = 0
for slug in agencies {
    guard let agency = AgencyID(slug: slug) else { continue }
    samples.append(ms(try await clock.measure { entries += try await EventHistory.entries(agency: agency, on: db).count }))
}
if !samples.isEmpty { report("history-agency", samples, "(\(entries / max(samples.count, 1)) events each)") }
let anon = try await Connection.connect(dsn, logger: logger)
try await anon.executeScript("SET ROLE web_anon")
if before {
    let p = try await clock.measure { _ = try await Projections.foldLog(view: .publicEvents, on: anon) }
    report("before-public-seats", [ms(p)], "(fold of public_events from 0)")
}
samples = []
for n in positions {
    samples.append(ms(try await clock.measure { _ = try await PointInTime.register(asOf: .position(n), view: .publicEvents, on: anon) }))
}
report("public-as-of-position", samples)
samples = []
for _ in positions {
    samples.append(ms(try await clock.measure {
        _ = try await PointInTime.register(asOf: .position(.max), view: .publicEvents, on: anon).state.board
    }))
}
report("public-seats", samples)
await anon.close()
func daemonStart() async throws -> (Double, Int64, Int) {
    var processor = CommandProcessor()
    let began = ContinuousClock.now
    _ = try await processor.processBatch(on: db, logger: logger)
    return (ms(began.duration(to: .now)), processor.position, processor.streamVersions.count)
}
let (startMs, startPosition, startStreams) = try await daemonStart()
report("daemon-start", [startMs], "(at position \(startPosition), \(startStreams) streams)")
print("process \(vmHWM())")
await db.close()
