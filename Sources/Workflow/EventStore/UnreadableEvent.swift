import Foundation

/// An event in the log that this version cannot read: its type is unknown (written by a
/// newer release, or by hand through `append_events`) or its data does not decode as
/// that type.
///
/// Readers never crash on one (DESIGN.md, "Events a version cannot read"): the daemon
/// stops deciding and reports itself not ready until the event is readable; rebuild,
/// point in time and history refuse with this error's message; verification reads bytes,
/// not types, and is unaffected.
public struct UnreadableEvent: Error, Sendable, Equatable, CustomStringConvertible {
    /// The event's global position in the log (1, 2, 3 …).
    public var globalPosition: Int64
    /// Its `event_type`, as stored.
    public var type: String
    /// Why it cannot be read: `unknown event type`, or the decoder's message.
    public var reason: String

    public init(globalPosition: Int64, type: String, reason: String) {
        (self.globalPosition, self.type, self.reason) = (globalPosition, type, reason)
    }

    public var description: String {
        "the event at global position \(globalPosition) (type \(type)) cannot be read by this version: \(reason)"
    }
}

extension RecordedEvent {
    /// The event as a `DomainEvent`.
    /// - Parameter decoder: a plain `JSONDecoder` (default options); a fold reuses one for every event.
    /// - Throws: `UnreadableEvent` naming the position and type, never a trap.
    public func domainEvent(using decoder: JSONDecoder = JSONDecoder()) throws(UnreadableEvent) -> DomainEvent {
        try Self.domainEvent(at: globalPosition, type: type, data: Data(data.utf8), using: decoder)
    }

    /// The event stored at `globalPosition` with this type and data (its JSON text's UTF-8
    /// bytes), as a `DomainEvent`: what `domainEvent(using:)` does, for a reader that has the
    /// bytes but no `RecordedEvent` (a fold reads them in place).
    /// - Throws: `UnreadableEvent` naming the position and type, never a trap.
    static func domainEvent(
        at globalPosition: Int64, type: String, data: Data, using decoder: JSONDecoder
    ) throws(UnreadableEvent) -> DomainEvent {
        do {
            return try DomainEvent.decode(type: type, data: data, using: decoder)
        } catch is UnknownEventType {
            throw UnreadableEvent(globalPosition: globalPosition, type: type, reason: "unknown event type")
        } catch {
            throw UnreadableEvent(globalPosition: globalPosition, type: type, reason: "its data does not decode (\(error))")
        }
    }
}
