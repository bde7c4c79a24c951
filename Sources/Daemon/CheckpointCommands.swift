import ArgumentParser
import Foundation
import Workflow

// Signed checkpoints of the event log (issue 19): keygen, sign, verify, list, show,
// public-key. The format is specified in docs/export-format.md.

struct CheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Signed checkpoints of the event log: Ed25519 signatures over its head (position and hash).",
        discussion: """
            A checkpoint, published, lets anyone show later that a log (live or exported) is the \
            one that was checkpointed, even after a superuser rewrote the past and recomputed every \
            hash. The private key stays in a file readable only by its owner, never in the database. \
            Who signs: the daemon (sbie run --checkpoint-key FILE: daily and after each Board \
            decision) or a registrar login (sbie checkpoint sign); everyone reads checkpoints.
            """,
        subcommands: [CheckpointKeygen.self, CheckpointSign.self, CheckpointVerify.self, CheckpointList.self,
                      CheckpointShow.self, CheckpointPublicKey.self])
}

/// Loads a private key file, or exits 2 with the reason.
func loadCheckpointKey(_ path: String) throws -> CheckpointKey {
    do {
        return try CheckpointKey.load(path: path)
    } catch {
        printError("\(error)")
        throw ExitCode(2)
    }
}

struct CheckpointKeygen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Generate an Ed25519 checkpoint key: FILE (mode 0600) and FILE.pub; prints the public key.",
        discussion: "Never overwrites a file. Publish FILE.pub (or the printed key); keep FILE secret.")

    @Option(help: "Where to write the private key.") var out: String

    func run() async throws {
        do {
            let key = try CheckpointKey.generate(path: out)
            print("private key: \(out) (mode 0600; keep it secret)")
            print("public key:  \(out).pub")
            print("key id:      \(key.keyID)")
            print(key.publicKeyBase64)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
    }
}

struct CheckpointPublicKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "public-key", abstract: "Print a private key file's public key (base64) and key id.")

    @Option(help: "The private key file.") var key: String

    func run() async throws {
        let key = try loadCheckpointKey(key)
        print(key.publicKeyBase64)
        print("key id: \(key.keyID)")
    }
}

struct CheckpointSign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign the log's head with a checkpoint key and record it; print the checkpoint document.",
        discussion: """
            Reads the head and the database's clock, signs, and records the checkpoint through \
            record_checkpoint (refused unless this login is the daemon's or a registrar's). Prints \
            the published JSON document (or writes it to --out).
            """)

    @OptionGroup var db: DatabaseOptions
    @Option(help: "The private key file (mode 0600 or 0400).") var key: String
    @Option(help: "Also write the checkpoint document to this file.") var out: String?

    func run() async throws {
        let key = try loadCheckpointKey(key)
        let connection = try await db.connect(db.logger("sbie.checkpoint"))
        let stored: StoredCheckpoint
        do {
            stored = try await Checkpoints.sign(with: key, reason: .manual, on: connection)
        } catch let error as CheckpointError {
            printError("\(error)")
            throw ExitCode(1)
        } catch let error as CheckpointRecordError {
            printError("\(error)")
            throw ExitCode(1)
        } catch let error as PostgresError where error.sqlState == PostgresError.State.insufficientPrivilege {
            printError("this login may not record checkpoints (\(error.message)); use the daemon's or a registrar's login")
            throw ExitCode(2)
        }
        try printDocument(stored, to: out)
    }
}

struct CheckpointVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check checkpoints' signatures and that a log holds their heads: an export (--file) or the live log.",
        discussion: """
            For each checkpoint document: the signature verifies with the trusted public key; \
            the log's chain verifies up to the checkpoint's position (dense positions, stream \
            versions 1..n, every hash recomputed); and the log has the checkpoint's hash at that \
            position. Given several checkpoints, passing them all proves the log extends each. \
            Exit code 1 on any failure, naming the position.
            """)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "Checkpoint documents (files, as sbie checkpoint sign/show print them).") var checkpoints: [String]
    @Option(help: "The trusted public key: the .pub file or the base64 key the log's operator published.")
    var publicKey: String
    @Option(help: "An events export (sbie export events --format jsonl) to check, instead of the live log.")
    var file: String?
    @Flag(help: "Print the result as JSON.") var json = false

    struct Outcome: Encodable {
        var checkpoint: String
        var position: Int64
        var hash: String
        var ok: Bool
        var code: String?
        var message: String
    }

    func validate() throws {
        guard !checkpoints.isEmpty else { throw ValidationError("give at least one checkpoint document") }
    }

    func run() async throws {
        let trusted: [UInt8]
        var parsed: [(String, Checkpoint)] = []
        do {
            trusted = try CheckpointKey.publicKey(fromFileOrBase64: publicKey)
            for path in checkpoints {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CheckpointError.malformed("cannot read \(path)")
                }
                parsed.append((path, try Checkpoint.parse(data)))
            }
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let check: (Checkpoint) async throws -> Void
        var logHead: String
        if let file {
            let export: ExportVerification
            do {
                export = try ExportVerifier.verify(fileAt: URL(fileURLWithPath: file),
                                                   watch: Set(parsed.map { $0.1.head.position }))
            } catch {
                printError("cannot read \(file): \(error.localizedDescription)")
                throw ExitCode(2)
            }
            logHead = export.failure.map { "export \(file): FAILED at position \($0.position) (\($0.code.rawValue))" }
                ?? "export \(file): \(export.eventsChecked) events, head position \(export.head.position) hash \(export.head.hashHex)"
            check = { try checkCheckpoint($0, against: export) }
        } else {
            let connection = try await db.connect(db.logger("sbie.checkpoint"))
            let report = try await ChainVerifier.verify(on: connection)
            logHead = "live log: \(report.eventsChecked) events, " + (report.isIntact ? "intact" : "FAILED verification")
            check = { try await Checkpoints.checkAgainstLog($0, report: report, on: connection) }
        }
        var outcomes: [Outcome] = []
        for (path, checkpoint) in parsed {
            var outcome = Outcome(checkpoint: path, position: checkpoint.head.position, hash: checkpoint.head.hashHex,
                                  ok: true, code: nil, message: "")
            do {
                try checkpoint.verifySignature(trusting: trusted)
                try await check(checkpoint)
                outcome.message = "OK: signed by key \(checkpoint.keyID) at \(checkpoint.signedAt.iso8601); "
                    + "the log holds hash \(checkpoint.head.hashHex) at position \(checkpoint.head.position)"
            } catch let error as CheckpointError {
                outcome.ok = false
                outcome.code = error.code
                outcome.message = "FAILED: \(error)"
            }
            outcomes.append(outcome)
        }
        if json {
            try printJSON(outcomes)
        } else {
            print(logHead)
            for outcome in outcomes { print("\(outcome.checkpoint): \(outcome.message)") }
            if outcomes.count > 1, outcomes.allSatisfy(\.ok) {
                let positions = outcomes.map(\.position).sorted().map(String.init).joined(separator: ", ")
                print("the log extends every checkpoint (positions \(positions))")
            }
        }
        if !outcomes.allSatisfy(\.ok) { throw ExitCode(1) }
    }
}

struct CheckpointList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Recorded checkpoints, newest first.")

    @OptionGroup var db: DatabaseOptions
    @Option(help: "At most this many.") var limit = 50
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let connection = try await db.connectForReading(db.logger("sbie.checkpoint"), json: json)
        let rows = try await Checkpoints.list(limit: max(limit, 1), on: connection)
        if json { return try printJSON(rows) }
        guard !rows.isEmpty else { return print("no checkpoint recorded") }
        printTable(["id", "position", "hash", "signed at", "key id", "reason", "by"], rows.map {
            [String($0.id), String($0.checkpoint.head.position), $0.checkpoint.head.hashHex, $0.checkpoint.signedAt.iso8601,
             $0.checkpoint.keyID, $0.reason.rawValue, $0.recordedBy]
        })
    }
}

struct CheckpointShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print a recorded checkpoint's document (the latest by default), ready to publish.")

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "A checkpoint id (see list), or latest.") var id: String = "latest"
    @Option(help: "Also write the document to this file.") var out: String?

    func run() async throws {
        let connection = try await db.connect(db.logger("sbie.checkpoint"))
        let stored: StoredCheckpoint?
        if id == "latest" {
            stored = try await Checkpoints.list(limit: 1, on: connection).first
        } else if let number = Int64(id) {
            stored = try await Checkpoints.checkpoint(id: number, on: connection)
        } else {
            printError("checkpoint id must be a number or latest, not '\(id)'")
            throw ExitCode(2)
        }
        guard let stored else {
            // Not found is "not carried out" (exit 2), as for an unknown request or agency.
            printError(id == "latest" ? "no checkpoint recorded" : "no checkpoint \(id) (see `sbie checkpoint list`)")
            throw Exit.notCarriedOut
        }
        try printDocument(stored, to: out)
    }
}

/// Prints a checkpoint's document and, with `--out`, writes it (one line) to that file.
private func printDocument(_ stored: StoredCheckpoint, to out: String?) throws {
    let document = stored.checkpoint.document
    if let out {
        guard FileManager.default.createFile(atPath: out, contents: Data((document + "\n").utf8)) else {
            printError("cannot write \(out)")
            throw ExitCode(2)
        }
    }
    print(document)
}
