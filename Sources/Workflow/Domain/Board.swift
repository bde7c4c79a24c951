import Foundation

/// A seat on the State Board of Immigration Enforcement (s. 908.1031, F.S.: the
/// Governor and the three Cabinet members). JSON form: the snake_case raw value.
public enum BoardSeat: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case governor = "governor"
    case attorneyGeneral = "attorney_general"
    case chiefFinancialOfficer = "chief_financial_officer"
    case commissionerOfAgriculture = "commissioner_of_agriculture"

    /// "Governor", "Attorney General", "Chief Financial Officer", "Commissioner of Agriculture".
    public var title: String {
        switch self {
        case .governor: return "Governor"
        case .attorneyGeneral: return "Attorney General"
        case .chiefFinancialOfficer: return "Chief Financial Officer"
        case .commissionerOfAgriculture: return "Commissioner of Agriculture"
        }
    }

    public static func < (lhs: BoardSeat, rhs: BoardSeat) -> Bool {
        let order = BoardSeat.allCases
        return (order.firstIndex(of: lhs) ?? 0) < (order.firstIndex(of: rhs) ?? 0)
    }
}

/// One seat's vote at a meeting. JSON form: `yes`, `no`, `abstain`, `absent`.
public enum Ballot: String, Sendable, Hashable, Codable, CaseIterable {
    case yes, no, abstain, absent
}

/// A line of a recorded tally: the seat, the member who held it on the meeting date,
/// and how the member voted.
public struct SeatVote: Sendable, Hashable, Codable {
    public var seat: BoardSeat
    public var member: String
    public var vote: Ballot

    public init(seat: BoardSeat, member: String, vote: Ballot) {
        self.seat = seat
        self.member = member
        self.vote = vote
    }
}

/// One entry of a seat's history: from `effectiveOn` (a Florida date) the seat is held
/// by `member`, or vacant when `member` is nil, until the seat's next entry.
public struct SeatEntry: Sendable, Hashable, Codable {
    public var effectiveOn: FloridaDate
    public var member: String?
    /// True when public sources do not pin the date down (e.g. the 2025 CFO change).
    public var dateUncertain: Bool
    public var note: String?
    public var sources: [String]

    enum CodingKeys: String, CodingKey {
        case effectiveOn = "effective_on", member, dateUncertain = "date_uncertain", note, sources
    }

    public init(effectiveOn: FloridaDate, member: String?, dateUncertain: Bool = false,
                note: String? = nil, sources: [String] = []) {
        self.effectiveOn = effectiveOn
        self.member = member
        self.dateUncertain = dateUncertain
        self.note = note
        self.sources = sources
    }
}

/// The Board's composition over time: each seat's entries sorted by effective date.
/// Before a seat's first entry the seat counts as vacant.
public struct BoardComposition: Sendable, Equatable, Codable {
    public private(set) var history: [BoardSeat: [SeatEntry]] = [:]

    public init() {}

    /// The member holding `seat` on `date`, nil when vacant.
    public func member(of seat: BoardSeat, on date: FloridaDate) -> String? {
        entry(of: seat, on: date)?.member
    }

    /// The entry in force for `seat` on `date` (the latest with `effectiveOn <= date`).
    public func entry(of seat: BoardSeat, on date: FloridaDate) -> SeatEntry? {
        history[seat, default: []].last(where: { $0.effectiveOn <= date })
    }

    /// Seats filled on `date`, with their members, in seat order.
    public func filledSeats(on date: FloridaDate) -> [(seat: BoardSeat, member: String)] {
        BoardSeat.allCases.compactMap { seat in member(of: seat, on: date).map { (seat, $0) } }
    }

    /// Adds `entry`, first removing the entry effective on `replacing` (a correction)
    /// and any entry effective on the same day.
    mutating func record(_ entry: SeatEntry, seat: BoardSeat, replacing: FloridaDate?) {
        var entries = history[seat, default: []]
        entries.removeAll { $0.effectiveOn == entry.effectiveOn || $0.effectiveOn == replacing }
        entries.append(entry)
        entries.sort { $0.effectiveOn < $1.effectiveOn }
        history[seat] = entries
    }
}
