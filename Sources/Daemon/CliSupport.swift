import ArgumentParser
import Foundation
import Workflow

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// What every command shares about meeting a user: one meaning per exit code, database
// errors said as sentences, agency names resolved with suggestions, the terminal's width,
// files written whole or not at all.

// MARK: - Exit codes

/// The exit codes, one meaning each (README "Exit codes", `sbie --help`):
/// 0 done; 1 refused (a rule, a permission or a check said no); 2 not carried out
/// (usage, an unknown name or id, the connection, the schema, a file, the timeout).
enum Exit {
    /// A rule rejected the command, the database refused the login, or a check found a fault.
    static let refused = ExitCode(1)
    /// Usage error, unknown name or id, no connection, unmigrated database, file error,
    /// no outcome within `--timeout`.
    static let notCarriedOut = ExitCode(2)
}

/// The exit codes, for help texts.
let exitCodesHelp = """
    Exit codes: 0 done; 1 refused: a rule rejected the command, the database refused the login \
    (permission), or a check (verify, rebuild --check) found a fault; 2 not carried out: a usage \
    error, an unknown name or id, no connection, a database without the schema (run `sbie migrate`), \
    a file that cannot be read or written, or no outcome within --timeout (the command stays queued).
    """

/// Thrown after the reason was printed, when a submission was refused before anything was
/// queued (exit 1); `code` is `SubmissionError.code`.
struct SubmissionRefused: Error {
    var code: String
}

// MARK: - Database errors as sentences

/// SQLSTATEs meaning "the schema is not there": undefined table, function, schema, object.
private let missingSchemaStates: Set<String> = ["42P01", "42883", "3F000", "42704"]

/// A database error the command did not handle, said for people, with its exit code:
/// 1 for a permission refusal (42501), 2 for anything else (an unmigrated database says
/// to run `sbie migrate`).
func explain(_ error: PostgresError) -> (message: String, exit: ExitCode) {
    switch error.sqlState {
    case PostgresError.State.insufficientPrivilege?:
        return ("not permitted: \(error.message). This login's role may not do that; "
                + "docs/security.md lists what each role may do.", Exit.refused)
    case let state? where missingSchemaStates.contains(state):
        return ("the database is not migrated (\(error.message)): run `sbie migrate` first "
                + "(as a superuser or the database owner). If it is migrated, this login holds no "
                + "role that may use schema sbie: ask the owner for one (docs/security.md).", Exit.notCarriedOut)
    default:
        if error.kind == .connection { return ("lost the connection to PostgreSQL: \(error.message)", Exit.notCarriedOut) }
        return (Refusal.describe(error), Exit.notCarriedOut)
    }
}

/// The connected login, as far as the CLI needs it to explain a refusal.
struct LoginContext {
    /// `session_user`.
    var name: String
    /// The agency a clerk login files for (`current_agency_id()`), nil for other logins.
    var clerkAgency: String?
    /// Whether the login may read `events` (clerks may not).
    var readsLog: Bool

    static func current(_ connection: Connection) async throws -> LoginContext {
        let row = try await connection.query(
            """
            SELECT session_user::text, pg_catalog.has_table_privilege('events', 'SELECT'),
                   CASE WHEN pg_catalog.has_function_privilege('current_agency_id()', 'EXECUTE')
                        THEN current_agency_id() END
            """, name: "login context").rows[0]
        return LoginContext(name: try row.decode(0), clerkAgency: try row.decodeIfPresent(2), readsLog: try row.decode(1))
    }
}

/// Refuses (exit 1, with a sentence) a command that reads the whole event log when the
/// login may not read it, as agency clerks may not.
func requireEventLog(_ connection: Connection, for command: String) async throws {
    let login = try await LoginContext.current(connection)
    guard !login.readsLog else { return }
    if let agency = login.clerkAgency {
        printError("\(command) reads the whole event log, and agency clerk logins (\(login.name)) read only their agency's rows: "
                   + "use `sbie status --agency \(agency)` or `sbie history --agency \(agency)`")
    } else {
        printError("\(command) reads the whole event log, which login \(login.name) may not read "
                   + "(board_staff, registrar and auditor logins may; see docs/security.md)")
    }
    throw Exit.refused
}

// MARK: - Agency names

/// Resolves an agency's name or id to the register's agency (or to one whose registration
/// is queued, when the login may see it), or exits with a sentence:
/// 2 with the closest names ("did you mean …") when there is no such agency, 1 when a
/// clerk names an agency that is not its own.
func resolveAgencyOrExit(_ text: String, on connection: Connection) async throws -> AgencyID {
    if let id = try await ReadModels.resolveAgency(text, on: connection) { return id }
    // An agreement whose registration is still queued (an import in progress) is decided
    // before anything submitted after it: its agency counts as known.
    let slug = AgencyID.slug(of: text)
    if let queued = try? await connection.query(
        "SELECT DISTINCT payload->>'agency_name' FROM commands WHERE status = 'pending' AND command_type = 'register_agreement'",
        name: "queued registrations").rows,
       let name = try queued.compactMap({ try $0.decodeIfPresent(0, as: String.self) }).first(where: { AgencyID.slug(of: $0) == slug }),
       let id = AgencyID(name: name)
    {
        return id
    }
    // Decided between the two reads above (the daemon commits the registration and the
    // register's row together): the register has it now.
    if let id = try await ReadModels.resolveAgency(text, on: connection) { return id }
    let login = try await LoginContext.current(connection)
    let known = try await connection.query(
        "SELECT DISTINCT agency_id, agency_name FROM agreement_status ORDER BY agency_id", name: "agency names"
    ).rows.map { (id: try $0.decode(0, as: String.self), name: try $0.decode(1, as: String.self)) }
    let suggestions = closestNames(to: text, among: known.map(\.name))
    let didYouMean = suggestions.isEmpty ? "" : "; did you mean " + suggestions.map { "'\($0)'" }.joined(separator: " or ") + "?"
    if let agency = login.clerkAgency {
        // A clerk reads only its own agency's rows: any other name is either a typo of its
        // own agency's or another agency, which it may not act for.
        if !suggestions.isEmpty {
            printError("no agency '\(text)' among yours\(didYouMean)")
            throw Exit.notCarriedOut
        }
        printError("'\(text)' is not your agency: login \(login.name) files and reads for \(agency) only")
        throw Exit.refused
    }
    printError("no agency '\(text)' in the register\(didYouMean)"
               + (suggestions.isEmpty ? " (give its name as ICE prints it, or its id; `sbie status` lists them)" : ""))
    throw Exit.notCarriedOut
}

/// Up to three of `names` closest to `text` (edit distance of their slugs, within about a
/// quarter of the length and at most twice the best one's plus one; or containing it as
/// whole words), closest first.
func closestNames(to text: String, among names: [String], limit: Int = 3) -> [String] {
    let wanted = AgencyID.slug(of: text)
    guard !wanted.isEmpty else { return [] }
    let threshold = max(2, wanted.count / 4)
    var scored: [(name: String, score: Int)] = []
    for name in Set(names) {
        let slug = AgencyID.slug(of: name)
        let distance = editDistance(Array(wanted.utf8), Array(slug.utf8), limit: threshold)
        if distance <= threshold {
            scored.append((name, distance))
        } else if wanted.count >= 4, ("-" + slug + "-").contains("-" + wanted + "-") {
            scored.append((name, threshold + 1))
        }
    }
    // Only the near-best: one letter off should not come with names five letters off.
    let best = scored.map(\.score).min() ?? 0
    return scored.filter { $0.score <= best * 2 + 1 }.sorted { ($0.score, $0.name) < ($1.score, $1.name) }
        .prefix(limit).map(\.name)
}

/// Levenshtein distance, or `limit + 1` as soon as it must exceed `limit`.
func editDistance(_ a: [UInt8], _ b: [UInt8], limit: Int) -> Int {
    if abs(a.count - b.count) > limit { return limit + 1 }
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        var rowMinimum = i
        for j in 1...b.count {
            current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            rowMinimum = Swift.min(rowMinimum, current[j])
        }
        if rowMinimum > limit { return limit + 1 }
        swap(&previous, &current)
    }
    return previous[b.count]
}

// MARK: - Terminal

/// The width tables must fit: the terminal's columns when standard output is one, else
/// `$COLUMNS`, else nil (a pipe or file gets whole lines).
func terminalWidth() -> Int? {
    var size = winsize()
    if isatty(STDOUT_FILENO) == 1, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
        return Int(size.ws_col)
    }
    if let text = ProcessInfo.processInfo.environment["COLUMNS"], let columns = Int(text), columns > 0 { return columns }
    return nil
}

// MARK: - Files

/// Writes a file whole or not at all: `body` writes to a temporary file next to `path`,
/// which is renamed over `path` only when `body` returns; on any error it is removed and
/// `path` is left as it was.
/// - Throws: `Exit.notCarriedOut` (after printing why) when the file cannot be created
///   or renamed; what `body` throws.
func writeAtomically<T>(_ path: String, _ body: (FileHandle) async throws -> T) async throws -> T {
    let target = URL(fileURLWithPath: path)
    let temporary = target.deletingLastPathComponent()
        .appendingPathComponent(".\(target.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
    guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
          let handle = FileHandle(forWritingAtPath: temporary.path)
    else {
        printError("cannot write \(path): cannot create a file in \(target.deletingLastPathComponent().path)")
        throw Exit.notCarriedOut
    }
    do {
        let value = try await body(handle)
        try handle.close()
        guard rename(temporary.path, target.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            printError("cannot write \(path): \(reason)")
            throw Exit.notCarriedOut
        }
        return value
    } catch {
        try? handle.close()
        try? FileManager.default.removeItem(at: temporary)
        throw error
    }
}

/// A data file named on the command line: as given when it exists (relative to the
/// current directory), else relative to the checkout the executable was built in (as
/// `migrate` finds `Sql/`), so `data/board-seats-2025.json` works from anywhere.
func locateDataFile(_ path: String) -> String {
    guard !path.hasPrefix("/"), !FileManager.default.fileExists(atPath: path) else { return path }
    var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<6 {
        let candidate = directory.appendingPathComponent(path)
        if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
        directory = directory.deletingLastPathComponent()
    }
    return path
}

/// A progress callback that redraws one line on standard error, or nil when
/// standard error is not a terminal (`isatty(2)`), so logs and pipes stay clean.
/// (The CLI owns the terminal; the library only reports rows done.)
func terminalProgress() -> (@Sendable (_ done: Int, _ total: Int) -> Void)? {
    guard isatty(2) == 1 else { return nil }
    return { done, total in
        let end = done == total ? "\n" : ""
        FileHandle.standardError.write(Data("\rsubmitting: \(done)/\(total) rows\(end)".utf8))
    }
}
