import Crypto
import Foundation
import Hummingbird
import Logging
import Mustache

/// The server-rendered pages for the public, agency clerks and Board staff (issue 15).
///
/// Public pages read as the anonymous role `web_anon`, whoever is signed in, so the public
/// record is the same for everyone. Request pages and every form run as the signed-in
/// user's own role through the `DataLayer`, so PostgreSQL decides what a clerk or Board
/// staff may see and do (row-level security, grants, `submit_command`), exactly as on psql.
/// Forms post with a CSRF token (HMAC of an HttpOnly SameSite=Strict cookie under a key
/// made at start-up) and an `Origin`/`Sec-Fetch-Site` check; every response carries a
/// strict Content-Security-Policy. See docs/architecture.md, "Web pages".
struct Pages: Sendable {
    let data: DataLayer
    let notifier: OutcomeNotifier
    let configuration: FrontDoorConfiguration
    let logger: Logger
    /// The CSRF key's 32 bytes: random per process (a restart asks open forms to be reloaded).
    let csrfKeyBytes: Data = {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }()
    /// How long a form waits for the daemon's outcome before saying the command is queued.
    static let outcomeWait: Duration = .seconds(15)

    func register(on router: Router<BasicRequestContext>) {
        router.add(middleware: PageNotFoundMiddleware(pages: self))
        router.get("/") { request, _ in await handle(request) { try await registerPage($0) } }
        router.get("/agreements/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await handle(request) { try await agreementPage($0, id: id) }
        }
        router.get("/requests/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await handle(request) { try await requestPage($0, id: id) }
        }
        router.post("/requests/{id}/{action}") { request, context in
            let id = context.parameters.get("id") ?? ""
            let action = context.parameters.get("action") ?? ""
            return await handle(request) { try await requestAction($0, id: id, action: action) }
        }
        router.get("/docket") { request, _ in await handle(request) { try await docketPage($0) } }
        router.get("/board") { request, _ in await handle(request) { try await boardPage($0) } }
        router.post("/board/seats") { request, _ in await handle(request) { try await seatChange($0) } }
        router.get("/verify") { request, _ in await handle(request) { try await verifyPage($0) } }
        router.get("/login") { request, _ in await handle(request) { try await loginPage($0) } }
        router.post("/login") { request, _ in await handle(request) { try await login($0) } }
        router.post("/logout") { request, _ in await handle(request) { try await logout($0) } }
        router.get("/clerk") { request, _ in await handle(request) { try await clerkPage($0) } }
        router.post("/clerk/requests") { request, _ in await handle(request) { try await fileRequest($0) } }
        // A reload of a form's result (or a bookmark) lands on the page that holds the form.
        router.get("/clerk/requests") { request, _ in await handle(request) { redirect($0, to: "/clerk") } }
        router.get("/static/{file}") { request, _ in
            PageAssets.response(path: request.uri.path)
                ?? Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "no such asset (assets are versioned by content)\n")))
        }
    }

    /// Whether a request that matched no route gets the site's HTML 404 page: a browser
    /// (`Accept` names `text/html`) asking for a path outside the API (`/v1`, `/health`,
    /// `/metrics`), whose 404s stay `application/problem+json`.
    static func wantsPage(path: String, accept: String?) -> Bool {
        let api = ["/v1", "/health", "/metrics"].contains { path == $0 || path.hasPrefix($0 + "/") }
        return !api && (accept?.lowercased().contains("text/html") ?? false)
    }

    /// The site's 404 page for a path that names no page.
    func notFoundPage(_ request: Request) async -> Response {
        await handle(request) { _ in
            throw PageError(404, "No such page", "The record has no page at this address.",
                            link: .init(href: "/", text: "The register"))
        }
    }

    // MARK: Per-request state

    /// What a page knows about its request: the session, the CSRF cookie, cookies to set.
    final class PageRequest: @unchecked Sendable {
        let request: Request
        let session: String?
        let csrfCookie: String
        var setCookies: [String] = []
        var viewer: ViewerView?
        var flash: FlashView?

        init(request: Request, secure: Bool) {
            self.request = request
            let cookies = PageSupport.cookies(request)
            session = cookies[PageSupport.sessionCookie].flatMap { $0.isEmpty || $0.utf8.count > 512 ? nil : $0 }
            if let existing = cookies[PageSupport.csrfCookie], PageSupport.isToken(existing) {
                csrfCookie = existing
            } else {
                csrfCookie = Tokens.generate()
                setCookies.append(PageSupport.setCookie(PageSupport.csrfCookie, csrfCookie, maxAge: nil, secure: secure))
            }
        }

        var credential: Credential { session.map { .token($0) } ?? .anonymous }
        func query(_ name: String) -> String? { request.uri.queryParameters[Substring(name)].map { String($0) } }
    }

    /// Runs a page handler; every error becomes an HTML page with its status.
    func handle(_ request: Request, _ body: (PageRequest) async throws -> Response) async -> Response {
        let page = PageRequest(request: request, secure: configuration.secureCookies)
        do {
            return try await body(page)
        } catch let error as PageError {
            return message(page, error)
        } catch AccessError.unavailable {
            return message(page, PageError(503, "The record is unavailable", "The database cannot be reached just now. Try again in a minute."))
        } catch let error as PostgresError where error.sqlState == "42501" {
            return message(page, PageError(403, "The database refused this", "PostgreSQL refused this for your login: \(error.message)"))
        } catch let error as PostgresError where error.kind == .connection {
            return message(page, PageError(503, "The record is unavailable", "The database cannot be reached just now. Try again in a minute."))
        } catch {
            logger.error("page failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return message(page, PageError(500, "Something went wrong", "The server failed to build this page; the error is logged."))
        }
    }

    /// Who is signed in (checked by the database), or nil. An unknown or expired session is
    /// dropped (its cookie cleared) and the page shows the public view.
    func loadViewer(_ page: PageRequest) async throws -> ViewerView? {
        guard page.session != nil else { return nil }
        do {
            let viewer = try await data.run(as: page.credential, readOnly: true) { c, principal in try Pages.viewer(c, principal) }
            page.viewer = viewer
            return viewer
        } catch AccessError.invalidToken {
            page.setCookies.append(PageSupport.setCookie(PageSupport.sessionCookie, "", maxAge: 0, secure: configuration.secureCookies))
            return nil
        }
    }

    static func viewer(_ c: isolated Connection, _ principal: Principal) throws -> ViewerView? {
        guard let login = principal.login else { return nil }
        let row = try c.query(
            """
            SELECT pg_has_role(current_user, 'agency_clerk', 'MEMBER'), pg_has_role(current_user, 'board_staff', 'MEMBER'),
                   pg_has_role(current_user, 'registrar', 'MEMBER'), pg_has_role(current_user, 'auditor', 'MEMBER')
            """, name: "viewer roles").rows[0]
        let clerk: Bool = try row.decode(0), board: Bool = try row.decode(1)
        let registrar: Bool = try row.decode(2), auditor: Bool = try row.decode(3)
        var label = clerk ? "agency clerk" : board ? "Board staff" : registrar ? "registrar" : auditor ? "auditor" : "signed in"
        if clerk, let agency = principal.agencyID { label += ", \(agency)" }
        return ViewerView(login: login, roleLabel: label, isClerk: clerk && principal.agencyID != nil, isBoard: board,
                          agencyID: principal.agencyID)
    }

    // MARK: Rendering

    func csrf(_ page: PageRequest) -> String { PageSupport.csrfToken(cookie: page.csrfCookie, key: csrfKeyBytes) }

    /// The page: `template` rendered with `view`, inside the layout, with security headers.
    func render(_ page: PageRequest, status: HTTPResponse.Status = .ok, title: String, nav: NavView = NavView(),
                template: String, view: Any) -> Response {
        let content = PageTemplates.library.render(view, withTemplate: template) ?? ""
        let layout = LayoutView(title: title, nav: nav, viewer: page.viewer, csrf: csrf(page), flash: page.flash, content: content)
        let html = PageTemplates.library.render(layout, withTemplate: "layout") ?? ""
        var headers = securityHeaders(page)
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func securityHeaders(_ page: PageRequest) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentSecurityPolicy] = PageSupport.contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        if let name = Pages.frameOptions { headers[name] = "DENY" }
        if let name = Pages.referrerPolicy { headers[name] = "same-origin" }
        headers[.cacheControl] = "no-store"
        if !page.setCookies.isEmpty { headers[values: .setCookie] = page.setCookies }
        return headers
    }

    static let frameOptions = HTTPFields.Element.Name("X-Frame-Options")
    static let referrerPolicy = HTTPFields.Element.Name("Referrer-Policy")

    func message(_ page: PageRequest, _ error: PageError) -> Response {
        render(page, status: .init(code: error.status), title: error.heading, template: "message",
               view: MessageView(heading: error.heading, paragraphs: error.paragraphs, link: error.link))
    }

    /// 303 See Other (after a POST), with the cookies to set.
    func redirect(_ page: PageRequest, to location: String) -> Response {
        var headers = securityHeaders(page)
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    /// A flash message named by `?done=` after a redirect (never text from the query itself).
    func flash(_ page: PageRequest) {
        guard let done = page.query("done") else { return }
        let text: String? = switch done {
        case "filed": "Your termination request was filed and accepted for review."
        case "withdrawn": "The request was withdrawn."
        case "notice": "The termination notice was recorded."
        case "scheduled": "The review was scheduled" + (page.query("on").flatMap(FloridaDate.init(iso:)).map { ", recorded as scheduled on \($0)." } ?? ".")
        case "voted": "The Board's vote was recorded."
        case "seat": "The seat change was recorded."
        case "signed-out": "You are signed out."
        default: nil
        }
        if let text { page.flash = FlashView(kind: "ok", message: text) }
    }

    // MARK: Forms and commands

    /// Refuses a POST that did not come from one of this site's own forms.
    func checkForm(_ page: PageRequest) async throws -> FormValues {
        guard PageSupport.sameOrigin(page.request) else { throw Pages.forged }
        let form = try await PageSupport.form(page.request)
        guard PageSupport.csrfValid(cookie: PageSupport.cookies(page.request)[PageSupport.csrfCookie], token: form["csrf"], key: csrfKeyBytes) else {
            throw Pages.forged
        }
        return form
    }

    static let forged = PageError(
        403, "This form was refused",
        "The form did not come from this site's own page (its anti-forgery token is missing or wrong, or the browser says it was sent from another site), so nothing was recorded.",
        "If you did send it: go back, reload the page and submit the form again.", link: .init(href: "/", text: "Back to the register"))

    func requireViewer(_ page: PageRequest) async throws -> ViewerView {
        guard let viewer = try await loadViewer(page) else {
            throw PageError(401, "Sign in first", "This page is for signed-in clerks and Board staff.", link: .init(href: "/login", text: "Sign in"))
        }
        return viewer
    }

    /// The outcome of a form's command.
    enum Outcome {
        /// The payload breaks a field rule (the CLI's and the API's code and field).
        case invalid(Rejection)
        /// The database refused the submission (permission, agency): code and message.
        case refused(String, String)
        case accepted(CommandRecord)
        /// A rule rejected it: the record carries the code and the message citing the source.
        case rejected(CommandRecord)
        /// Still queued after `outcomeWait` (the daemon is down or busy).
        case pending(CommandRecord)
    }

    /// Validates `payload` as the daemon will, submits it as the signed-in user with an
    /// idempotency key from the form (a resubmitted form is the same command), and waits for
    /// the daemon's outcome.
    func submit(_ page: PageRequest, type: String, payload: [String: Any], key: String) async throws -> Outcome {
        let json = try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])
        let command: DomainCommand
        switch DomainCommand.parse(type: type, payload: json) {
        case .success(let parsed): command = parsed
        case .failure(let rejection): return .invalid(rejection)
        }
        let payloadText = String(decoding: command.payloadJSON(), as: UTF8.self)
        let record: CommandRecord
        do {
            record = try await data.run(as: page.credential) { c, _ in
                try CommandQueue.submit(type: command.commandType, payload: payloadText, idempotencyKey: key, on: c)
            }
        } catch let error as SubmissionError {
            return .refused(error.code, error.message)
        }
        let deadline = ContinuousClock.now.advanced(by: Pages.outcomeWait)
        var current = record
        while !current.isFinal {
            let generation = await notifier.current
            guard let fresh = try await data.run(as: page.credential, readOnly: true, { c, _ in try CommandQueue.command(record.commandID, on: c) }) else { break }
            current = fresh
            if current.isFinal { break }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return .pending(current) }
            await notifier.wait(after: generation, timeout: min(remaining, .milliseconds(500)))
        }
        switch current.status {
        case .accepted: return .accepted(current)
        case .pending: return .pending(current)
        default: return .rejected(current)
        }
    }

    /// The alert for an outcome that is not a field error: rule, message and source.
    static func alert(for outcome: Outcome) -> AlertView? {
        switch outcome {
        case .refused(let code, let message):
            return AlertView(heading: "Refused by the database (\(code))", message: message, source: nil)
        case .rejected(let record):
            let message = record.errorMessage ?? "rejected"
            var source: String?
            if let range = message.range(of: ": ") { source = String(message[..<range.lowerBound]) }
            return AlertView(heading: "Rejected (\(record.errorCode ?? "rejected"))", message: message, source: source)
        case .pending(let record):
            return AlertView(heading: "Queued, not yet decided",
                             message: "Command \(record.commandID.uuidString.lowercased()) is queued; the daemon has not decided it yet. Reload this page in a moment.",
                             source: nil)
        case .invalid(let rejection) where rejection.field == nil:
            return AlertView(heading: "Not accepted (\(rejection.code))", message: rejection.message, source: nil)
        default:
            return nil
        }
    }

    /// Field errors by form field name (a rejection's field, e.g. `filed_on`, `votes.governor`).
    static func fieldErrors(_ outcome: Outcome) -> [String: String] {
        guard case .invalid(let rejection) = outcome, let field = rejection.field else { return [:] }
        return [field: rejection.message]
    }

    /// A form's idempotency key: its hidden `form_id` (a UUID made when the form was shown),
    /// so a form sent twice is one command.
    /// - Throws: `PageError` 400 when `form_id` is missing or not a UUID (a fresh key would
    ///   silently lose the double-submit protection).
    static func formKey(_ form: FormValues, _ kind: String) throws(PageError) -> String {
        guard let id = form["form_id"].flatMap(UUID.init(uuidString:)) else {
            throw PageError(400, "Please submit the form again",
                            "The form's hidden form_id, which makes a form sent twice count once, is \(form["form_id"] == nil ? "missing" : "not a UUID"), so nothing was recorded.",
                            "Go back, reload the page and submit the form again.")
        }
        return "web:\(kind):\(id.uuidString.lowercased())"
    }

    static func trimmed(_ form: FormValues, _ name: String) -> String? {
        guard let value = form[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }
}
