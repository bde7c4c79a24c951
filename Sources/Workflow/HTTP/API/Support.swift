import Foundation
import Hummingbird
import Prometheus

/// Strict reading of small JSON request bodies (the login form): an object of known keys.
enum StrictJSON {
    /// A JSON object with keys from `allowed` only; a key given twice is refused naming it
    /// (as `DomainCommand.parse` and CQ002 refuse it in a command's payload), never resolved.
    /// - Returns: the object's fields (read once, by the strict parser).
    /// - Throws: `Problem` 400 `malformed_payload` (not an object, a repeated key) or `unknown_field`.
    static func object(_ data: Data, allowed: Set<String>) throws -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(strict: data)
        } catch {
            if let key = error.repeatedKey {
                throw Problem(400, "malformed_payload", "the body repeats the key '\(key.prefix(100))'", field: String(key.prefix(100)))
            }
            throw Problem(400, "malformed_payload", "the body must be a JSON object")
        }
        guard case .object(let object) = value else {
            throw Problem(400, "malformed_payload", "the body must be a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw Problem(400, "unknown_field", "unknown field '\(unknown.prefix(100))'", field: String(unknown.prefix(100)))
        }
        return object
    }

    /// Field `key` of `object`: a string of 1...`max` characters without NUL.
    /// - Throws: `Problem` 400 `missing_field`, `invalid_field_type` or `invalid_field_value`, naming `key`.
    static func string(_ object: [String: JSONValue], _ key: String, max: Int) throws -> String {
        guard let value = object[key] else { throw Problem(400, "missing_field", "\(key) is required", field: key) }
        guard case .string(let text) = value else { throw Problem(400, "invalid_field_type", "\(key) must be a string", field: key) }
        guard !text.isEmpty, text.count <= max, !text.contains("\u{0}") else {
            throw Problem(400, "invalid_field_value", "\(key) must be 1-\(max) characters without NUL", field: key)
        }
        return text
    }
}

/// Bearer tokens: `sbie_` and 43 base64url characters (32 random bytes from the system's CSPRNG).
public enum Tokens {
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return "sbie_" + base64
    }
}

/// Turns the router's own errors (unknown path, wrong method) into problem+json.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let code = error.status.code == 404 ? "not_found" : error.status.code == 405 ? "method_not_allowed" : "http_error"
            return Problem(error.status.code, code, error.body ?? "\(request.method) \(request.uri.path) is not a route of this API").response
        } catch let problem as Problem {
            return problem.response
        }
    }
}

/// Answers a browser's request for an unknown page (`Accept: text/html`, not an API path)
/// with the site's HTML 404 page instead of the API's problem+json (`Pages.wantsPage`).
struct PageNotFoundMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let pages: Pages
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound
            && Pages.wantsPage(path: request.uri.path, accept: request.headers[.accept])
        {
            return await pages.notFoundPage(request)
        }
    }
}

/// The server's Prometheus metrics (refreshed from the database at each scrape).
public final class FrontDoorMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let sseSubscribers: Gauge
    let eventsAppended: Gauge
    let timelineLag: Gauge
    let oldestDue: Gauge

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        sseSubscribers = registry.makeGauge(name: "sbie_sse_subscribers", help: "Open /v1/events/stream connections")
        eventsAppended = registry.makeGauge(name: "sbie_events_appended", help: "Events in the log (the head's global position)")
        timelineLag = registry.makeGauge(name: "sbie_projection_lag_events", labels: [("projection", "agency_timeline")],
                                         help: "Events the catch-up projection has not applied yet")
        oldestDue = registry.makeGauge(name: "sbie_queue_oldest_due_seconds", help: "Age of the oldest due pending command")
    }

    func submitted(type: String) {
        registry.makeCounter(name: "sbie_http_commands_submitted_total", labels: [("command_type", type)],
                             help: "Commands submitted over HTTP").increment()
    }

    func update(status: FrontDoorStatus, counts: [(status: String, code: String, count: Int64)]) {
        eventsAppended.set(Double(status.headPosition))
        timelineLag.set(Double(status.timelineLag))
        oldestDue.set(status.oldestDueSeconds ?? 0)
        var depth: [String: Int64] = ["pending": 0, "accepted": 0, "rejected": 0, "failed": 0]
        for row in counts {
            depth[row.status, default: 0] += row.count
            if row.status != "pending" {
                registry.makeGauge(name: "sbie_commands", labels: [("outcome", row.status), ("code", row.code)],
                                   help: "Decided commands by outcome and rejection code").set(Double(row.count))
            }
        }
        for (state, count) in depth {
            registry.makeGauge(name: "sbie_queue_depth", labels: [("status", state)], help: "Commands in the queue by status")
                .set(Double(count))
        }
    }

    /// The daemon's batch durations, when it runs in the same process (`sbie serve --with-daemon`).
    public func recordBatch(_ duration: Duration) {
        registry.makeDurationHistogram(
            name: "sbie_daemon_batch_duration_seconds",
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100),
                      .milliseconds(500), .seconds(1), .seconds(5)],
            help: "Time to decide and commit one batch").record(duration)
    }
}
