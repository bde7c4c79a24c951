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

/// Resolves `--agency` for a read command: exits 2 with the closest names when the
/// register has no such agency, 1 when a clerk names another agency (`resolveAgencyOrExit`).
private func knownAgency(_ text: String, on connection: Connection) async throws -> AgencyID {
    try await resolveAgencyOrExit(text, on: connection)
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The state of every agreement, or of one agency's agreements and requests, now or as of a point in time.",
        discussion: """
            Without --as-of it reads the agreement_status and termination_requests tables. \
            With --as-of it folds the event log instead:
              --as-of 1200         up to position 1200 included (what the record said);
              --as-of 2025-09-16   events of that Florida date or before (legal time);
              --as-of 2025-09-16T12:00:00Z   events that occurred before that instant.

            The table fits the terminal (or $COLUMNS): long agency names and agreement ids are \
            cut with "…"; --wide prints them whole, as does output to a pipe or file.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "One agency (name or id); also lists its termination requests.") var agency: String?
    @Option(name: .customLong("as-of"), help: "A global position, a date (YYYY-MM-DD) or an ISO 8601 instant.")
    var asOf: AsOf?
    @Flag(help: "Print whole names and ids, however wide the table.") var wide = false
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Only the live agreements ICE's latest edition does not list (\"not listed since EDITION\").")
    var notListed = false

    struct Report: Encodable {
        var asOf: String?
        /// With --as-of: the last position read, and how many events were folded.
        var position: Int64?
        var events: Int?
        var agreements: [AgreementStatusRow]
        var requests: [TerminationRequestRow]
        /// The latest signed checkpoint of the log (issue 19), if any.
        var latestCheckpoint: StoredCheckpoint?
        enum CodingKeys: String, CodingKey {
            case asOf = "as_of", position, events, agreements, requests, latestCheckpoint = "latest_checkpoint"
        }
    }

    func run() async throws {
        let connection = try await db.connectForReading(db.logger("sbie.status"), json: json)
        let agencyID = try await agency.asyncMap { try await knownAgency($0, on: connection) }
        var report: Report
        if let asOf {
            try await requireEventLog(connection, for: "status --as-of")
            let snapshot = try await PointInTime.register(asOf: asOf, on: connection)
            report = Report(asOf: asOf.description, position: snapshot.position, events: snapshot.events,
                            agreements: try AgreementStatusRow.rows(in: snapshot.state, agency: agencyID),
                            requests: try TerminationRequestRow.rows(in: snapshot.state, agency: agencyID))
        } else {
            report = Report(asOf: nil, position: nil, events: nil,
                            agreements: try await ReadModels.agreementStatusRows(agency: agencyID, on: connection),
                            requests: try await ReadModels.terminationRequestRows(agency: agencyID, on: connection))
        }
        report.latestCheckpoint = try await Checkpoints.list(limit: 1, on: connection).first
        // Live agreements only: a duplicate listing or an ended agreement is not "live but unlisted".
        if notListed {
            report.agreements = report.agreements.filter { $0.notListedSince != nil && !["duplicate", "terminated"].contains($0.state) }
        }
        if json { return try printJSON(report) }
        if let asOf, let position = report.position, let events = report.events {
            let clock = if case .position = asOf { "in log order" } else { "by legal time" }
            print("as of \(asOf), \(clock): \(events) event(s) folded from the log up to position \(position)\n")
        }
        let width = wide ? nil : terminalWidth()
        // The editions column when there is room for it (or --wide / not a terminal); `--not-listed`
        // and `--json` always say which agreements ICE's latest edition does not list.
        let editions = width.map { $0 >= 110 } ?? true
        printTable(["agreement", "agency", "state", "must keep", "open request", "ended"] + (editions ? ["ICE editions"] : []),
                   report.agreements.map {
            [$0.agreementID, $0.agencyName, $0.state, $0.mustKeep ? "yes" : "", $0.openRequestID ?? "", $0.endedOn ?? ""]
                + (editions ? [$0.notListedSince.map { "not listed since \($0)" }
                    ?? [$0.firstEdition, $0.latestEdition].compactMap { $0 }.uniqued().joined(separator: " .. ")] : [])
        }, maxWidth: width, shrinkable: [1, 0])
        let counts = Dictionary(grouping: report.agreements, by: \.state).mapValues(\.count)
        let byState = AgreementStatus.allCases.compactMap { s in counts[s.rawValue].map { "\($0) \(s.rawValue)" } }
        print("\n\(report.agreements.count) agreement(s)" + (byState.isEmpty ? "" : ": " + byState.joined(separator: ", ")))
        if let latest = report.latestCheckpoint?.checkpoint {
            print("latest checkpoint: position \(latest.head.position), hash \(latest.head.hashHex), "
                  + "signed \(latest.signedAt.iso8601) by key \(latest.keyID)")
        } else {
            print("latest checkpoint: none signed")
        }
        if agencyID != nil, !report.requests.isEmpty {
            print("")
            printTable(["request", "agreement", "state", "filed", "meeting", "decided", "ends"], report.requests.map {
                [$0.requestID, $0.agreementID, $0.state, $0.filedOn, $0.meetingOn ?? "", $0.decidedOn ?? "", $0.effectiveOn ?? ""]
            }, maxWidth: width, shrinkable: [1])
        }
    }
}

struct Docket: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The Board's docket: open requests, scheduled meetings first (earliest first), then by filing date.")

    @OptionGroup var db: DatabaseOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let connection = try await db.connectForReading(db.logger("sbie.docket"), json: json)
        let rows = try await ReadModels.docketRows(on: connection)
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

            An agency clerk's login, which may not read the event log, gets its own agency's \
            history from the agency timeline (a projection that follows the log within a moment).
            Exit code 2 for an unknown agency or request.
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "An agency (name or id).") var agency: String?
    @Option(help: "A termination request's id.") var request: UUID?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard (agency == nil) != (request == nil) else { throw ValidationError("give exactly one of --agency and --request") }
    }

    func run() async throws {
        let connection = try await db.connectForReading(db.logger("sbie.history"), json: json)
        let agencyID = try await agency.asyncMap { try await knownAgency($0, on: connection) }
        if !(try await LoginContext.current(connection)).readsLog {
            return try await printTimeline(agency: agencyID, request: request, on: connection)
        }
        let entries: [HistoryEntry]
        if let request {
            entries = try await EventHistory.entries(request: request, on: connection)
            if entries.isEmpty, try await ReadModels.terminationRequestRow(request, on: connection) == nil {
                printError("no request \(lower(request)) in the register (see `sbie docket` or `sbie status --agency NAME`)")
                throw Exit.notCarriedOut
            }
        } else if let agencyID {
            entries = try await EventHistory.entries(agency: agencyID, on: connection)
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

/// One row of `agency_timeline`, as a clerk's `history --json` prints it.
struct TimelineEntry: Encodable {
    var position: Int64
    var agencyID: String
    var occurredAt: String
    var recordedAt: String
    var eventType: String
    var streamID: String
    var actor: String?
    var summary: String
    enum CodingKeys: String, CodingKey {
        case position = "global_position", agencyID = "agency_id", occurredAt = "occurred_at", recordedAt = "recorded_at"
        case eventType = "event_type", streamID = "stream_id", actor, summary
    }
}

extension History {
    /// A clerk's history: its agency's rows of `agency_timeline` (row-level security keeps
    /// them to its own agency), all of them or one request's.
    func printTimeline(agency: AgencyID?, request: UUID?, on connection: Connection) async throws {
        let rows = try await connection.query(
            """
            SELECT global_position, agency_id, occurred_at, recorded_at, event_type, stream_id, actor, summary
            FROM agency_timeline WHERE ($1::text IS NULL OR agency_id = $1) AND ($2::text IS NULL OR stream_id = $2)
            ORDER BY global_position
            """, [agency?.slug, request.map(StreamName.request)], name: "clerk history").rows
        let entries = try rows.map { row in
            TimelineEntry(position: try row.decode(0), agencyID: try row.decode(1),
                          occurredAt: try row.decode(2, as: Timestamp.self).iso8601,
                          recordedAt: try row.decode(3, as: Timestamp.self).iso8601,
                          eventType: try row.decode(4), streamID: try row.decode(5), actor: try row.decodeIfPresent(6),
                          summary: try row.decode(7))
        }
        if let request, entries.isEmpty {
            printError("no request \(lower(request)) among your agency's (see `sbie status --agency NAME`)")
            throw Exit.notCarriedOut
        }
        if json { return try printJSON(entries) }
        guard !entries.isEmpty else { return print("no events") }
        printTable(["pos", "occurred", "recorded", "actor", "event", "summary"], entries.map {
            [String($0.position), String($0.occurredAt.prefix(10)),
             String($0.recordedAt.prefix(19)).replacingOccurrences(of: "T", with: " ") + "Z",
             $0.actor ?? "", $0.eventType, $0.summary]
        })
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the event log or a read model as CSV or JSON lines.",
        discussion: """
            CSV: RFC 4180, a header line, CRLF line ends; NULL is an empty field, an empty string "". \
            A text cell starting with =, +, -, @, tab or CR is written with a leading single quote, \
            so a spreadsheet shows it as text rather than running it as a formula (OWASP, CSV injection). \
            JSON lines: one object per row, JSON columns (event data, metadata, votes) embedded as JSON. \
            Read in one consistent snapshot.
            """)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "events, agreement_status, termination_requests, board_docket or agency_timeline.")
    var source: ExportSource
    @Option(help: "csv or jsonl.") var format: ExportFormat = .csv
    @Option(help: "Write to this file instead of standard output.") var output: String?

    func run() async throws {
        let connection = try await db.connectForReading(db.logger("sbie.export"))
        if source == .events { try await requireEventLog(connection, for: "export events") }
        guard let output else {
            let handle = FileHandle.standardOutput
            try await Exporter.export(source, format: format, on: connection) { try handle.write(contentsOf: Data($0.utf8)) }
            return
        }
        // Whole or not at all: a failed export leaves no file (and an earlier one as it was).
        let rows = try await writeAtomically(output) { handle in
            try await Exporter.export(source, format: format, on: connection) { try handle.write(contentsOf: Data($0.utf8)) }
        }
        print("exported \(rows) row(s) of \(source.rawValue) to \(output)")
    }
}

struct QueueCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commands",
        abstract: "The command queue, newest last: pending, accepted, rejected and failed (dead letter) commands.")

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Only this status: pending, accepted, rejected or failed.") var status: CommandRecord.Status?
    @Option(help: "At most this many (the newest).") var limit = 100
    @Option(help: "One command: its row and every failed attempt (kept across `sbie retry`).") var id: UUID?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let connection = try await db.connectForReading(db.logger("sbie.commands"), json: json)
        if let id { return try await show(id, on: connection) }
        let records = try await CommandQueue.commands(status: status, limit: max(limit, 1), on: connection)
        if json { return try printJSON(records.map { CommandView($0) }) }
        guard !records.isEmpty else { return print("no commands") }
        printTable(["submitted", "command", "type", "status", "by", "tries", "result"], records.map { r in
            [String(r.submittedAt.iso8601.prefix(19)).replacingOccurrences(of: "T", with: " ") + "Z", lower(r.commandID),
             r.commandType, r.status.rawValue, r.submittedBy, String(r.attempts),
             r.errorCode.map { "\($0): \(r.errorMessage ?? "")" }
                ?? (r.eventPositions.isEmpty ? "" : "events " + r.eventPositions.map { "#\($0)" }.joined(separator: " "))]
        })
    }
}

extension QueueCommands {
    /// One command and its failed attempts. Exit code 2 when it does not exist or is not
    /// visible (an unknown id, as for requests and agencies).
    func show(_ id: UUID, on connection: Connection) async throws {
        guard let record = try await CommandQueue.command(id, on: connection) else {
            printError("no command \(lower(id)) (or not visible to this login; `sbie commands` lists them)")
            throw Exit.notCarriedOut
        }
        let attempts = try await CommandQueue.attempts(id, on: connection)
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
        discussion: "Exit code 1 when the given command is not failed; 2 when there is no such command (or it is not visible).")

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "The failed command's id.") var commandID: UUID?
    @Flag(help: "Every failed command.") var allFailed = false

    func validate() throws {
        if commandID == nil && !allFailed { throw ValidationError("give a failed command's id, or --all-failed") }
        if commandID != nil && allFailed { throw ValidationError("give a command id or --all-failed, not both") }
    }

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.retry"))
        let requeued = try await CommandQueue.retryFailed(commandID, on: connection)
        if let commandID, requeued == 0 {
            guard let status = try await CommandQueue.command(commandID, on: connection)?.status.rawValue else {
                printError("no command \(lower(commandID)) (or not visible to this login); nothing requeued")
                throw Exit.notCarriedOut
            }
            printError("command \(lower(commandID)) is not failed (\(status)); nothing requeued")
            throw Exit.refused
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
