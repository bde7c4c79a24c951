import ArgumentParser
import Foundation
import Logging
import Workflow

// Read-only commands on a hot standby (`--read-database`, `$SBIE_READ_DATABASE_URL`).
//
// The contract (README, "Reads on a hot standby"; docs/architecture.md):
// - Unset: every command reads and writes the primary (`--database`), as before.
// - A read-only command first asks the primary for its write position
//   (`pg_current_wal_insert_lsn()`), then waits up to `--read-wait` seconds for the standby to
//   replay it, so that the read sees every write committed before the command began (the
//   `history` right after a `submit --wait` included). Then it reads the standby, and says so
//   on standard error: `note: read from standby, replayed up to …Z (lag 0.000 s; …)`, or with
//   `--json` one JSON object `{"read_from":"standby","replica":{…}}`.
// - The standby has not caught up in time: the command says so and reads the primary.
// - The standby is unreachable: the command says so and reads the primary.
// - The primary is unreachable: the command reads the standby and says that it cannot
//   tell whether the standby has every write (lag: seconds since the last replayed commit).
// - The server named is not in recovery (a primary, or a promoted standby): error, exit 2,
//   nothing read: a second primary may hold a different history.
// - Writes never go to the standby; PostgreSQL would refuse them there (SQLSTATE 25006,
//   refusal `read_only`).

extension DatabaseOptions {
    /// The standby's connection string: `--read-database`, else `$SBIE_READ_DATABASE_URL`;
    /// nil when neither is given or it is empty (reads go to the primary).
    var readConninfo: String? {
        let text = readDatabase ?? ProcessInfo.processInfo.environment["SBIE_READ_DATABASE_URL"]
        guard let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        return text
    }

    /// A connection for a read-only command: the standby when one is configured and it has
    /// replayed what the primary had written when this call began, else the primary (see
    /// the contract above). Says on standard error where the read goes and how stale it may be.
    /// - Parameter json: say it as one JSON object (the command prints `--json`).
    /// - Throws: `ExitCode(2)` when the read database is not a standby, or no database is reachable.
    func connectForReading(_ logger: Logger, json: Bool = false) async throws -> Connection {
        guard let readConninfo else { return try await connect(logger) }
        let standby: Connection
        do {
            standby = try await Connection.connect(readConninfo, logger: logger)
        } catch let error as PostgresError {
            announce(json, from: "primary", "the standby (--read-database) is unreachable (\(error.message)): reading from the primary")
            return try await connect(logger)
        }
        let alone: ReplicaStatus
        do {
            alone = try await Standby.status(on: standby)
        } catch let error as PostgresError {
            await standby.close()
            announce(json, from: "primary", "the standby (--read-database) failed (\(error.message)): reading from the primary")
            return try await connect(logger)
        }
        guard alone.inRecovery else {
            await standby.close()
            printError("--read-database names a server that is not a standby (pg_is_in_recovery() is false: a primary, or a "
                       + "promoted standby); nothing was read. Name a hot standby of --database, or unset it to read the primary.")
            throw ExitCode(2)
        }
        // The primary's write position now: a standby that replayed it holds every write
        // committed before this command began.
        let primaryLSN: String
        do {
            primaryLSN = try await primaryPosition(logger)
        } catch let error as PostgresError {
            announce(json, from: "standby", alone.summary + "; the primary's position is unknown (\(error.message)), "
                     + "so this read may miss its latest writes", alone)
            return standby
        }
        let wait = readWait.isNaN ? 0 : min(max(readWait, 0), 86_400)
        let status = try await Standby.waitForReplay(of: primaryLSN, timeout: .milliseconds(Int64(wait * 1000)), on: standby)
        guard status.caughtUp else {
            await standby.close()
            announce(json, from: "primary",
                     "the standby has not replayed the primary's \(primaryLSN) within --read-wait \(String(format: "%g", wait)) s "
                     + "(replayed up to \(status.replayLSN ?? "?"), \(status.bytesBehind.map(String.init) ?? "?") bytes behind, lag "
                     + (status.lagSeconds.map { String(format: "%.3f s", $0) } ?? "unknown")
                     + "): reading from the primary, so that no write committed before this command is missed", status)
            return try await connect(logger)
        }
        announce(json, from: "standby", status.summary, status)
        return standby
    }
}

extension DatabaseOptions {
    /// The primary's log position (`Standby.primaryPosition`), on a connection of its own, closed again.
    fileprivate func primaryPosition(_ logger: Logger) async throws -> String {
        let primary = try await Connection.connect(conninfo, logger: logger)
        do {
            let lsn = try await Standby.primaryPosition(on: primary)
            await primary.close()
            return lsn
        } catch {
            await primary.close()
            throw error
        }
    }
}

/// Says on standard error where a read goes: `note: …`, or with `json` one object
/// `{"read_from": "standby" | "primary", "note": …, "replica": ReplicaStatus?}`.
private func announce(_ json: Bool, from source: String, _ note: String, _ status: ReplicaStatus? = nil) {
    guard json else { return printNote(note) }
    struct Line: Encodable {
        var readFrom: String
        var note: String
        var replica: ReplicaStatus?
        enum CodingKeys: String, CodingKey { case readFrom = "read_from", note, replica }
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(Line(readFrom: source, note: note, replica: status)) else { return printNote(note) }
    FileHandle.standardError.write(data + Data("\n".utf8))
}
