import ArgumentParser
import Foundation
import Workflow

// The registrar's policy commands (issue 13): load a policy file, adopt a shipped reading
// from a date. Every change is an `adopt_policy_entry` command, so an event in the log.

/// A stable idempotency key for a file's entry: the file's stem, the entry's index and a
/// hash of its payload, so reloading an unchanged file changes nothing while a corrected
/// entry is a new command (not swallowed by the first load's key).
func fileEntryKey(_ stem: String, _ index: Int, _ command: DomainCommand) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64
    for byte in Array(command.commandType.utf8) + [0] + Array(command.payloadJSON()) {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
    return "\(stem):\(index):\(String(hash, radix: 16))"
}

struct Policy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Policy entries: the dated, sourced readings the rules apply (a registrar's commands).",
        discussion: """
            Which agreements need the Board's approval, who must keep one, and when an agreement \
            ends after notice are policy entries: data with an effective date, the text they rest \
            on, and whether that text is the statute's, an MOA template's, a reported \
            interpretation or an inference. Every acceptance and rejection names the entry applied.
            """,
        subcommands: [Load.self, Set.self])

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Adopt every entry of a policy file (default: data/policy-2025.json).",
            discussion: "Each entry has a stable idempotency key, so loading the same file twice changes nothing.")

        @OptionGroup var db: DatabaseOptions
        @Argument(help: "A policy JSON file.") var file = "data/policy-2025.json"
        @Option(help: "Seconds to wait for each outcome.") var timeout: Double = 30

        func run() async throws {
            let connection = try await db.connect(db.logger("sbie.policy"))
            let commands = try readPolicyFile(file, PolicySeed.commands(from:))
            let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
            var failed = false
            for (index, command) in commands.enumerated() {
                var options = try SubmitOptions.parse(["--timeout", String(timeout)])
                options.idempotencyKey = fileEntryKey(stem, index, command)
                do { _ = try await submitAndReport(command, options: options, on: connection) } catch let exit as ExitCode {
                    if exit.rawValue == 2 { throw exit }
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Adopt one entry of a policy file (its entries or alternatives) from --effective.",
            discussion: """
                Example: `sbie policy set approval-scope.statute-text --effective 2025-10-01` applies the \
                statute's text (only sheriffs' and county jail operators' agreements need the Board's \
                approval) to acts dated from 2025-10-01. The entry is adopted under the id \
                ENTRY_ID.from-DATE when DATE is not the file's date. The date may not precede a \
                decision already recorded under that topic (legal_date_out_of_order).
                """ + "\n\n" + waitDiscussion)

        @OptionGroup var db: DatabaseOptions
        @Argument(help: "The entry id, e.g. approval-scope.statute-text.") var entryID: String
        @Option(help: "The date from which it applies (YYYY-MM-DD).") var effective: FloridaDate
        @Option(help: "The policy file holding the entry.") var file = "data/policy-2025.json"
        @Option(help: "A note recorded with the adoption (optional).") var note: String?
        @OptionGroup var submit: SubmitOptions

        func run() async throws {
            let all = try readPolicyFile(file, PolicySeed.commands(from:)) + readPolicyFile(file, PolicySeed.alternatives(from:))
            guard let found = all.compactMap({ command -> PolicyEntry? in
                if case .adoptPolicyEntry(let p) = command, p.entry.entryID == entryID { return p.entry }
                return nil
            }).first else {
                printError("\(file) has no entry '\(entryID)'")
                throw ExitCode(2)
            }
            var entry = found
            if entry.effectiveOn != effective { entry.entryID = "\(found.entryID).from-\(effective)" }
            entry.effectiveOn = effective
            if let note { entry.note = note }
            let connection = try await db.connect(db.logger("sbie.policy"))
            _ = try await submitAndReport(.adoptPolicyEntry(AdoptPolicyEntry(entry: entry)), options: submit, on: connection)
        }
    }
}

private func readPolicyFile(_ file: String, _ parse: (Data) -> Result<[DomainCommand], Rejection>) throws -> [DomainCommand] {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
        printError("cannot read \(file): \(error.localizedDescription)")
        throw ExitCode(2)
    }
    switch parse(data) {
    case .success(let list): return list
    case .failure(let rejection):
        printError("\(file): \(rejection.message)")
        throw ExitCode(2)
    }
}
