import Foundation

/// An `Encodable` value bound as a statement parameter of type `json` (or `jsonb`): the
/// value is encoded once, when the bind is made, and sent as its JSON text.
///
/// Use it with a cast in the SQL (`$1::json`), so the server parses the text as JSON:
/// `Statement("SELECT record_outcomes($1::json)", [try PostgresJSON(rows, encoder: …)])`.
/// The encoder is the caller's: the Postgres layer knows JSON, not the application's
/// conventions (the workflow passes `CanonicalJSON.encoder()`).
public struct PostgresJSON: PostgresEncodable, Sendable, Equatable {
    /// The JSON text sent to the server (UTF-8).
    public let text: String

    /// Encodes `value`.
    /// - Throws: what `encoder.encode(value)` throws (`EncodingError`); nothing is bound then.
    public init(_ value: some Encodable, encoder: JSONEncoder) throws {
        text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public var postgresValue: PostgresValue { .text(text) }
}
