import ArgumentParser
import Foundation

/// Checks a command line before ArgumentParser reads it, for the two things ArgumentParser
/// resolves silently: an option that takes one value given more than once (it keeps the
/// last: `sbie vote … --governor yes --governor no` would record "no"), and an option whose
/// value starts with `-` (`--as-of -1`, read as a missing value). Like CQ002's refusal of a
/// repeated JSON key, a repeated option is refused rather than resolved.
///
/// The options of each subcommand come from ArgumentParser's own description of the tool
/// (`_dumpHelp`, the JSON of `--experimental-dump-help`), so every option of every
/// subcommand is covered, with its aliases (`--cfo` and `--chief-financial-officer` are one
/// option). Options declared repeatable (`[String]`, e.g. `--source`) may repeat.
enum ArgumentCheck {
    /// The problem with `arguments` (without the program name), or nil.
    /// - Returns: a sentence naming the option, for `error: …` and exit 2.
    static func problem(_ arguments: [String], tool: ToolDescription? = ToolDescription.sbie) -> String? {
        guard var command = tool?.command else { return nil }
        var rest = arguments[...]
        // Descend through subcommand names (no command above a leaf takes options before one).
        while let next = rest.first, let sub = command.subcommands?.first(where: { $0.commandName == next || ($0.aliases ?? []).contains(next) }) {
            command = sub
            rest = rest.dropFirst()
        }
        var byName: [String: Int] = [:]
        let arguments = command.arguments ?? []
        for (index, argument) in arguments.enumerated() where argument.kind != "positional" {
            for name in argument.names ?? [] { byName[name.spelled] = index }
        }
        var seen: [Int: String] = [:]
        var index = rest.startIndex
        while index < rest.endIndex {
            let token = rest[index]
            index += 1
            if token == "--" { break }
            guard token.hasPrefix("-"), token.count > 1 else { continue }
            let name = token.split(separator: "=", maxSplits: 1).first.map(String.init) ?? token
            guard let position = byName[name] else { continue }  // ArgumentParser reports unknown options
            let argument = arguments[position]
            if let earlier = seen[position], !argument.isRepeating {
                let same = earlier == name ? "" : " (\(earlier) and \(name) are one option)"
                return "option \(name) is given more than once\(same); give it once. A repeated option is refused, not resolved (as a repeated key in a JSON payload, CQ002)."
            }
            seen[position] = name
            guard argument.kind == "option", !token.contains("=") else { continue }
            if index < rest.endIndex, rest[index].hasPrefix("-"), rest[index].count > 1, rest[index] != "--" {
                let value = rest[index]
                if byName[value.split(separator: "=", maxSplits: 1).first.map(String.init) ?? value] == nil {
                    let takes = argument.abstract.map { " It takes: \($0)" } ?? ""
                    return "'\(value)' after \(name) is read as an option, so \(name) has no value.\(takes) A value that starts with '-' is written \(name)=\(value)."
                }
            }
            if index < rest.endIndex, !rest[index].hasPrefix("-") || rest[index] == "-" { index += 1 }
        }
        return nil
    }

    /// The subset of ArgumentParser's tool description (`ToolInfoV0`) this check reads.
    struct ToolDescription: Decodable {
        struct Name: Decodable {
            var kind: String
            var name: String
            var spelled: String { kind == "short" ? "-\(name)" : kind == "longWithSingleDash" ? "-\(name)" : "--\(name)" }
        }
        struct Argument: Decodable {
            var kind: String
            var isRepeating: Bool
            var names: [Name]?
            var abstract: String?
        }
        struct Command: Decodable {
            var commandName: String
            var aliases: [String]?
            var arguments: [Argument]?
            var subcommands: [Command]?
        }
        var command: Command

        /// This tool's description, read once.
        static let sbie: ToolDescription? = try? JSONDecoder().decode(ToolDescription.self, from: Data(Sbie._dumpHelp().utf8))
    }
}
