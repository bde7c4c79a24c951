import Foundation
import Hummingbird
import ServiceLifecycle

extension API {
    /// `GET /v1/events/stream`: Server-Sent Events, `id` = global position, `event` = event type,
    /// `data` = the event as `/v1/events` gives it. Catches up from `Last-Event-ID` (or `after`,
    /// default 0), then follows the log live (woken by the daemon's NOTIFY, polling every
    /// second besides). Positions are dense, so each page stops at the first position not
    /// yet committed and the next resumes right after the last one sent: never a skipped or
    /// repeated event. A comment line every `heartbeat` keeps idle connections open.
    func eventStream(_ request: Request) async throws -> Response {
        let credential = try credential(request)
        var resume = try integer(request, "after", default: 0, range: 0...Int64.max)
        if let last = header(request, "last-event-id") {
            guard let position = Int64(last.trimmingCharacters(in: .whitespaces)), position >= 0 else {
                throw Problem(400, "invalid_field_value", "Last-Event-ID must be a global position", field: "Last-Event-ID")
            }
            resume = position
        }
        let start = resume
        // Authenticate before the 200: a bad token is a 401, not a stream that ends.
        _ = try await data.run(as: credential, readOnly: true) { _, principal in principal }
        let api = self
        let heartbeat = configuration.heartbeat
        let body = ResponseBody { writer in
            api.metrics.sseSubscribers.increment()
            defer { api.metrics.sseSubscribers.decrement() }
            var position = start
            var lastWrite = ContinuousClock.now
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let generation = await api.notifier.current
                let after = position
                let page = try await api.data.run(as: credential, readOnly: true) { c, _ in
                    try api.events(c, after: after, limit: 500)
                }
                if let last = page.last {
                    var text = ""
                    for event in page {
                        text += "id: \(event.position)\nevent: \(event.type)\ndata: "
                        text += event.json.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
                            .replacingOccurrences(of: "\n", with: "\ndata: ")
                        text += "\n\n"
                    }
                    try await writer.write(ByteBuffer(string: text))
                    position = last.position
                    lastWrite = ContinuousClock.now
                    continue
                }
                if ContinuousClock.now - lastWrite >= heartbeat {
                    try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                    lastWrite = ContinuousClock.now
                }
                await api.notifier.wait(after: generation, timeout: .seconds(1))
            }
            try await writer.finish(nil)
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: body)
    }
}
