import ArgumentParser
import Foundation
import Workflow

// Auditors' commands: read the register now or at any point in its history, the
// Board's docket, an agency's or a request's history, exports; and the queue's
// commands and dead letters. Every read command takes --json.

extension AsOf: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

extension ExportSource: ExpressibleByArgument {}
extension ExportFormat: ExpressibleByArgument {}

extension CommandRecord.Status: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { ["pending", "accepted", "rejected", "failed"] }
}

/// Resolves `--agency` for a read command, or exits 2 when the register has no such agency.
private func knownAgency(_ text: String, on connection: Connection) async throws -> AgencyID {
    guard let id = try await connection.resolveAgency(text) else {
        printError("no agency '\(text)' in the register (give its name as ICE prints it, or its id)")
        throw ExitCode(2)
    }
    return id
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The state of every agreement, or of one agency's agreements and requests, now or as of a point in time.",
        discussion: """
            Without --as-of it reads the agreement_status and termination_requests tables. \
            With --as-of it folds the event log instead:
              --as-of 1200         up to and including global position 1200 (what the record said then);
              --as-of 2025-09-16   events that occurred on or before that Florida date (legal time);
              --as-of 2025-09-16T12:00:00Z   events that occurred before that instant.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "One agency (name or id); also lists its termination requests.") var agency: String?
    @Option(name: .customLong("as-of"), help: "A global position, a date (YYYY-MM-DD) or an ISO 8601 instant.")
    var asOf: AsOf?
    @Flag(help: "Print JSON.") var json = false

    struct Report: Encodable {
        var asOf: String?
        /// With --as-of: the last position read, and how many events were folded.
        var position: Int64?
        var events: Int?
        var agreements: [AgreementStatusRow]
        var requests: [TerminationRequestRow]
        enum CodingKeys: String, CodingKey { case asOf = "as_of", position, events, agreements, requests }
    }

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.status"))
        let agencyID = try await agency.asyncMap { try await knownAgency($0, on: connection) }
        var report: Report
        if let asOf {
            let snapshot = try await connection.register(asOf: asOf)
            report = Report(asOf: asOf.description, position: snapshot.position, events: snapshot.events,
                            agreements: try AgreementStatusRow.rows(in: snapshot.state, agency: agencyID),
                            requests: try TerminationRequestRow.rows(in: snapshot.state, agency: agencyID))
        } else {
            report = Report(asOf: nil, position: nil, events: nil,
                            agreements: try await connection.agreementStatusRows(agency: agencyID),
                            requests: try await connection.terminationRequestRows(agency: agencyID))
        }
        if json { return try printJSON(report) }
        if let asOf, let position = report.position, let events = report.events {
            let clock = if case .position = asOf { "in log order" } else { "by legal time" }
            print("as of \(asOf), \(clock): \(events) event(s) folded from the log up to position \(position)\n")
        }
        printTable(["agreement", "agency", "state", "must keep", "open request", "ended"], report.agreements.map {
            [$0.agreementID, $0.agencyName, $0.state, $0.mustKeep ? "yes" : "", $0.openRequestID ?? "", $0.endedOn ?? ""]
        })
        let counts = Dictionary(grouping: report.agreements, by: \.state).mapValues(\.count)
        let byState = AgreementStatus.allCases.compactMap { s in counts[s.rawValue].map { "\($0) \(s.rawValue)" } }
        print("\n\(report.agreements.count) agreement(s)" + (byState.isEmpty ? "" : ": " + byState.joined(separator: ", ")))
        if agencyID != nil, !report.requests.isEmpty {
            print("")
            printTable(["request", "agreement", "state", "filed", "meeting", "decided", "ends"], report.requests.map {
                [$0.requestID, $0.agreementID, $0.state, $0.filedOn, $0.meetingOn ?? "", $0.decidedOn ?? "", $0.effectiveOn ?? ""]
            })
        }
    }
}

struct Docket: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The Board's docket: open requests, scheduled meetings first (earliest first), then by filing date.")

    @OptionGroup var db: DatabaseOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.docket"))
        let rows = try await connection.docketRows()
        if json { return try printJSON(rows) }
        guard !rows.isEmpty else { return print("the docket is empty: no open request") }
        printTable(["request", "agency", "model", "state", "filed", "meeting"], rows.map {
            [$0.requestID, $0.agencyName, $0.model, $0.state, $0.filedOn, $0.meetingOn ?? "not scheduled"]
        })
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An agency's or a request's events, with positions, actors and times.",
        discussion: """
            OCCURRED is the legal date (Florida), RECORDED the database's clock at append (UTC), \
            ACTOR the database login that submitted the command.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "An agency (name or id).") var agency: String?
    @Option(help: "A termination request's id.") var request: UUID?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard (agency == nil) != (request == nil) else { throw ValidationError("give exactly one of --agency and --request") }
    }

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.history"))
        let entries: [HistoryEntry]
        if let request {
            entries = try await connection.history(request: request)
        } else if let agency {
            entries = try await connection.history(agency: try await knownAgency(agency, on: connection))
        } else {
            entries = []
        }
        if json { return try printJSON(entries) }
        guard !entries.isEmpty else { return print("no events") }
        printTable(["pos", "occurred", "recorded", "actor", "event", "summary"], entries.map {
            [String($0.position), FloridaDate(floridaDateOf: $0.occurredAt.date).description,
             String($0.recordedAt.iso8601.prefix(19)).replacingOccurrences(of: "T", with: " ") + "Z",
             $0.actor ?? "", $0.eventType, $0.summary]
        })
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the event log or a read model as CSV or JSON lines.",
        discussion: """
            CSV: RFC 4180, a header line, CRLF line ends; NULL is an empty field, an empty string "". \
            JSON lines: one object per row, JSON columns (event data, metadata, votes) embedded as JSON. \
            Read in one consistent snapshot.
            """)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "events, agreement_status, termination_requests, board_docket or agency_timeline.")
    var source: ExportSource
    @Option(help: "csv or jsonl.") var format: ExportFormat = .csv
    @Option(help: "Write to this file instead of standard output.") var output: String?

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.export"))
        let handle: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil),
                  let file = FileHandle(forWritingAtPath: output) else {
                printError("cannot write \(output)")
                throw ExitCode(2)
            }
            handle = file
        } else {
            handle = FileHandle.standardOutput
        }
        let rows = try await connection.export(source, format: format) { try handle.write(contentsOf: Data($0.utf8)) }
        if let output {
            try handle.close()
            print("exported \(rows) row(s) of \(source.rawValue) to \(output)")
        }
    }
}

struct Commands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The command queue, newest last: pending, accepted, rejected and failed (dead letter) commands.")

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Only this status: pending, accepted, rejected or failed.") var status: CommandRecord.Status?
    @Option(help: "At most this many (the newest).") var limit = 100
    @Option(help: "One command: its row and every failed attempt (kept across `sbie retry`).") var id: UUID?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.commands"))
        if let id { return try await show(id, on: connection) }
        let records = try await connection.commands(status: status, limit: max(limit, 1))
        if json { return try printJSON(records.map(CommandView.init)) }
        guard !records.isEmpty else { return print("no commands") }
        printTable(["submitted", "command", "type", "status", "by", "tries", "result"], records.map { r in
            [String(r.submittedAt.iso8601.prefix(19)).replacingOccurrences(of: "T", with: " ") + "Z", lower(r.commandID),
             r.commandType, r.status.rawValue, r.submittedBy, String(r.attempts),
             r.errorCode.map { "\($0): \(r.errorMessage ?? "")" }
                ?? (r.eventPositions.isEmpty ? "" : "events " + r.eventPositions.map { "#\($0)" }.joined(separator: " "))]
        })
    }
}

extension Commands {
    /// One command and its failed attempts. Exit code 1 when it does not exist or is not visible.
    func show(_ id: UUID, on connection: Connection) async throws {
        guard let record = try await connection.command(id) else {
            printError("command \(lower(id)) not found (or not visible to this login)")
            throw ExitCode(1)
        }
        let attempts = try await connection.commandAttempts(id)
        if json {
            struct Shown: Encodable {
                var command: CommandView
                var failedAttempts: [AttemptView]
                enum CodingKeys: String, CodingKey { case command, failedAttempts = "failed_attempts" }
            }
            return try printJSON(Shown(command: CommandView(record), failedAttempts: attempts.map(AttemptView.init)))
        }
        await printOutcome(record, on: connection)
        print("  submitted \(record.submittedAt.iso8601) by \(record.submittedBy), key \(record.idempotencyKey)"
              + (record.agencyID.map { ", agency \($0)" } ?? ""))
        print("  failed attempts: \(attempts.isEmpty ? "none" : String(attempts.count))")
        for attempt in attempts {
            print("  #\(attempt.attempt) \(attempt.failedAt.iso8601) \(attempt.daemonID): \(attempt.errorCode): "
                  + attempt.errorMessage + (attempt.deadLetter ? " (dead letter)" : ""))
        }
    }
}

/// A failed attempt, for `sbie commands --id ID --json`.
struct AttemptView: Encodable {
    var attempt: Int
    var failedAt: String
    var errorCode: String
    var errorMessage: String
    var daemonID: String
    var deadLetter: Bool
    enum CodingKeys: String, CodingKey {
        case attempt, failedAt = "failed_at", errorCode = "error_code", errorMessage = "error_message"
        case daemonID = "daemon_id", deadLetter = "dead_letter"
    }
    init(_ a: CommandAttempt) {
        (attempt, failedAt, errorCode, errorMessage, daemonID, deadLetter) =
            (a.attempt, a.failedAt.iso8601, a.errorCode, a.errorMessage, a.daemonID, a.deadLetter)
    }
}

struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put failed commands (dead letters) back in the queue, attempts reset (their history is kept: sbie commands --id).",
        discussion: "Exit code 1 when the given command is not failed.")

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "The failed command's id.") var commandID: UUID?
    @Flag(help: "Every failed command.") var allFailed = false

    func validate() throws {
        guard (commandID == nil) == allFailed else { throw ValidationError("give a command id or --all-failed, not both") }
    }

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.retry"))
        let requeued = try await connection.retryFailedCommands(commandID)
        if let commandID, requeued == 0 {
            let status = try await connection.command(commandID)?.status.rawValue ?? "not found"
            printError("command \(lower(commandID)) is not failed (\(status)); nothing requeued")
            throw ExitCode(1)
        }
        print("requeued \(requeued) command(s)")
    }
}

extension Optional {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
