import ArgumentParser
import Foundation
import Workflow

// Shared by the actors' commands: argument types, "submit, wait, print the outcome",
// and aligned text tables.

// MARK: - Argument types

extension FloridaDate: ExpressibleByArgument {
    public init?(argument: String) { self.init(iso: argument) }
}

extension Model: ExpressibleByArgument {
    public init?(argument: String) { self.init(codeOrName: argument) }
}

extension Ballot: ExpressibleByArgument {}

extension BoardSeat: ExpressibleByArgument {
    /// `governor`, `attorney-general` (`ag`), `cfo` (`chief-financial-officer`),
    /// `agriculture` (`commissioner-of-agriculture`); `_` and `-` alike.
    public init?(argument: String) {
        let key = argument.lowercased().replacingOccurrences(of: "-", with: "_")
        switch key {
        case "ag": self = .attorneyGeneral
        case "cfo": self = .chiefFinancialOfficer
        case "agriculture": self = .commissionerOfAgriculture
        default:
            guard let seat = BoardSeat(rawValue: key) else { return nil }
            self = seat
        }
    }
    public static var allValueStrings: [String] { ["governor", "attorney-general", "cfo", "agriculture"] }
}

extension UUID: @retroactive ExpressibleByArgument {
    public init?(argument: String) { self.init(uuidString: argument) }
}

extension AgreementID: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

// MARK: - Submitting a command

/// Options of every command that changes the register.
struct SubmitOptions: ParsableArguments {
    @Flag(help: "Only enqueue the command and print its id; do not wait for the daemon.")
    var noWait = false

    @Option(help: ArgumentHelp(
        "Seconds to wait for the daemon's outcome.",
        discussion: """
            When no outcome arrives in time the command stays queued and sbie exits with code 2. \
            A lost connection is reconnected within the same time, and the wait goes on.
            """))
    var timeout: Double = 30

    @Option(help: ArgumentHelp(
        "Makes a retry safe: the same key (per database login) returns the first command, never a second effect.",
        discussion: "Default: a new random key, printed on standard error so that a retry can reuse it."))
    var idempotencyKey: String?

    @Flag(help: "Print the command record as JSON.")
    var json = false
}

/// The agency a user names (by name or id), resolved in the register before anything is
/// submitted: an unknown name exits 2 with the closest names, a clerk naming another
/// agency exits 1 (`resolveAgencyOrExit`).
func agencyID(_ text: String, on connection: Connection) async throws -> AgencyID {
    try await resolveAgencyOrExit(text, on: connection)
}

/// Submits `command`, waits for the daemon's outcome (unless `--no-wait`) and prints it:
/// the events and the new state of the requests and agreements they touched, or the
/// rejection's code and message.
///
/// Every submission carries an idempotency key: the user's `--idempotency-key`, else a
/// new random one, printed on standard error so that a retry can reuse it and never
/// submit twice. A lost connection (the server restarted, the session was terminated)
/// is reconnected until `--timeout` runs out: the submission is repeated with the same
/// key (at most one command results) and the wait goes on; the command id is printed
/// whatever happens once it is known.
///
/// A reused `--idempotency-key` returns the first command only when it is this command
/// (same type and payload, `ignoringField` aside); otherwise the submission is refused
/// `idempotency_key_reused`, naming the first command (exit 1), and nothing is queued.
///
/// Exit codes: 0 accepted (or queued with `--no-wait`); 1 rejected by a rule, failed, or
/// refused at submission (`SubmissionRefused`); 2 no outcome within the timeout, no
/// connection back within it, or rejected because an id names nothing
/// (`request_not_found`, `agreement_not_found`, `agency_not_found`, `seat_entry_not_found`:
/// README's "an unknown agency, request or login").
/// - Parameter ignoringField: a payload field a retry may change (a generated `request_id`).
/// - Parameter queued: runs with the command as queued when `--no-wait` is given, or once it
///   is accepted, before its outcome is printed; never for a rejected command (whose
///   ids name nothing that exists).
/// - Returns: the command's id.
@discardableResult
func submitAndReport(
    _ command: DomainCommand, options: SubmitOptions, on connection: Connection, ignoringField: String? = nil,
    queued: (CommandRecord) async throws -> Void = { _ in }
) async throws -> UUID {
    let key = options.idempotencyKey ?? UUID().uuidString.lowercased()
    let retryHint = "retry with --idempotency-key \(key) to submit it at most once"
    if options.idempotencyKey == nil {
        printNote("idempotency key \(key) (a retry with --idempotency-key \(key) cannot submit twice)")
    }
    // NaN and negative are 0, infinity about 30 years: no trap from the argument.
    let seconds = options.timeout.isNaN ? 0 : min(max(options.timeout, 0), 1e9)
    let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
    let payload = String(decoding: command.payloadJSON(), as: UTF8.self)
    var submitted: CommandRecord?
    while submitted == nil {
        do {
            submitted = try await CommandQueue.submit(
                type: command.commandType, payload: payload, idempotencyKey: key, ignoringField: ignoringField, on: connection)
        } catch let error as SubmissionError {
            printError("refused: " + (error.message.hasPrefix(error.code) ? error.message : "\(error.code): \(error.message)"))
            throw SubmissionRefused(code: error.code)
        } catch let error as PostgresError {
            guard await isConnectionLoss(error, connection) else {
                printNote("the command may not be queued; \(retryHint)")
                throw error
            }
            printNote("connection lost before the command was acknowledged (\(error.message)); reconnecting")
            guard await reconnect(connection, until: deadline) else {
                printError("no connection to PostgreSQL within \(String(format: "%g", seconds)) s; the command may be queued: \(retryHint)")
                throw ExitCode(2)
            }
        }
    }
    guard let submitted else { throw ExitCode(2) }
    let id = submitted.commandID
    if options.noWait {
        try await queued(submitted)
        if options.json { try printJSON(CommandView(submitted)) } else { print("queued command \(lower(id)) (\(submitted.commandType))") }
        return id
    }
    var record: CommandRecord?
    while true {
        do {
            record = try await CommandQueue.waitForOutcome(id, timeout: ContinuousClock.now.duration(to: deadline), on: connection)
            break
        } catch let error as PostgresError {
            guard await isConnectionLoss(error, connection) else {
                printNote("command \(lower(id)) is queued (\(retryHint)); waiting for it failed")
                throw error
            }
            printNote("connection lost while waiting for command \(lower(id)) (\(error.message)); reconnecting")
            guard await reconnect(connection, until: deadline) else { break }
            printNote("reconnected; still waiting for command \(lower(id))")
        }
    }
    guard let record, record.isFinal else {
        printError("no outcome within \(String(format: "%g", seconds)) s: is `sbie run` running? Command \(lower(id)) stays queued "
                   + "(see `sbie commands --status pending`; a retry with --idempotency-key \(key) returns it, never a second one).")
        throw ExitCode(2)
    }
    if record.status == .accepted { try await queued(record) }
    if options.json {
        try printJSON(CommandView(record))
    } else {
        await printOutcome(record, on: connection)
    }
    if record.status == .rejected, let code = record.errorCode, notFoundCodes.contains(code) { throw Exit.notCarriedOut }
    if record.status != .accepted { throw Exit.refused }
    return id
}

/// Rejection codes that mean "no such thing" (an unknown id or name), which exit 2 like the
/// CLI's own look-ups, not 1 like a rule's refusal.
let notFoundCodes: Set<String> = ["request_not_found", "agreement_not_found", "agency_not_found", "seat_entry_not_found"]

/// Whether `error` means the session is gone (rather than a statement refused): libpq
/// lost the connection, or the server ended the session (57P01 terminated by an
/// administrator or a shutdown, 57P02 crash of another backend, 57P03 starting up,
/// class 08 connection exceptions).
func isConnectionLoss(_ error: PostgresError, _ connection: Connection) async -> Bool {
    if error.kind == .connection { return true }
    if let state = error.sqlState, state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state) { return true }
    return await !connection.isOpen
}

/// Reconnects `connection`, retrying with backoff (0.2 s doubling to 2 s) until `deadline`.
/// - Returns: whether the connection is back.
func reconnect(_ connection: Connection, until deadline: ContinuousClock.Instant) async -> Bool {
    var delay = Duration.milliseconds(200)
    while true {
        do {
            try await connection.reconnect()
            return true
        } catch {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { return false }
            try? await Task.sleep(for: min(delay, remaining))
            delay = min(delay * 2, .seconds(2))
        }
    }
}

/// A line on standard error that is not an error (progress, what to do next).
func printNote(_ message: String) {
    FileHandle.standardError.write(Data("note: \(message)\n".utf8))
}

/// Prints a decided command for people. The events and the new state are read back
/// best-effort: a login that may not read them still sees the outcome and the positions.
func printOutcome(_ record: CommandRecord, on connection: Connection) async {
    switch record.status {
    case .pending:
        print("pending: \(record.commandType) (command \(lower(record.commandID)))")
    case .rejected:
        print("rejected: \(record.errorCode ?? "?") (command \(lower(record.commandID)))")
        print("  \(flagNames(in: record.errorMessage ?? "", of: record.commandType))")
    case .failed:
        print("failed after \(record.attempts) attempts (command \(lower(record.commandID)), dead letter; `sbie retry` requeues it)")
        print("  \(record.errorMessage ?? "")")
    case .accepted:
        print("accepted: \(record.commandType) (command \(lower(record.commandID)))")
        let outcome = Outcome.parse(record.outcome)
        var requests: [UUID] = []
        var agreements: [String] = []
        if let events = try? await EventHistory.entries(positions: record.eventPositions, on: connection) {
            if events.isEmpty { print("  nothing changed: already recorded") }
            for event in events { print("  #\(event.position)  \(event.eventType): \(event.summary)") }
            for event in events {
                guard case .object(let data) = event.data else { continue }
                if case .string(let text)? = data["request_id"], let id = UUID(uuidString: text), !requests.contains(id) {
                    requests.append(id)
                }
                if case .string(let text)? = data["agreement_id"], !agreements.contains(text) { agreements.append(text) }
            }
        } else {
            // A login that may not read the log (a clerk): the outcome names each event's
            // type and stream; the request and agreement rows it may read say what changed.
            let events = outcome?.events ?? []
            if events.isEmpty && record.eventPositions.isEmpty { print("  nothing changed: already recorded") }
            if events.isEmpty && !record.eventPositions.isEmpty {
                print("  events at positions " + record.eventPositions.map(String.init).joined(separator: ", "))
            }
            for event in events {
                print("  #\(event.position)  \(event.type) (\(event.stream))")
                if event.stream.hasPrefix("request-"), let id = UUID(uuidString: String(event.stream.dropFirst(8))),
                   !requests.contains(id) { requests.append(id) }
                if event.stream.hasPrefix("agreement-") {
                    let text = String(event.stream.dropFirst(10))
                    if !agreements.contains(text) { agreements.append(text) }
                }
            }
        }
        if let scheduled = outcome?.scheduled, scheduled > 0 {
            print("  \(scheduled) timer(s) scheduled")
        }
        for id in requests {
            guard let row = try? await ReadModels.terminationRequestRow(id, on: connection) else { continue }
            if !agreements.contains(row.agreementID) { agreements.append(row.agreementID) }
            var line = "  request \(row.requestID): \(row.state), filed \(row.filedOn)"
            if let meeting = row.meetingOn { line += ", meeting \(meeting)" }
            if let decided = row.decidedOn { line += ", decided \(decided)" }
            if let received = row.noticeReceivedOn { line += ", notice received \(received)" }
            if let effective = row.effectiveOn { line += ", ends \(effective)" }
            print(line)
        }
        for text in agreements {
            guard let id = AgreementID(text), let row = try? await ReadModels.agreementStatusRow(id, on: connection) else { continue }
            print("  agreement \(row.agreementID): \(row.state)" + (row.endedOn.map { ", ended \($0)" } ?? ""))
        }
    }
}

/// The outcome JSON the daemon stores for an accepted command.
struct Outcome: Decodable {
    /// Each event's type, stream and global position.
    struct Event: Decodable {
        var type: String
        var stream: String
        var position: Int64
    }
    var events: [Event]?
    var scheduled: Int?
    static func parse(_ text: String?) -> Outcome? {
        text.flatMap { try? JSONDecoder().decode(Outcome.self, from: Data($0.utf8)) }
    }
}

func lower(_ id: UUID) -> String { id.uuidString.lowercased() }

/// The command-line flag of each payload field whose name differs from it, by command type.
private let payloadFlags: [String: [String: String]] = {
    let seat = ["replaces_entry_on": "--replaces", "effective_on": "--effective", "date_uncertain": "--date-uncertain"]
    return [
        "fill_board_seat": seat, "vacate_board_seat": seat,
        "submit_termination_request": ["local_authorization": "--authorization", "filed_on": "--filed",
                                       "agency_id": "--agency", "agreement_id": "--agreement"],
        "withdraw_termination_request": ["withdrawn_on": "--date"],
        "record_termination_notice": ["received_on": "--received", "served_on": "--served"],
        "schedule_review": ["meeting_date": "--meeting"],
        "record_board_vote": ["meeting_date": "--meeting"],
        "record_local_government_vote": ["voted_on": "--date"],
    ]
}()

/// A rejection's message with each payload field named by its command-line flag
/// (`replaces_entry_on` -> `--replaces`), as the user typed it.
func flagNames(in message: String, of commandType: String) -> String {
    var text = message
    for (field, flag) in payloadFlags[commandType] ?? [:] { text = text.replacingOccurrences(of: field, with: flag) }
    return text
}

// MARK: - Tables

/// Prints rows as columns aligned with two spaces, under an upper-case header.
/// - Parameters:
///   - maxWidth: the line width to fit (nil: no limit); the `shrinkable` columns are cut,
///     widest first, down to 12 characters, their cells ending in "…".
func printTable(_ headers: [String], _ rows: [[String]], maxWidth: Int? = nil, shrinkable: [Int] = []) {
    var widths = headers.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
    }
    if let maxWidth {
        var excess = widths.reduce(2 * (widths.count - 1), +) - maxWidth
        while excess > 0, let widest = shrinkable.filter({ widths[$0] > 12 }).max(by: { widths[$0] < widths[$1] }) {
            let others = shrinkable.filter { $0 != widest }.map { widths[$0] }.max() ?? 12
            let cut = min(excess, widths[widest] - max(12, min(others, widths[widest] - 1)))
            widths[widest] -= max(cut, 1)
            excess -= max(cut, 1)
        }
    }
    func fit(_ cell: String, _ width: Int) -> String {
        cell.count <= width ? cell : String(cell.prefix(width - 1)) + "…"
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            let cell = index < widths.count ? fit(cell, widths[index]) : cell
            return index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    print(line(headers.map { $0.uppercased() }))
    for row in rows { print(line(row)) }
}
