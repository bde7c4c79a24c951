import Foundation

/// Loads the Board seat seed file (`data/board-seats-2025.json`) into seat commands.
///
/// File shape: a JSON object whose `entries` is an array, in order, of objects
/// `{"action": "fill" | "vacate", ...}` where the other keys are exactly the payload of
/// `fill_board_seat` / `vacate_board_seat` (`seat`, `member`, `effective_on`,
/// `date_uncertain`, `note`, `sources`, `replaces_entry_on`). Other top-level keys are
/// documentation and are ignored. Each entry is validated by `DomainCommand.parse`, so the
/// seed obeys the same rules as a command typed by board staff; a rejection's field is
/// prefixed with `entries[i].`.
public enum BoardSeed {
    /// The seat commands of a seed file, in file order; pure (no I/O).
    public static func commands(from data: Data) -> Result<[DomainCommand], Rejection> {
        guard let root = try? JSONValue.parse(strict: data), case .object(let top) = root else {
            return .failure(Rejection(.malformedPayload, "board seed is not a JSON object"))
        }
        guard case .array(let entries)? = top["entries"] else {
            return .failure(Rejection(.missingField, "board seed has no 'entries' array", field: "entries"))
        }
        var commands: [DomainCommand] = []
        for (index, entry) in entries.enumerated() {
            let prefix = "entries[\(index)]"
            guard case .object(var fields) = entry else {
                return .failure(Rejection(.invalidFieldType, "\(prefix) must be an object", field: prefix))
            }
            let type: String
            switch fields.removeValue(forKey: "action") {
            case .string("fill")?: type = "fill_board_seat"
            case .string("vacate")?: type = "vacate_board_seat"
            default:
                return .failure(Rejection(.invalidFieldValue, "\(prefix).action must be \"fill\" or \"vacate\"", field: "\(prefix).action"))
            }
            switch DomainCommand.parse(type: type, payload: canonicalJSON(JSONValue.object(fields))) {
            case .success(let command): commands.append(command)
            case .failure(var rejection):
                rejection.field = rejection.field.map { "\(prefix).\($0)" } ?? prefix
                rejection.message = "\(prefix): \(rejection.message)"
                return .failure(rejection)
            }
        }
        return .success(commands)
    }
}
