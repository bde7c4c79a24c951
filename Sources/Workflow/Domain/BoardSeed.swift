import Foundation

/// Loads the Board seat seed file (`data/board-seats-2025.json`) into seat commands.
///
/// File shape: a JSON object whose `entries` is an array, in order, of objects
/// `{"action": "fill" | "vacate", ...}` where the other keys are exactly the payload of
/// `fill_board_seat` / `vacate_board_seat` (`seat`, `member`, `effective_on`,
/// `date_uncertain`, `note`, `sources`, `replaces_entry_on`), plus an optional
/// `corrects_entry_on` (see `plan(from:against:)`). Other top-level keys are
/// documentation and are ignored. Each entry is validated by `DomainCommand.parse`, so the
/// seed obeys the same rules as a command typed by board staff; a rejection's field is
/// prefixed with `entries[i].`.
public enum BoardSeed {
    /// The seat commands of a seed file, in file order; pure (no I/O). An entry's
    /// `corrects_entry_on` (not a payload field) is left out: see `plan(from:against:)`.
    public static func commands(from data: Data) -> Result<[DomainCommand], Rejection> {
        entries(from: data).map { $0.map(\.command) }
    }

    /// Each entry's command and its `corrects_entry_on`: the effective date of an entry,
    /// published in an earlier version of the file, that this entry corrects.
    static func entries(from data: Data) -> Result<[(command: DomainCommand, corrects: FloridaDate?)], Rejection> {
        guard let root = try? JSONValue.parse(strict: data), case .object(let top) = root else {
            return .failure(Rejection(.malformedPayload, "board seed is not a JSON object"))
        }
        guard case .array(let entries)? = top["entries"] else {
            return .failure(Rejection(.missingField, "board seed has no 'entries' array", field: "entries"))
        }
        var commands: [(command: DomainCommand, corrects: FloridaDate?)] = []
        for (index, entry) in entries.enumerated() {
            let prefix = "entries[\(index)]"
            guard case .object(var fields) = entry else {
                return .failure(Rejection(.invalidFieldType, "\(prefix) must be an object", field: prefix))
            }
            let type: String
            switch fields.removeValue(forKey: "action") {
            case .string("fill")?: type = CommandType.fillBoardSeat.rawValue
            case .string("vacate")?: type = CommandType.vacateBoardSeat.rawValue
            default:
                return .failure(Rejection(.invalidFieldValue, "\(prefix).action must be \"fill\" or \"vacate\"", field: "\(prefix).action"))
            }
            var corrects: FloridaDate?
            switch fields.removeValue(forKey: "corrects_entry_on") {
            case nil, .null?: corrects = nil
            case .string(let text)? where FloridaDate(iso: text) != nil: corrects = FloridaDate(iso: text)
            default:
                return .failure(Rejection(.invalidDate, "\(prefix).corrects_entry_on must be a date YYYY-MM-DD", field: "\(prefix).corrects_entry_on"))
            }
            switch DomainCommand.parse(type: type, payload: canonicalJSON(JSONValue.object(fields))) {
            case .success(let command): commands.append((command, corrects))
            case .failure(var rejection):
                rejection.field = rejection.field.map { "\(prefix).\($0)" } ?? prefix
                rejection.message = "\(prefix): \(rejection.message)"
                return .failure(rejection)
            }
        }
        return .success(commands)
    }

    /// `plan(_:against:)` of a file's entries, each entry's `corrects_entry_on` standing in
    /// for `replaces_entry_on` when the entry gives none.
    public static func plan(from data: Data, against board: BoardComposition) -> Result<[DomainCommand], Rejection> {
        entries(from: data).map { list in
            plan(list.map { item in
                switch item.command {
                case .fillBoardSeat(var p) where p.replacesEntryOn == nil:
                    p.replacesEntryOn = item.corrects
                    return .fillBoardSeat(p)
                case .vacateBoardSeat(var p) where p.replacesEntryOn == nil:
                    p.replacesEntryOn = item.corrects
                    return .vacateBoardSeat(p)
                default:
                    return item.command
                }
            }, against: board)
        }
    }

    /// The seat commands to send so the register holds the file's entries, given the
    /// Board's composition already recorded (pure). Loading a corrected file on a register
    /// loaded with an older version records the differences as corrections; the log keeps both:
    /// - an entry the register already holds, identically, is sent without
    ///   `replaces_entry_on` (an accepted no-op);
    /// - an entry whose `replaces_entry_on` names an entry the register holds is sent as
    ///   that correction; when the register holds no such entry, `replaces_entry_on` is dropped
    ///   (nothing to correct: a fresh register);
    /// - an entry for a seat and date the register holds in another version is sent with
    ///   `replaces_entry_on` = its own date (a correction in place).
    public static func plan(_ commands: [DomainCommand], against board: BoardComposition) -> [DomainCommand] {
        commands.map { command in
            switch command {
            case .fillBoardSeat(var p):
                p.replacesEntryOn = replaces(p.seat, SeatEntry(effectiveOn: p.effectiveOn, member: p.member, dateUncertain: p.dateUncertain,
                                                               note: p.note, sources: p.sources), p.replacesEntryOn, board)
                return .fillBoardSeat(p)
            case .vacateBoardSeat(var p):
                p.replacesEntryOn = replaces(p.seat, SeatEntry(effectiveOn: p.effectiveOn, member: nil, dateUncertain: p.dateUncertain,
                                                               note: p.note, sources: p.sources), p.replacesEntryOn, board)
                return .vacateBoardSeat(p)
            default:
                return command
            }
        }
    }

    private static func replaces(_ seat: BoardSeat, _ entry: SeatEntry, _ stated: FloridaDate?, _ board: BoardComposition) -> FloridaDate? {
        let history = board.history[seat, default: []]
        if history.contains(entry) { return nil }
        if let stated, history.contains(where: { $0.effectiveOn == stated }) { return stated }
        if history.contains(where: { $0.effectiveOn == entry.effectiveOn }) { return entry.effectiveOn }
        return nil
    }
}
