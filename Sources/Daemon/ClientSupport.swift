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

/// The agency a user names (by name or id): an agency in the register, else the
/// name's slug (the daemon then rejects a request from an agency without an agreement,
/// and a login that may not read the register still submits under the slug).
func agencyID(_ text: String, on connection: Connection) async throws -> AgencyID {
    if let id = try? await connection.resolveAgency(text) { return id }
    guard let id = AgencyID(name: text) else {
        printError("'\(text)' is not an agency name or id")
        throw ExitCode(2)
    }
    return id
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
/// Exit codes: 0 accepted (or queued with `--no-wait`); 1 rejected, failed, or refused
/// by the database at submission; 2 no outcome within the timeout, or no connection
/// back within it.
/// - Parameter queued: runs once the command is in the queue, before waiting.
/// - Returns: the command's id.
@discardableResult
func submitAndReport(
    _ command: DomainCommand, options: SubmitOptions, on connection: Connection,
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
            submitted = try await connection.submitCommand(type: command.commandType, payload: payload, idempotencyKey: key)
        } catch let error as SubmissionError {
            printError("refused: " + (error.message.hasPrefix(error.code) ? error.message : "\(error.code): \(error.message)"))
            throw ExitCode(1)
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
    try await queued(submitted)
    if options.noWait {
        if options.json { try printJSON(CommandView(submitted)) } else { print("queued command \(lower(id)) (\(submitted.commandType))") }
        return id
    }
    var record: CommandRecord?
    while true {
        do {
            record = try await connection.waitForOutcome(id, timeout: ContinuousClock.now.duration(to: deadline))
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
    if options.json {
        try printJSON(CommandView(record))
    } else {
        await printOutcome(record, on: connection)
    }
    if record.status != .accepted { throw ExitCode(1) }
    return id
}

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
        print("  \(record.errorMessage ?? "")")
    case .failed:
        print("failed after \(record.attempts) attempts (command \(lower(record.commandID)), dead letter; `sbie retry` requeues it)")
        print("  \(record.errorMessage ?? "")")
    case .accepted:
        print("accepted: \(record.commandType) (command \(lower(record.commandID)))")
        guard let events = try? await connection.history(positions: record.eventPositions) else {
            return print("  events at positions " + record.eventPositions.map(String.init).joined(separator: ", "))
        }
        if events.isEmpty { print("  nothing changed: already recorded") }
        for event in events { print("  #\(event.position)  \(event.eventType): \(event.summary)") }
        if let scheduled = Outcome.parse(record.outcome)?.scheduled, scheduled > 0 {
            print("  \(scheduled) timer(s) scheduled")
        }
        var requests: [UUID] = []
        var agreements: [String] = []
        for event in events {
            guard case .object(let data) = event.data else { continue }
            if case .string(let text)? = data["request_id"], let id = UUID(uuidString: text), !requests.contains(id) {
                requests.append(id)
            }
            if case .string(let text)? = data["agreement_id"], !agreements.contains(text) { agreements.append(text) }
        }
        for id in requests {
            guard let row = try? await connection.terminationRequestRow(id) else { continue }
            var line = "  request \(row.requestID): \(row.state), filed \(row.filedOn)"
            if let meeting = row.meetingOn { line += ", meeting \(meeting)" }
            if let decided = row.decidedOn { line += ", decided \(decided)" }
            if let received = row.noticeReceivedOn { line += ", notice received \(received)" }
            if let effective = row.effectiveOn { line += ", ends \(effective)" }
            print(line)
        }
        for text in agreements {
            guard let id = AgreementID(text), let row = try? await connection.agreementStatusRow(id) else { continue }
            print("  agreement \(row.agreementID): \(row.state)" + (row.endedOn.map { ", ended \($0)" } ?? ""))
        }
    }
}

/// The outcome JSON the daemon stores for an accepted command.
struct Outcome: Decodable {
    var scheduled: Int?
    static func parse(_ text: String?) -> Outcome? {
        text.flatMap { try? JSONDecoder().decode(Outcome.self, from: Data($0.utf8)) }
    }
}

/// A command record as printed by `--json`: snake_case keys, ISO 8601 UTC times, the
/// outcome as JSON.
struct CommandView: Encodable {
    var commandID: String
    var commandType: String
    var status: String
    var submittedBy: String
    var idempotencyKey: String
    var agencyID: String?
    var submittedAt: String
    var availableAt: String
    var attempts: Int
    var outcome: JSONValue?
    var errorCode: String?
    var errorMessage: String?
    var processedAt: String?
    var eventPositions: [Int64]

    enum CodingKeys: String, CodingKey {
        case commandID = "command_id", commandType = "command_type", status, submittedBy = "submitted_by"
        case idempotencyKey = "idempotency_key", agencyID = "agency_id", submittedAt = "submitted_at"
        case availableAt = "available_at", attempts, outcome, errorCode = "error_code", errorMessage = "error_message"
        case processedAt = "processed_at", eventPositions = "event_positions"
    }

    init(_ r: CommandRecord) {
        commandID = lower(r.commandID)
        commandType = r.commandType
        status = r.status.rawValue
        submittedBy = r.submittedBy
        idempotencyKey = r.idempotencyKey
        agencyID = r.agencyID
        submittedAt = r.submittedAt.iso8601
        availableAt = r.availableAt.iso8601
        attempts = r.attempts
        outcome = r.outcome.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        errorCode = r.errorCode
        errorMessage = r.errorMessage
        processedAt = r.processedAt?.iso8601
        eventPositions = r.eventPositions
    }
}

func lower(_ id: UUID) -> String { id.uuidString.lowercased() }

// MARK: - Tables

/// Prints rows as columns aligned with two spaces, under an upper-case header.
func printTable(_ headers: [String], _ rows: [[String]]) {
    var widths = headers.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    print(line(headers.map { $0.uppercased() }))
    for row in rows { print(line(row)) }
}
