import Foundation

/// A point in the register's history, for replaying the log up to it (DESIGN.md,
/// Projections: "Point in time").
///
/// Two clocks are possible and they answer different questions:
/// - `.position(n)` is log order: the register exactly as it stood once event `n`
///   was committed ("what did the record say then?").
/// - `.occurredBefore(t)` is legal time: every event whose legal date (the date its
///   actor or source gave: filing, scheduling, meeting, receipt, signing, effective
///   date) is before `t`, applied in log order ("what was true on that day, as we now
///   know it?"). An event without a date of its own (written before its type carried
///   one: a `ReviewScheduled` without `scheduled_on`, a rename or detail update without
///   an edition date) is dated by `RegisterState.legalDate(of:)`: the latest legal date
///   already on its clock; no stored event is rewritten.
///
/// The two agree on every state a stream passes through: `decide` refuses an event
/// dated before the latest legal date on its clock (`legal_date_out_of_order`), so
/// for each agreement (with its requests) the events "as of a date" are a prefix, in
/// log order, of its events "as of a position" (issue 13; property-tested over 1,000
/// random command sequences in `LegalTests`).
public enum AsOf: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Every event at or below this global position.
    case position(Int64)
    /// Every event whose legal time is strictly before this instant.
    case occurredBefore(Timestamp)

    /// The end of a Florida day: events that occurred on `date` or earlier
    /// (before midnight Eastern at the start of the next day).
    public static func endOf(_ date: FloridaDate) -> AsOf {
        .occurredBefore(Timestamp(date.adding(days: 1).startInstant))
    }

    /// Parses a command-line value: digits are a global position, `YYYY-MM-DD` the end
    /// of that Florida day, an ISO 8601 date-time with a zone an instant. Nil otherwise.
    public init?(parsing text: String) {
        let text = text.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber), let position = Int64(text) {
            self = .position(position)
        } else if let date = FloridaDate(iso: text) {
            self = .endOf(date)
        } else if let instant = Timestamp(parsing: text) ?? AsOf.isoInstant(text) {
            self = .occurredBefore(instant)
        } else {
            return nil
        }
    }

    private static func isoInstant(_ text: String) -> Timestamp? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return Timestamp(date) }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text).map(Timestamp.init)
    }

    /// `position 42`, `the end of 2025-09-16 (Florida)` or `2025-09-16T16:00:00.000000Z`.
    public var description: String {
        switch self {
        case .position(let position):
            return "position \(position)"
        case .occurredBefore(let instant):
            let day = FloridaDate(floridaDateOf: instant.date)
            return Timestamp(day.startInstant) == instant ? "the end of \(day.adding(days: -1)) (Florida)" : instant.iso8601
        }
    }
}

/// The register folded from the log up to a point in time.
public struct RegisterSnapshot: Sendable {
    /// The point asked for.
    public var asOf: AsOf
    /// The register then.
    public var state: RegisterState
    /// The last global position read (for `.position(n)`, at most `n`).
    public var position: Int64
    /// How many events were folded into `state`.
    public var events: Int
}

/// The register, an agreement or a request as it stood at a position or an instant,
/// folded from the log (never from the projections).
public enum PointInTime {
    /// The whole register as of a position or an instant, folded from the log
    /// (never from the projections, which only know the present), from the newest usable
    /// register snapshot at or before that point (`Snapshots.fold`: the same state, cost in the
    /// events after the snapshot plus one snapshot decode).
    /// - Throws: `PostgresError`; a decoding error for an event whose data does not match its type.
    /// - Parameter view: `.publicEvents` for the public role (`web_anon`), which reads the
    ///   public log and the snapshots (0023) but not `events`; the data folded is the same.
    public static func register(asOf: AsOf, view: EventLogView = .events, on connection: isolated Connection) throws -> RegisterSnapshot {
        let folded = try Snapshots.fold(asOf: asOf, view: view, on: connection)
        return RegisterSnapshot(asOf: asOf, state: folded.state, position: folded.position, events: folded.events)
    }

    /// One agreement as of a position or an instant; nil when it was not yet registered.
    public static func agreement(
        _ id: AgreementID, asOf: AsOf, on connection: isolated Connection
    ) throws -> Agreement? {
        try register(asOf: asOf, on: connection).state.agreements[id]
    }

    /// One termination request as of a position or an instant; nil when it was not yet filed.
    public static func request(
        _ id: UUID, asOf: AsOf, on connection: isolated Connection
    ) throws -> TerminationRequest? {
        try register(asOf: asOf, on: connection).state.requests[id]
    }
}
