import Foundation

/// A Florida calendar date (year, month, day): a filing date, a meeting date, the
/// date ICE received a notice, an agreement's effective date.
///
/// It is a *date*, not an instant: arithmetic is in whole calendar days on the
/// proleptic Gregorian calendar and never depends on time zones or daylight saving.
/// JSON form: the string `"YYYY-MM-DD"`.
///
/// Florida spans two time zones (the western panhandle keeps Central time). This
/// service uses Eastern time (`America/New_York`), the time of Tallahassee, the seat
/// of government, whenever a date must be turned into an instant or back.
public struct FloridaDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Year, 1...9999.
    public let year: Int
    /// Month, 1...12.
    public let month: Int
    /// Day of month, 1...28/29/30/31.
    public let day: Int

    /// A valid calendar date, or nil (e.g. 2025-02-30, month 13, year 0).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= FloridaDate.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Strict ISO 8601 calendar date `YYYY-MM-DD` (exactly 10 ASCII characters,
    /// zero-padded). Rejects `2025-2-3`, `2025-02-30`, `2025-02-03T00:00`, ` 2025-02-03`.
    public init?(iso: String) {
        let bytes = Array(iso.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// The date `days` calendar days later (negative: earlier). Pure integer arithmetic.
    /// Example: 2025-11-03 adding 90 days is 2026-02-01.
    public func adding(days: Int) -> FloridaDate {
        FloridaDate(dayNumber: dayNumber + days)
    }

    /// Whole calendar days from `other` to `self` (positive when `self` is later).
    public func days(since other: FloridaDate) -> Int {
        dayNumber - other.dayNumber
    }

    public static func < (lhs: FloridaDate, rhs: FloridaDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// The UTC instant at which this day starts in Florida: midnight `America/New_York`
    /// (Eastern; see the type's note on the panhandle). Falls back to UTC-5 if the
    /// system has no time zone data.
    public var startInstant: Date {
        var components = DateComponents()
        components.year = year
        components.month = month
        components.day = day
        components.hour = 0
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = FloridaDate.easternTimeZone
        if let date = calendar.date(from: components) { return date }
        // Unreachable for valid dates; keep a total function without force unwraps.
        return Date(timeIntervalSince1970: Double(dayNumber) * 86_400 + 5 * 3_600)
    }

    /// The Florida (Eastern) calendar date of a UTC instant.
    public init(floridaDateOf instant: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = FloridaDate.easternTimeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: instant)
        if let y = parts.year, let m = parts.month, let d = parts.day,
           let date = FloridaDate(year: y, month: m, day: d) {
            self = date
        } else {
            let days = Int((instant.timeIntervalSince1970 - 5 * 3_600) / 86_400)
            self = FloridaDate(dayNumber: days)
        }
    }

    /// `America/New_York`, or a fixed UTC-5 if the system lacks time zone data.
    public static let easternTimeZone: TimeZone =
        TimeZone(identifier: "America/New_York") ?? TimeZone(secondsFromGMT: -5 * 3_600) ?? TimeZone.current

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = FloridaDate(iso: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a YYYY-MM-DD date: \(text)")
        }
        self = date
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // MARK: day numbers (days since 1970-01-01, `CivilCalendar`)

    private static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01.
    private var dayNumber: Int {
        Int(CivilCalendar.days(year: Int64(year), month: Int64(month), day: Int64(day)))
    }

    private init(dayNumber: Int) {
        let date = CivilCalendar.date(days: Int64(dayNumber))
        self.year = Int(date.year)
        self.month = Int(date.month)
        self.day = Int(date.day)
    }
}
