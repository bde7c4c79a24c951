import Foundation
import Hummingbird

/// An error response, `application/problem+json` (RFC 9457).
///
/// `code` is the same stable code the CLI prints (e.g. `missing_field`, `agency_mismatch`,
/// `request_not_open`), `field` the payload field it names, when there is one.
public struct Problem: Error, Sendable, Encodable, Equatable {
    /// HTTP status.
    public var status: Int
    /// Stable machine-readable code.
    public var code: String
    /// Short, human-readable summary of the kind of problem.
    public var title: String
    /// What went wrong with this request, for people.
    public var detail: String
    /// The JSON field (dotted path, e.g. `payload.filed_on`) or query parameter at fault.
    public var field: String?
    /// For a decided command: its id.
    public var commandID: String?

    public init(_ status: Int, _ code: String, _ detail: String, field: String? = nil, title: String? = nil,
                commandID: String? = nil) {
        self.status = status
        self.code = code
        self.title = title ?? Problem.defaultTitle(status)
        self.detail = detail
        self.field = field
        self.commandID = commandID
    }

    enum CodingKeys: String, CodingKey { case type, title, status, detail, code, field, commandID = "command_id" }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("https://sbie.example/problems/\(code)", forKey: .type)
        try c.encode(title, forKey: .title)
        try c.encode(status, forKey: .status)
        try c.encode(detail, forKey: .detail)
        try c.encode(code, forKey: .code)
        try c.encodeIfPresent(field, forKey: .field)
        try c.encodeIfPresent(commandID, forKey: .commandID)
    }

    static func defaultTitle(_ status: Int) -> String {
        switch status {
        case 400: return "Bad request"
        case 401: return "Authentication required"
        case 403: return "Forbidden"
        case 404: return "Not found"
        case 405: return "Method not allowed"
        case 406: return "Not acceptable"
        case 409: return "Conflict"
        case 413: return "Content too large"
        case 415: return "Unsupported media type"
        case 422: return "Rejected"
        case 503: return "Service unavailable"
        default: return status >= 500 ? "Server error" : "Client error"
        }
    }

    /// The response: the problem as JSON with its status.
    public var response: Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if status == 401 { headers[.wwwAuthenticate] = "Bearer realm=\"sbie\"" }
        return Response(status: .init(code: status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: (try? JSONCoding.encode(self)) ?? Data())))
    }

    /// A problem for a database refusal (SQLSTATE); nil when the error is not the client's doing.
    static func from(_ error: PostgresError) -> Problem? {
        switch error.sqlState {
        case "42501": return Problem(403, "permission_denied", stripCode(error.message))
        case "CQ003": return Problem(403, "agency_mismatch", stripCode(error.message))
        case "CQ001": return Problem(413, "payload_too_large", stripCode(error.message))
        case "CQ002", "22P02", "22P05", "54001": return Problem(400, "malformed_payload", stripCode(error.message))
        case "22023": return Problem(400, "invalid_submission", stripCode(error.message))
        case "22007", "22008": return Problem(400, "invalid_date", error.message)
        default: return nil
        }
    }

    private static func stripCode(_ message: String) -> String {
        guard let colon = message.firstIndex(of: ":"), message[..<colon].allSatisfy({ $0 == "_" || $0.isLetter }) else { return message }
        return message[message.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
}

/// The API's JSON: snake_case keys as declared by each type, sorted, slashes unescaped.
enum JSONCoding {
    static func encode(_ value: some Encodable) throws -> Data {
        try CanonicalJSON.encode(value)
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) throws -> Response {
        var headers = extra
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encode(value))))
    }
}
