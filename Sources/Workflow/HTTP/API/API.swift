import Foundation
import Hummingbird
import Logging

/// The `/v1` JSON API, health and metrics routes (hand-written Hummingbird routing; the
/// contract is `OpenAPIDocument.json`, checked against the running server by schemathesis).
struct API: Sendable {
    let data: DataLayer
    let notifier: OutcomeNotifier
    let metrics: FrontDoorMetrics
    let configuration: FrontDoorConfiguration
    let logger: Logger

    /// Largest request body accepted, in bytes (documented in the OpenAPI document): the
    /// 64 KiB command payload limit plus room for JSON escapes.
    static let maxBodyBytes = 80 * 1024

    func register(on router: Router<BasicRequestContext>) {
        router.get("/health/live") { _, _ in try JSONCoding.response(["status": "live"]) }
        router.get("/health/ready") { _, _ in await handle { try await ready() } }
        router.get("/metrics") { _, _ in await handle { try await metricsText() } }
        router.get("/v1/openapi.json") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.get("/v1/ping") { _, _ in try JSONCoding.response(["status": "ok"]) }
        router.post("/v1/session") { request, _ in await handle { try await login(request) } }
        router.delete("/v1/session") { request, _ in await handle { try await logout(request) } }
        router.get("/v1/me") { request, _ in
            await handle {
                let principal = try await data.run(as: try credential(request), readOnly: true) { _, p in p }
                return try JSONCoding.response(principal)
            }
        }
        router.post("/v1/actions/{command_type}") { request, context in
            await handle { try await submit(request, type: context.parameters.get("command_type") ?? "") }
        }
        router.get("/v1/commands") { request, _ in await handle { try await listCommands(request) } }
        router.get("/v1/commands/{id}") { request, context in
            await handle { try await command(request, id: context.parameters.get("id") ?? "") }
        }
        router.get("/v1/register") { request, _ in await handle { try await registerRows(request) } }
        router.get("/v1/agreements/{id}") { request, context in
            await handle { try await agreement(request, id: context.parameters.get("id") ?? "") }
        }
        router.get("/v1/requests") { request, _ in await handle { try await requests(request) } }
        router.get("/v1/requests/{id}") { request, context in
            await handle { try await terminationRequest(request, id: context.parameters.get("id") ?? "") }
        }
        router.get("/v1/requests/{id}/history") { request, context in
            await handle {
                let id = try uuid(context.parameters.get("id") ?? "", field: "id")
                let entries = try await data.run(as: try credential(request), readOnly: true) { c, p in try EventHistory.entries(request: id, view: logView(p), on: c) }
                guard !entries.isEmpty else { throw Problem(404, "request_not_found", "no request \(id.uuidString.lowercased()) visible to this caller") }
                return try JSONCoding.response(["events": entries])
            }
        }
        router.get("/v1/agencies/{agency}/history") { request, context in
            await handle {
                let text = context.parameters.get("agency") ?? ""
                let entries = try await data.run(as: try credential(request), readOnly: true) { c, p -> [HistoryEntry]? in
                    guard let agency = try ReadModels.resolveAgency(text, on: c) else { return nil }
                    return try EventHistory.entries(agency: agency, view: logView(p), on: c)
                }
                guard let entries else { throw Problem(404, "agency_not_found", "no agency '\(text.prefix(200))' visible to this caller", field: "agency") }
                return try JSONCoding.response(["events": entries])
            }
        }
        router.get("/v1/docket") { request, _ in
            await handle {
                let rows = try await data.run(as: try credential(request), readOnly: true) { c, _ in try ReadModels.docketRows(on: c) }
                return try JSONCoding.response(["docket": rows])
            }
        }
        router.get("/v1/seats") { request, _ in await handle { try await seats(request) } }
        router.get("/v1/verify") { request, _ in
            await handle {
                let report = try await data.run(as: try credential(request), readOnly: true) { c, p in
                    (try ChainVerifier.verify(view: logView(p), on: c), logView(p))
                }
                return try JSONCoding.response(VerifyResource(report.0, view: report.1))
            }
        }
        router.get("/v1/events") { request, _ in await handle { try await eventsPage(request) } }
        router.get("/v1/events/stream") { request, _ in await handle { try await eventStream(request) } }
        router.get("/v1/exports/{source}") { request, context in
            await handle { try await export(request, source: context.parameters.get("source") ?? "") }
        }
    }

    // MARK: Error mapping

    /// Runs a handler; every error becomes a problem+json response. Input never yields a 500:
    /// only the server's own failures do (logged with their cause).
    func handle(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let problem as Problem {
            return problem.response
        } catch AccessError.invalidToken {
            return Problem(401, "invalid_token", "the token is unknown, revoked or expired").response
        } catch AccessError.unavailable(let message) {
            return Problem(503, "database_unavailable", "the database is unavailable: \(message)").response
        } catch let error as SubmissionError where error.code == SubmissionError.keyReusedCode {
            // The key names an earlier, different command: 409, naming it (nothing was queued).
            return Problem(409, error.code, error.message, field: "Idempotency-Key",
                           commandID: error.commandID.map { $0.uuidString.lowercased() }).response
        } catch let error as SubmissionError {
            return Problem.from(PostgresError(kind: .statement, sqlState: Self.sqlState(error.code), message: error.message))?.response
                ?? Problem(400, error.code, error.message).response
        } catch let error as PostgresError {
            if let problem = Problem.from(error) { return problem.response }
            if error.kind == .connection {
                return Problem(503, "database_unavailable", "the database is unavailable").response
            }
            logger.error("request failed", metadata: ["error": "\(error)"])
            return Problem(500, "internal_error", "the server failed; the error is logged").response
        } catch {
            logger.error("request failed", metadata: ["error": "\(error)"])
            return Problem(500, "internal_error", "the server failed; the error is logged").response
        }
    }

    private static func sqlState(_ code: String) -> String? {
        switch code {
        case "permission_denied": return "42501"
        case "agency_mismatch": return "CQ003"
        case "payload_too_large": return "CQ001"
        case "malformed_payload": return "CQ002"
        case "invalid_submission": return "22023"
        default: return nil
        }
    }

    // MARK: Credentials

    /// `Authorization: Bearer TOKEN`, else the `sbie_session` cookie, else anonymous.
    func credential(_ request: Request) throws -> Credential {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
                throw Problem(401, "invalid_credentials", "the Authorization header must be 'Bearer <token>'", field: "Authorization")
            }
            return .token(String(parts[1]).trimmingCharacters(in: .whitespaces))
        }
        if let cookies = request.headers[.cookie] {
            for pair in cookies.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == "sbie_session" {
                    return .token(String(kv[1]).trimmingCharacters(in: .whitespaces))
                }
            }
        }
        return .anonymous
    }

    func requireLogin(_ request: Request) throws -> Credential {
        let credential = try credential(request)
        guard credential != .anonymous else {
            throw Problem(401, "authentication_required", "this resource needs a token (Authorization: Bearer) or a session")
        }
        return credential
    }

    // MARK: Bodies and parameters

    /// The body as a JSON object of known keys; 415, 413 and 400 problems otherwise.
    func jsonBody(_ request: Request) async throws -> Data {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            throw Problem(415, "unsupported_media_type", "send the body as application/json", field: "Content-Type")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maxBodyBytes)
        } catch {
            throw Problem(413, "payload_too_large", "the body exceeds \(Self.maxBodyBytes) bytes")
        }
        return Data(buffer: buffer)
    }

    /// A header by its lower-case name.
    func header(_ request: Request, _ name: String) -> String? {
        request.headers.first { $0.name.canonicalName == name }?.value
    }

    /// A query parameter's value; one given twice is refused (400 naming it), never resolved
    /// to one of its values (as a repeated form field, option or JSON key).
    func query(_ request: Request, _ name: String) throws -> String? {
        let values = request.uri.queryParameters[values: Substring(name)]
        guard values.count <= 1 else {
            throw Problem(400, "invalid_field_value", "the query parameter \(name) is given \(values.count) times; give it once", field: name)
        }
        return values.first.map { String($0) }
    }

    func integer(_ request: Request, _ name: String, default value: Int64, range: ClosedRange<Int64>) throws -> Int64 {
        guard let text = try query(request, name) else { return value }
        guard let number = Int64(text), range.contains(number) else {
            throw Problem(400, "invalid_field_value", "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)", field: name)
        }
        return number
    }

    func asOf(_ request: Request) throws -> AsOf? {
        guard let text = try query(request, "as_of") else { return nil }
        guard let asOf = AsOf(parsing: text) else {
            throw Problem(400, "invalid_date", "as_of must be a global position, a date (YYYY-MM-DD) or an ISO 8601 instant", field: "as_of")
        }
        return asOf
    }

    func uuid(_ text: String, field: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw Problem(400, "invalid_field_value", "\(field) must be a UUID", field: field) }
        return id
    }

    // MARK: Sessions

    struct LoginBody: Decodable { var login: String; var password: String }
    struct SessionResource: Encodable { var token: String; var login: String; var expiresAt: String
        enum CodingKeys: String, CodingKey { case token, login, expiresAt = "expires_at" } }

    /// A web session: PostgreSQL itself checks the password (a libpq connection as that
    /// login); a connection let in without a password (trust, peer) is refused, and so is a
    /// login that may not hold a session (403 `session_not_allowed`: the authenticator, the
    /// daemon, the owner, a superuser, a login not web-enabled).
    func login(_ request: Request) async throws -> Response {
        let body = try await jsonBody(request)
        let fields = try StrictJSON.object(body, allowed: ["login", "password"])
        let login = try StrictJSON.string(fields, "login", max: 63)
        let password = try StrictJSON.string(fields, "password", max: 1000)
        let user: Connection
        do {
            user = try await Connection.connect(
                ConnectionString.replacingUser(in: data.conninfo, with: login, password: password), logger: logger)
        } catch {
            throw Problem(401, "invalid_credentials", "the database did not accept this login and password")
        }
        defer { Task { await user.close() } }
        guard await user.usedPassword else {
            throw Problem(401, "password_not_checked",
                          "the database let this login in without checking a password (trust or peer authentication); "
                          + "web sessions need password authentication for the server's host in pg_hba.conf")
        }
        let token = Tokens.generate()
        let expires = Timestamp(Date().addingTimeInterval(configuration.sessionLifetime))
        do {
            _ = try await user.query("SELECT create_session_token($1, $2)", [token, expires.iso8601], name: "create session")
        } catch let error as PostgresError where SessionRefusal.applies(error) {
            throw Problem(403, SessionRefusal.code, SessionRefusal.message(login))
        }
        var headers = HTTPFields()
        headers[.setCookie] = "sbie_session=\(token); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(configuration.sessionLifetime))"
            + (configuration.secureCookies ? "; Secure" : "")
        return try JSONCoding.response(SessionResource(token: token, login: login, expiresAt: expires.iso8601),
                                       status: .created, headers: headers)
    }

    func logout(_ request: Request) async throws -> Response {
        guard case .token(let token) = try requireLogin(request) else { throw Problem(401, "authentication_required", "no session") }
        _ = try await data.run(as: .anonymous) { c, _ in
            try c.query("SELECT revoke_token($1)", [token], name: "revoke token")
        }
        var headers = HTTPFields()
        headers[.setCookie] = "sbie_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        return Response(status: .noContent, headers: headers)
    }

    // MARK: Commands

    /// `POST /v1/actions/{command_type}`: the body is the command's payload, validated as the
    /// daemon will (same codes and field names), then enqueued as the caller.
    func submit(_ request: Request, type: String) async throws -> Response {
        let credential = try requireLogin(request)
        let body = try await jsonBody(request)
        var command: DomainCommand
        switch DomainCommand.parse(type: type, payload: body) {
        case .success(let parsed): command = parsed
        case .failure(let rejection):
            let status = rejection.code == "unknown_command_type" ? 404 : rejection.code == "payload_too_large" ? 413 : 400
            throw Problem(status, rejection.code, rejection.message, field: rejection.field.map { "payload." + $0 })
        }
        // A legal date nobody gave is made explicit, as the CLI does: schedule_review without
        // scheduled_on is scheduled on Florida's date today (not after the meeting); the
        // response says so in `Sbie-Defaulted`.
        var defaulted: String?
        if case .scheduleReview(var p) = command, p.scheduledOn == nil {
            let day = ScheduleReview.defaultScheduledOn(meeting: p.meetingDate, today: FloridaDate(floridaDateOf: Date()))
            p.scheduledOn = day
            command = .scheduleReview(p)
            defaulted = "scheduled_on=\(day)"
        }
        let key = header(request, "idempotency-key") ?? UUID().uuidString.lowercased()
        guard (1...200).contains(key.count) else {
            throw Problem(400, "invalid_field_value", "Idempotency-Key must be 1-200 characters", field: "Idempotency-Key")
        }
        let wait = try preferWait(request)
        let payload = String(decoding: command.payloadJSON(), as: UTF8.self), commandType = command.commandType
        let record = try await data.run(as: credential) { c, _ in
            try CommandQueue.submit(type: commandType, payload: payload, idempotencyKey: key, on: c)
        }
        metrics.submitted(type: commandType)
        var final = record
        if let wait, !record.isFinal {
            final = try await waitForOutcome(record.commandID, credential: credential, timeout: wait) ?? record
        }
        var response = try commandResponse(final, waited: wait != nil)
        if let defaulted, let name = Self.defaultedHeader { response.headers[name] = defaulted }
        return response
    }

    /// `Sbie-Defaulted: field=value`: a field the payload omitted and the server filled in
    /// (schedule_review's `scheduled_on`: Florida's date today, not after the meeting).
    static let defaultedHeader = HTTPFields.Element.Name("Sbie-Defaulted")

    func preferWait(_ request: Request) throws -> Duration? {
        guard let prefer = header(request, "prefer") else { return nil }
        for part in prefer.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == "wait" {
                guard let seconds = Int(kv[1]), (0...60).contains(seconds) else {
                    throw Problem(400, "invalid_field_value", "Prefer: wait=N takes 0-60 seconds", field: "Prefer")
                }
                return .seconds(seconds)
            }
        }
        return nil
    }

    func waitForOutcome(_ id: UUID, credential: Credential, timeout: Duration) async throws -> CommandRecord? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let generation = await notifier.current
            let record = try await data.run(as: credential, readOnly: true) { c, _ in try CommandQueue.command(id, on: c) }
            guard let record, !record.isFinal else { return record }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return record }
            await notifier.wait(after: generation, timeout: min(remaining, .milliseconds(500)))
        }
    }

    /// 202 with `Location` while pending; 200 accepted or failed; 422 rejected (problem+json
    /// with the rule's code and message, which cites its legal source).
    func commandResponse(_ record: CommandRecord, waited: Bool) throws -> Response {
        let resource = CommandView(record, withURL: true)
        var headers = HTTPFields()
        headers[.location] = resource.url
        switch record.status {
        case .pending:
            return try JSONCoding.response(resource, status: .accepted, headers: headers)
        case .rejected where waited:
            var problem = Problem(422, record.errorCode ?? "rejected", record.errorMessage ?? "rejected",
                                  commandID: resource.commandID)
            problem.title = "Rejected by a rule"
            var response = problem.response
            response.headers[.location] = resource.url
            return response
        default:
            return try JSONCoding.response(resource, status: .ok, headers: headers)
        }
    }

    func command(_ request: Request, id text: String) async throws -> Response {
        let credential = try requireLogin(request)
        let id = try uuid(text, field: "id")
        guard let record = try await data.run(as: credential, readOnly: true, { c, _ in try CommandQueue.command(id, on: c) }) else {
            throw Problem(404, "command_not_found", "no command \(id.uuidString.lowercased()) visible to this login")
        }
        return try JSONCoding.response(CommandView(record, withURL: true))
    }

    func listCommands(_ request: Request) async throws -> Response {
        let credential = try requireLogin(request)
        let statusText = try query(request, "status")
        let status = statusText.flatMap { CommandRecord.Status(rawValue: $0) }
        if statusText != nil && status == nil {
            throw Problem(400, "invalid_field_value", "status must be pending, accepted, rejected or failed", field: "status")
        }
        let limit = Int(try integer(request, "limit", default: 100, range: 1...1000))
        let records = try await data.run(as: credential, readOnly: true) { c, _ in try CommandQueue.commands(status: status, limit: limit, on: c) }
        return try JSONCoding.response(["commands": records.map { CommandView($0, withURL: true) }])
    }

    // MARK: Reads

    struct RegisterResource: Encodable {
        var asOf: String?
        var position: Int64?
        var agreements: [AgreementStatusRow]
        enum CodingKeys: String, CodingKey { case asOf = "as_of", position, agreements }
    }

    func registerRows(_ request: Request) async throws -> Response {
        let credential = try credential(request)
        let asOf = try asOf(request)
        let agency = try query(request, "agency").map { AgencyID.slug(of: $0) }
        let county = try query(request, "county")?.lowercased()
        var model: String?
        if let text = try query(request, "model") {
            guard let parsed = Model(codeOrName: text) else {
                throw Problem(400, "invalid_field_value", "model must be TFM, WSO or JEM", field: "model")
            }
            model = parsed.rawValue
        }
        var state: String?
        if let text = try query(request, "state") {
            guard AgreementStatus(rawValue: text) != nil else {
                throw Problem(400, "invalid_field_value",
                              "state must be one of \(AgreementStatus.allCases.map(\.rawValue).joined(separator: ", "))", field: "state")
            }
            state = text
        }
        var notListed: Bool?
        if let text = try query(request, "not_listed") {
            guard text == "true" || text == "false" else {
                throw Problem(400, "invalid_field_value", "not_listed must be true or false", field: "not_listed")
            }
            notListed = text == "true"
        }
        let (rows, position) = try await data.run(as: credential, readOnly: true) { c, p -> ([AgreementStatusRow], Int64?) in
            if let asOf {
                let snapshot = try PointInTime.register(asOf: asOf, view: logView(p), on: c)
                return (try AgreementStatusRow.rows(in: snapshot.state), snapshot.position)
            }
            return (try ReadModels.agreementStatusRows(agency: nil, on: c), nil)
        }
        // "Not listed": the agreement's latest edition is older than the newest edition in the register.
        let latest = rows.compactMap(\.sourceEdition).max()
        let filtered = rows.filter { row in
            (agency == nil || row.agencyID == agency || AgencyID.slug(of: row.agencyName) == agency)
                && (county == nil || row.county?.lowercased() == county)
                && (model == nil || row.model == model)
                && (state == nil || row.state == state)
                && (notListed == nil || ((row.sourceEdition != latest) == notListed))
        }
        return try JSONCoding.response(RegisterResource(asOf: asOf?.description, position: position, agreements: filtered))
    }

    func agreement(_ request: Request, id text: String) async throws -> Response {
        let credential = try credential(request)
        guard let id = AgreementID(text) else { throw Problem(400, "invalid_field_value", "id must be an agreement id", field: "id") }
        let asOf = try asOf(request)
        let row = try await data.run(as: credential, readOnly: true) { c, p -> AgreementStatusRow? in
            if let asOf { return try AgreementStatusRow.rows(in: PointInTime.register(asOf: asOf, view: logView(p), on: c).state).first { $0.agreementID == id.description } }
            return try ReadModels.agreementStatusRow(id, on: c)
        }
        guard let row else { throw Problem(404, "agreement_not_found", "no agreement \(id) visible to this caller") }
        return try JSONCoding.response(row)
    }

    func requests(_ request: Request) async throws -> Response {
        let credential = try credential(request)
        let asOf = try asOf(request)
        let agencyText = try query(request, "agency")
        let rows = try await data.run(as: credential, readOnly: true) { c, p -> [TerminationRequestRow] in
            var agency: AgencyID?
            if let agencyText {
                guard let resolved = try ReadModels.resolveAgency(agencyText, on: c) else { return [] }
                agency = resolved
            }
            if let asOf { return try TerminationRequestRow.rows(in: PointInTime.register(asOf: asOf, view: logView(p), on: c).state, agency: agency) }
            return try ReadModels.terminationRequestRows(agency: agency, on: c)
        }
        return try JSONCoding.response(["requests": rows])
    }

    func terminationRequest(_ request: Request, id text: String) async throws -> Response {
        let credential = try credential(request)
        let id = try uuid(text, field: "id")
        let asOf = try asOf(request)
        let row = try await data.run(as: credential, readOnly: true) { c, p -> TerminationRequestRow? in
            if let asOf {
                let key = id.uuidString.lowercased()
                return try TerminationRequestRow.rows(in: PointInTime.register(asOf: asOf, view: logView(p), on: c).state).first { $0.requestID == key }
            }
            return try ReadModels.terminationRequestRow(id, on: c)
        }
        guard let row else { throw Problem(404, "request_not_found", "no request \(id.uuidString.lowercased()) visible to this caller") }
        return try JSONCoding.response(row)
    }

    /// The log a read that folds it uses: anonymous callers (the public role `web_anon`)
    /// read `public_events`, as the public pages do (the same events, login names replaced
    /// by role and agency; docs/security.md "What the public may read"); a login reads
    /// `events` under its own grants, so a clerk (no log access) is still refused (403)
    /// rather than shown other agencies' requests through the public log.
    func logView(_ principal: Principal) -> EventLogView {
        principal.login == nil ? .publicEvents : .events
    }

    struct SeatsResource: Encodable {
        var asOf: String?
        var seats: [String: [SeatEntry]]
        enum CodingKeys: String, CodingKey { case asOf = "as_of", seats }
    }

    /// The Board's seats over time: every seat's entries by effective date, as of a point in the log.
    func seats(_ request: Request) async throws -> Response {
        let credential = try credential(request)
        let asOf = try asOf(request)
        let board = try await data.run(as: credential, readOnly: true) { c, p in
            try PointInTime.register(asOf: asOf ?? .position(Int64.max), view: logView(p), on: c).state.board
        }
        var seats: [String: [SeatEntry]] = [:]
        for seat in BoardSeat.allCases { seats[seat.rawValue] = board.history[seat] ?? [] }
        return try JSONCoding.response(SeatsResource(asOf: asOf?.description, seats: seats))
    }

    // MARK: The log

    /// The events after a position, in order, never past the first uncommitted position
    /// (positions are dense, so a gap means a transaction still in flight).
    func events(_ c: isolated Connection, after: Int64, limit: Int) throws -> [(position: Int64, type: String, json: String)] {
        guard after < Int64.max else { return [] }  // nothing can follow (and after + 1 would overflow)
        let table = try c.query("SELECT has_table_privilege('events', 'SELECT')", name: "events privilege").rows[0]
            .decode(0, as: Bool.self) ? "events" : "public_events"
        let rows = try c.query(
            """
            SELECT t.global_position, t.event_type, row_to_json(t)::text FROM (
                SELECT global_position, stream_id, stream_version, event_id, event_type, data, metadata,
                       occurred_at, recorded_at, encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash
                FROM \(table) WHERE global_position > $1 ORDER BY global_position LIMIT $2) t
            """, [after, limit], name: "events page").rows
        var result: [(Int64, String, String)] = []
        var expected = after + 1
        for row in rows {
            let position: Int64 = try row.decode(0)
            guard position == expected else { break }
            result.append((position, try row.decode(1), try row.decode(2)))
            expected = position &+ 1
        }
        return result
    }

    func eventsPage(_ request: Request) async throws -> Response {
        let credential = try credential(request)
        let after = try integer(request, "after", default: 0, range: 0...Int64.max)
        let limit = Int(try integer(request, "limit", default: 100, range: 1...1000))
        let page = try await data.run(as: credential, readOnly: true) { c, _ in try events(c, after: after, limit: limit) }
        let next = page.last?.position ?? after
        let body = "{\"events\":[" + page.map(\.json).joined(separator: ",") + "],\"next_after\":\(next)}"
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    // MARK: Exports

    func export(_ request: Request, source text: String) async throws -> Response {
        let credential = try credential(request)
        guard let source = ExportSource(rawValue: text) else {
            throw Problem(404, "unknown_export", "exports: \(ExportSource.allCases.map(\.rawValue).joined(separator: ", "))", field: "source")
        }
        let formatText = try query(request, "format") ?? "csv"
        guard let format = ExportFormat(rawValue: formatText) else {
            throw Problem(400, "invalid_field_value", "format must be csv or jsonl", field: "format")
        }
        // Check the privilege before streaming, so a refusal is a clear 403, not a cut stream.
        _ = try await data.run(as: credential, readOnly: true) { c, _ in
            try c.query("SELECT 1 FROM (\(source.sql)) t LIMIT 0", name: "export privilege")
        }
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .unbounded)
        let data = self.data
        let logger = self.logger
        Task {
            do {
                _ = try await data.run(as: credential, readOnly: true, snapshot: true) { c, _ in
                    try Exporter.exportInTransaction(source, format: format, on: c) { chunk in continuation.yield(ByteBuffer(string: chunk)) }
                }
            } catch {
                logger.warning("export stopped", metadata: ["error": "\(error)"])
            }
            continuation.finish()
        }
        var headers = HTTPFields()
        headers[.contentType] = format == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson"
        headers[.contentDisposition] = "attachment; filename=\"\(source.rawValue).\(format.rawValue)\""
        return Response(status: .ok, headers: headers, body: .init(asyncSequence: stream))
    }

    // MARK: Health and metrics

    struct Readiness: Encodable {
        var ready: Bool
        var database: String
        var migrations: String
        var daemon: String
    }

    /// Ready: the database answers, every migration this build knows is applied, and a
    /// daemon decides commands:
    /// - in this process (`serve --with-daemon`, `configuration.daemonStatus`): its own
    ///   `DaemonStatus.readiness` is `ready` (not starting, reconnecting, blocked by an
    ///   unreadable event, or stopped);
    /// - elsewhere: a daemon shows a sign of life in the database (`daemon_liveness()`, 0015):
    ///   an idle daemon waits on the queue (`queue_sleepers`, a live backend), or a command was
    ///   decided within `readyMaxQueueAge`;
    /// and in both cases no due command has waited longer than `readyMaxQueueAge`.
    func ready() async throws -> Response {
        var readiness = Readiness(ready: false, database: "unreachable", migrations: "unknown", daemon: "unknown")
        let maxAge = configuration.readyMaxQueueAge.seconds
        do {
            let (status, liveness) = try await data.run(as: .anonymous, readOnly: true, primary: true) { c, _ in
                (try FrontDoorStatus.read(c), try? DaemonLiveness.read(c))
            }
            readiness.database = "ok"
            let expected = configuration.expectedMigration
            let current = expected.map { status.latestMigration >= $0 } ?? true
            readiness.migrations = expected.map { current ? "current" : "behind: \(status.latestMigration) < \($0)" }
                ?? "at \(status.latestMigration)"
            var deciding: Bool
            if let own = configuration.daemonStatus {
                deciding = own.isReady
                readiness.daemon = deciding ? "deciding (in this process)" : "in this process: \(own.readiness)"
            } else if let liveness {
                if liveness.sleepers > 0 {
                    deciding = true
                    readiness.daemon = "deciding: \(liveness.sleepers) daemon(s) waiting for commands"
                } else if let last = liveness.lastDecisionSeconds, last <= maxAge {
                    deciding = true
                    readiness.daemon = "deciding: last decision \(Int(last)) s ago"
                } else {
                    deciding = false
                    readiness.daemon = "absent: no daemon waits for commands, and none decided one in the last \(Int(maxAge)) s"
                }
            } else {
                deciding = false
                readiness.daemon = "unknown: daemon_liveness() is missing (run `sbie migrate`)"
            }
            let stale = (status.oldestDueSeconds ?? 0) > maxAge
            if stale {
                deciding = false
                readiness.daemon = "blocked: a due command has waited \(Int(status.oldestDueSeconds ?? 0)) s"
                    + (configuration.daemonStatus.map { " (daemon in this process: \($0.readiness))" } ?? "")
            }
            readiness.ready = deciding && current
        } catch {
            readiness.database = "unreachable"
        }
        return try JSONCoding.response(readiness, status: readiness.ready ? .ok : .serviceUnavailable)
    }

    func metricsText() async throws -> Response {
        if let status = try? await data.run(as: .anonymous, readOnly: true, primary: true, { c, _ in
            (try FrontDoorStatus.read(c), try FrontDoorStatus.commandCounts(c))
        }) {
            metrics.update(status: status.0, counts: status.1)
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
    }
}

/// What `daemon_liveness()` (0015) reports: idle daemons waiting on the queue (live
/// backends) and the age of the newest decision, in seconds (nil: none yet).
struct DaemonLiveness: Sendable {
    var sleepers: Int
    var lastDecisionSeconds: Double?

    static func read(_ c: isolated Connection) throws -> DaemonLiveness {
        let row = try c.query("SELECT sleepers, last_decision_seconds FROM daemon_liveness()", name: "daemon liveness").rows[0]
        return DaemonLiveness(sleepers: try row.decode(0), lastDecisionSeconds: try row.decodeIfPresent(1))
    }
}

/// What `front_door_status()` reports.
struct FrontDoorStatus: Sendable {
    var migrations: Int
    var latestMigration: Int
    var headPosition: Int64
    var pending: Int64
    var oldestDueSeconds: Double?
    var failed: Int64
    var timelineLag: Int64

    static func read(_ c: isolated Connection) throws -> FrontDoorStatus {
        let row = try c.query("SELECT * FROM front_door_status()", name: "front door status").rows[0]
        return FrontDoorStatus(
            migrations: try row.decode(0), latestMigration: try row.decodeIfPresent(1) ?? 0, headPosition: try row.decode(2),
            pending: try row.decode(3), oldestDueSeconds: try row.decodeIfPresent(4), failed: try row.decode(5),
            timelineLag: try row.decode(6))
    }

    static func commandCounts(_ c: isolated Connection) throws -> [(status: String, code: String, count: Int64)] {
        try c.query("SELECT status, coalesce(error_code, ''), commands FROM command_counts()", name: "command counts").rows.map {
            (try $0.decode(0), try $0.decode(1), try $0.decode(2))
        }
    }
}

struct VerifyResource: Encodable {
    var ok: Bool
    var summary: String
    /// `full`: every hash recomputed (`events`); `links`: read from `public_events`, whose
    /// metadata (login names) differs from what was hashed, so each `prev_hash` is checked
    /// against the hash before it, positions and stream versions, but no hash is recomputed.
    var scope: String
    var report: VerificationReport
    init(_ report: VerificationReport, view: EventLogView = .events) {
        ok = report.isIntact
        scope = view == .events ? "full" : "links"
        summary = view == .events ? report.summary
            : report.summary.replacingOccurrences(of: "hash chain intact", with: "each prev_hash links to the hash before it")
                + " (public view: hashes not recomputed, because they cover login names the public does not see; "
                + "an export by a login with log access recomputes them)"
        self.report = report
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// The refusal of a web session to a login that may not hold one: only web-enabled agency
/// clerks, Board staff, registrars and auditors may (`create_session_token`, 0011). Any
/// other login (the authenticator, the daemon, the owner, a superuser) meets 42501 (no
/// EXECUTE, or not web-enabled), 42883 or 3F000 (the function is not visible to it);
/// each is this one refusal, never a 500.
enum SessionRefusal {
    static let code = "session_not_allowed"

    static func applies(_ error: PostgresError) -> Bool {
        ["42501", "42883", "3F000", "42P01"].contains(error.sqlState ?? "")
    }

    static func message(_ login: String) -> String {
        "login \(login.prefix(63)) may not open a web session: sessions are for web-enabled agency clerks, Board staff, registrars and auditors (sbie login web-enable), never the server's authenticator, the daemon, the owner or a superuser"
    }
}
