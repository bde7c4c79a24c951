import Foundation
import Hummingbird

// Pages that run as the signed-in user: a request (with the forms its viewer may use),
// the clerk's agency page, sign-in, and every form's POST.
extension Pages {
    // MARK: Request page

    /// Form state to show again after a POST: values typed, errors by field, an alert.
    struct FormState {
        var action: String
        var values: FormValues
        var errors: [String: String]
        var alert: AlertView?
        /// A rule rejected the last submission: the next needs a fresh idempotency key.
        var freshKey: Bool
    }

    func requestPage(_ page: PageRequest, id text: String, state formState: FormState? = nil,
                     status: HTTPResponse.Status = .ok) async throws -> Response {
        let viewer = try await loadViewer(page)
        flash(page)
        guard let id = UUID(uuidString: text) else {
            throw PageError(404, "No such request", "“\(text.prefix(100))” is not a request id.", link: .init(href: "/docket", text: "The docket"))
        }
        let loaded = try await data.run(as: page.credential, readOnly: true) { c, _ -> (TerminationRequestRow, AgreementStatusRow?, BoardComposition, [EventView])? in
            guard let row = try ReadModels.terminationRequestRow(id, on: c) else { return nil }
            let agreement = AgreementID(row.agreementID).flatMap { try? ReadModels.agreementStatusRow($0, on: c) }
            let history = try Pages.publicHistory(
                c, where: "stream_id = $1 OR (stream_id = $2 AND event_type = 'AgreementTerminated' AND lower(data->>'request_id') = $3)",
                [StreamName.request(id), "agreement-\(row.agreementID)", id.uuidString.lowercased()])
            return (row, agreement, try Pages.board(c), history)
        }
        guard let (row, agreement, board, history) = loaded else {
            if let viewer, viewer.isClerk {
                throw PageError(404, "This request is not visible to your login",
                                "PostgreSQL's row-level security shows a clerk of \(viewer.agencyID ?? "an agency") only that agency's requests. Request \(id.uuidString.lowercased()) belongs to another agency, or does not exist; the database returned nothing, so nothing about it is shown here.",
                                link: .init(href: "/clerk", text: "Your agency's requests"))
            }
            throw PageError(404, "No such request", "The record holds no termination request \(id.uuidString.lowercased()).",
                            link: .init(href: "/docket", text: "The docket"))
        }
        let model = AgreementID(row.agreementID)?.model
        var decisions: [RequestView.Decision] = []
        for event in history {
            if let basis = LegalBasis.of(event.type) {
                decisions.append(.init(date: event.decisionDate, decision: basis.decision, rule: basis.rule, source: basis.source))
            }
        }
        let view = RequestView(
            id: row.requestID, agreementID: row.agreementID, agreementHref: Labels.agreementHref(row.agreementID),
            agencyName: agreement?.agencyName ?? row.agencyID, modelName: model?.iceName ?? "",
            state: row.state, stateLabel: Labels.requestState(row.state), filedOn: row.filedOn, reason: row.reason,
            localAuthorization: row.localAuthorization, meetingOn: row.meetingOn, decidedOn: row.decidedOn,
            noticeReceivedOn: row.noticeReceivedOn, effectiveOn: row.effectiveOn,
            votes: BoardSeat.allCases.compactMap { seat in
                if let vote = row.votes.first(where: { $0.seat == seat }) {
                    return .init(seat: seat.title, member: vote.member, vote: vote.vote.rawValue)
                }
                // A seat with no vote was vacant on the meeting date (the daemon refuses a tally that omits a sitting member).
                return row.votes.isEmpty ? nil : .init(seat: seat.title, member: "vacant", vote: "no vote (seat vacant)")
            },
            hasVotes: !row.votes.isEmpty, decisions: decisions,
            actions: actions(viewer: viewer, row: row, board: board, state: formState),
            csrf: csrf(page), historyCaption: "Events of this request, in log order", history: history)
        return render(page, status: status, title: "Request: \(view.agencyName)", template: "request", view: view)
    }

    /// The forms this viewer may use on this request, by what the rules allow next.
    /// (Showing a form grants nothing: the database and the daemon decide on submission.)
    func actions(viewer: ViewerView?, row: TerminationRequestRow, board: BoardComposition, state: FormState?) -> ActionsView? {
        guard let viewer else { return nil }
        let open = row.state == "submitted" || row.state == "under_review"
        let base = "/requests/\(row.requestID)"
        func values(_ action: String) -> FormValues {
            var values = state?.action == action ? state?.values ?? [:] : [:]
            if values["form_id"] == nil || (state?.action == action && state?.freshKey == true) {
                values["form_id"] = UUID().uuidString.lowercased()
            }
            return values
        }
        func errors(_ action: String) -> [String: String] { state?.action == action ? state?.errors ?? [:] : [:] }
        var forms: [FormView] = []
        if viewer.isClerk, viewer.agencyID == row.agencyID {
            if open {
                let v = values("withdraw"), e = errors("withdraw")
                forms.append(FormView(id: "withdraw", heading: "Withdraw this request", note: "Before the Board decides, the agency may withdraw its request.",
                                      action: base + "/withdraw", fields: [
                                          FieldView(.text, "withdrawn_on", "Date withdrawn", form: v, errors: e, hint: "YYYY-MM-DD", idPrefix: "withdraw"),
                                          FieldView(.textarea, "reason", "Reason (optional)", form: v, errors: e, idPrefix: "withdraw"),
                                      ], button: "Withdraw the request", formID: v["form_id"] ?? ""))
            }
            if row.state == "approved" {
                let v = values("notice"), e = errors("notice")
                forms.append(FormView(id: "notice", heading: "Record the termination notice", note: "The date ICE received the agency's notice sets the agreement's end: on receipt (Task Force Model, Jail Enforcement Model) or 90 days after (Warrant Service Officer).",
                                      action: base + "/notice", fields: [
                                          FieldView(.text, "received_on", "Date ICE received the notice", form: v, errors: e, hint: "YYYY-MM-DD", idPrefix: "notice"),
                                          FieldView(.text, "served_on", "Date the notice was served (optional)", form: v, errors: e, hint: "YYYY-MM-DD", idPrefix: "notice"),
                                      ], button: "Record the notice", formID: v["form_id"] ?? ""))
            }
        }
        if viewer.isBoard, open {
            let v = values("schedule"), e = errors("schedule")
            let today = FloridaDate(floridaDateOf: Date())
            forms.append(FormView(id: "schedule", heading: row.meetingOn == nil ? "Schedule the review" : "Reschedule the review",
                                  note: nil, action: base + "/schedule", fields: [
                                      FieldView(.text, "meeting_date", "Meeting date", form: v, errors: e, hint: "YYYY-MM-DD", idPrefix: "schedule"),
                                      FieldView(.text, "scheduled_on", "Date scheduled", form: v, errors: e,
                                                hint: "YYYY-MM-DD; empty: today in Florida (\(today)), or the meeting date if that is earlier", idPrefix: "schedule"),
                                  ], button: "Schedule the review", formID: v["form_id"] ?? ""))
            if row.state == "under_review", let meetingText = row.meetingOn, let meeting = FloridaDate(iso: meetingText) {
                let v = values("vote"), e = errors("vote")
                let seats = BoardSeat.allCases.map { seat -> BallotView.Seat in
                    let member = board.member(of: seat, on: meeting)
                    let chosen = v["vote_\(seat.rawValue)"]
                    return BallotView.Seat(
                        seat: seat.rawValue, title: seat.title, member: member ?? "", vacant: member == nil,
                        error: e["votes.\(seat.rawValue)"] ?? "", hasError: e["votes.\(seat.rawValue)"] != nil,
                        choices: Ballot.allCases.map { .init(value: $0.rawValue, label: $0.rawValue.capitalized, checked: chosen == $0.rawValue) })
                }
                forms.append(FormView(id: "vote", heading: "Record the Board's vote",
                                      note: "Approval needs a yes from every member sitting on the meeting date (s. 908.1031, F.S.); the seats come from the Board's seat record.",
                                      action: base + "/vote", fields: [], ballot: BallotView(meeting: meetingText, seats: seats),
                                      button: "Record the vote", formID: v["form_id"] ?? ""))
            }
        }
        guard !forms.isEmpty || state?.alert != nil else { return nil }
        return ActionsView(alert: state?.alert, forms: forms)
    }

    /// POST /requests/{id}/{withdraw|notice|schedule|vote}.
    func requestAction(_ page: PageRequest, id text: String, action: String) async throws -> Response {
        let form = try await checkForm(page)
        let viewer = try await requireViewer(page)
        guard let id = UUID(uuidString: text) else { throw PageError(404, "No such request", "“\(text.prefix(100))” is not a request id.") }
        let requestID = id.uuidString.lowercased()
        var payload: [String: Any] = ["request_id": requestID]
        let type: String
        var errors: [String: String] = [:]
        switch action {
        case "withdraw":
            type = "withdraw_termination_request"
            payload["agency_id"] = viewer.agencyID ?? ""
            payload["withdrawn_on"] = Pages.trimmed(form, "withdrawn_on") ?? ""
            if let reason = Pages.trimmed(form, "reason") { payload["reason"] = reason }
        case "notice":
            type = "record_termination_notice"
            payload["agency_id"] = viewer.agencyID ?? ""
            payload["received_on"] = Pages.trimmed(form, "received_on") ?? ""
            if let served = Pages.trimmed(form, "served_on") { payload["served_on"] = served }
        case "schedule":
            type = "schedule_review"
            let meeting = Pages.trimmed(form, "meeting_date") ?? ""
            payload["meeting_date"] = meeting
            // As the CLI and the API: an empty date is today in Florida, not after the meeting.
            payload["scheduled_on"] = Pages.trimmed(form, "scheduled_on")
                ?? FloridaDate(iso: meeting).map { ScheduleReview.defaultScheduledOn(meeting: $0, today: FloridaDate(floridaDateOf: Date())).description }
                ?? FloridaDate(floridaDateOf: Date()).description
        case "vote":
            type = "record_board_vote"
            var votes: [String: String] = [:]
            let row = try await data.run(as: page.credential, readOnly: true) { c, _ in (try ReadModels.terminationRequestRow(id, on: c), try Pages.board(c)) }
            guard let request = row.0, let meetingText = request.meetingOn, let meeting = FloridaDate(iso: meetingText) else {
                throw PageError(409, "No meeting to vote at", "This request has no scheduled review visible to your login.",
                                link: .init(href: Labels.requestHref(requestID), text: "Back to the request"))
            }
            payload["meeting_date"] = meetingText
            for seat in BoardSeat.allCases {
                let ballot = form["vote_\(seat.rawValue)"]
                if row.1.member(of: seat, on: meeting) != nil {
                    if let ballot { votes[seat.rawValue] = ballot } else { errors["votes.\(seat.rawValue)"] = "Choose this member's vote." }
                } else if ballot != nil {
                    errors["votes.\(seat.rawValue)"] = "This seat was vacant on \(meetingText): it has no vote."
                }
            }
            payload["votes"] = votes
        default:
            throw PageError(404, "No such action", "Requests accept withdraw, notice, schedule and vote.")
        }
        var state = FormState(action: action, values: form, errors: errors, alert: nil, freshKey: false)
        if !errors.isEmpty {
            return try await requestPage(page, id: requestID, state: state, status: .unprocessableContent)
        }
        let outcome = try await submit(page, type: type, payload: payload, key: try Pages.formKey(form, action))
        switch outcome {
        case .accepted:
            let done = ["withdraw": "withdrawn", "notice": "notice", "schedule": "scheduled", "vote": "voted"][action] ?? "done"
            // Scheduling says which date it recorded (the field may have been left empty).
            let on = (payload["scheduled_on"] as? String).flatMap(FloridaDate.init(iso:)).map { "&on=\($0)" } ?? ""
            return redirect(page, to: Labels.requestHref(requestID) + "?done=" + done + (action == "schedule" ? on : ""))
        case .rejected:
            state.freshKey = true
        default:
            break
        }
        state.errors = Pages.fieldErrors(outcome)
        state.alert = Pages.alert(for: outcome)
        if case .invalid(let rejection) = outcome, let field = rejection.field, !["withdrawn_on", "reason", "received_on", "served_on",
            "meeting_date"].contains(field), !field.hasPrefix("votes.") {
            state.alert = AlertView(heading: "Not accepted (\(rejection.code))", message: rejection.message, source: nil)
        }
        return try await requestPage(page, id: requestID, state: state, status: .unprocessableContent)
    }

    // MARK: Clerk

    func clerkPage(_ page: PageRequest, form: FormValues = [:], errors: [String: String] = [:], alert: AlertView? = nil,
                   freshKey: Bool = true, status: HTTPResponse.Status = .ok) async throws -> Response {
        let viewer = try await requireViewer(page)
        flash(page)
        guard viewer.isClerk, let agency = viewer.agencyID, let agencyID = AgencyID(slug: agency) else {
            throw PageError(403, "For agency clerks", "This page is for agency clerks; your login is \(viewer.roleLabel).",
                            link: .init(href: "/docket", text: "The docket"))
        }
        let (agreements, requests) = try await data.run(as: page.credential, readOnly: true) { c, _ in
            (try ReadModels.agreementStatusRows(agency: agencyID, on: c), try ReadModels.terminationRequestRows(agency: agencyID, on: c))
        }
        let active = agreements.filter { $0.state == "active" }
        var form = form
        if freshKey || form["request_id"].flatMap(UUID.init(uuidString:)) == nil {
            form["request_id"] = UUID().uuidString.lowercased()
        }
        let view = ClerkView(
            agencyName: agreements.first?.agencyName ?? agency,
            requests: requests.map { r in
                .init(href: Labels.requestHref(r.requestID), filedOn: r.filedOn,
                      modelName: AgreementID(r.agreementID)?.model.iceName ?? r.agreementID, state: r.state,
                      stateLabel: Labels.requestState(r.state), decidedOn: r.decidedOn, effectiveOn: r.effectiveOn)
            },
            hasRequests: !requests.isEmpty, alert: alert, canFile: !active.isEmpty, requestID: form["request_id"] ?? "",
            fields: [
                FieldView(.select, "agreement_id", "Agreement to end", form: form, errors: errors,
                          options: [("", "Choose one of your agency's active agreements")]
                            + active.map { ($0.agreementID, "\(Labels.model($0.model)), signed \($0.signedOn)") }),
                FieldView(.textarea, "reason", "Reason", form: form, errors: errors, hint: "Why the agency asks to end the agreement."),
                FieldView(.text, "local_authorization", "Local authorization", form: form, errors: errors,
                          hint: "E.g. the city commission's resolution number, or the sheriff's letter."),
                FieldView(.text, "filed_on", "Date filed", form: form, errors: errors, hint: "YYYY-MM-DD, not after today."),
            ],
            csrf: csrf(page))
        return render(page, status: status, title: "My agency's requests", nav: NavView(clerk: true), template: "clerk", view: view)
    }

    /// POST /clerk/requests: files a termination request for the clerk's own agency.
    func fileRequest(_ page: PageRequest) async throws -> Response {
        let form = try await checkForm(page)
        let viewer = try await requireViewer(page)
        guard viewer.isClerk, let agency = viewer.agencyID else {
            throw PageError(403, "For agency clerks", "Only an agency clerk files termination requests; your login is \(viewer.roleLabel).")
        }
        guard let requestID = form["request_id"].flatMap(UUID.init(uuidString:)) else {
            return try await clerkPage(page, form: form, alert: AlertView(heading: "Please submit the form again", message: "The form was incomplete; reload it and submit again.", source: nil), status: .badRequest)
        }
        var errors: [String: String] = [:]
        let agreementText = Pages.trimmed(form, "agreement_id")
        let agreement = agreementText.flatMap(AgreementID.init)
        if agreement == nil { errors["agreement_id"] = "Choose one of your agency's active agreements." }
        if !errors.isEmpty { return try await clerkPage(page, form: form, errors: errors, freshKey: false, status: .unprocessableContent) }
        let payload: [String: Any] = [
            "request_id": requestID.uuidString.lowercased(), "agency_id": agency, "model": agreement?.model.rawValue ?? "",
            "agreement_id": agreementText ?? "", "reason": Pages.trimmed(form, "reason") ?? "",
            "local_authorization": Pages.trimmed(form, "local_authorization") ?? "", "filed_on": Pages.trimmed(form, "filed_on") ?? "",
        ]
        let outcome = try await submit(page, type: "submit_termination_request", payload: payload,
                                       key: "web:file:\(requestID.uuidString.lowercased())")
        switch outcome {
        case .accepted:
            return redirect(page, to: Labels.requestHref(requestID.uuidString.lowercased()) + "?done=filed")
        case .invalid(let rejection) where rejection.field.map({ ["agreement_id", "reason", "local_authorization", "filed_on"].contains($0) }) == true:
            return try await clerkPage(page, form: form, errors: Pages.fieldErrors(outcome), freshKey: false, status: .unprocessableContent)
        case .rejected:
            return try await clerkPage(page, form: form, alert: Pages.alert(for: outcome), freshKey: true, status: .unprocessableContent)
        case .invalid(let rejection):
            return try await clerkPage(page, form: form, alert: AlertView(heading: "Not accepted (\(rejection.code))", message: rejection.message, source: nil),
                                       freshKey: false, status: .unprocessableContent)
        default:
            return try await clerkPage(page, form: form, alert: Pages.alert(for: outcome), freshKey: false, status: .unprocessableContent)
        }
    }

    // MARK: Board seats

    /// POST /board/seats: fills or vacates a seat (Board staff).
    func seatChange(_ page: PageRequest) async throws -> Response {
        let form = try await checkForm(page)
        _ = try await requireViewer(page)
        var payload: [String: Any] = [
            "seat": Pages.trimmed(form, "seat") ?? "", "effective_on": Pages.trimmed(form, "effective_on") ?? "",
        ]
        let sources = (form["sources"] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        payload["sources"] = sources
        if let note = Pages.trimmed(form, "note") { payload["note"] = note }
        let member = Pages.trimmed(form, "member")
        if let member { payload["member"] = member }
        let outcome = try await submit(page, type: member == nil ? "vacate_board_seat" : "fill_board_seat", payload: payload,
                                       key: try Pages.formKey(form, "seat"))
        if case .accepted = outcome { return redirect(page, to: "/board?done=seat") }
        var alert = Pages.alert(for: outcome)
        if case .invalid(let rejection) = outcome, let field = rejection.field, !["seat", "member", "effective_on", "sources", "note"].contains(field) {
            alert = AlertView(heading: "Not accepted (\(rejection.code))", message: rejection.message, source: nil)
        }
        var values = form
        if case .rejected = outcome { values["form_id"] = nil }
        return try await boardPage(page, form: values, errors: Pages.fieldErrors(outcome), alert: alert, status: .unprocessableContent)
    }

    // MARK: Sign in and out

    func loginPage(_ page: PageRequest, form: FormValues = [:], errors: [String: String] = [:], alert: AlertView? = nil,
                   status: HTTPResponse.Status = .ok) async throws -> Response {
        _ = try await loadViewer(page)
        flash(page)
        let view = LoginView(alert: alert, fields: [
            FieldView(.text, "login", "Login", form: form, errors: errors, autocomplete: "username"),
            FieldView(.password, "password", "Password", form: [:], errors: errors),
        ], csrf: csrf(page))
        return render(page, status: status, title: "Sign in", nav: NavView(login: true), template: "login", view: view)
    }

    /// POST /login: PostgreSQL checks the password (a libpq connection as that login); a
    /// connection let in without a password (trust, peer) proves nothing and is refused.
    func login(_ page: PageRequest) async throws -> Response {
        let form = try await checkForm(page)
        var errors: [String: String] = [:]
        let loginName = Pages.trimmed(form, "login")
        let password = form["password"] ?? ""
        if loginName == nil { errors["login"] = "Enter your login." }
        if let loginName, loginName.utf8.count > 63 { errors["login"] = "A login has at most 63 bytes." }
        if password.isEmpty { errors["password"] = "Enter your password." }
        if password.utf8.count > 1000 { errors["password"] = "A password has at most 1000 bytes." }
        guard errors.isEmpty, let loginName else {
            return try await loginPage(page, form: form, errors: errors, status: .unprocessableContent)
        }
        let refused = AlertView(heading: "Not signed in", message: "The database did not accept this login and password.", source: nil)
        let user: Connection
        do {
            user = try await Connection.connect(ConnectionString.replacingUser(in: data.conninfo, with: loginName, password: password), logger: logger)
        } catch {
            return try await loginPage(page, form: form, alert: refused, status: .unauthorized)
        }
        let token = Tokens.generate()
        let expires = Timestamp(Date().addingTimeInterval(configuration.sessionLifetime))
        do {
            guard await user.usedPassword else {
                await user.close()
                return try await loginPage(page, form: form, alert: AlertView(
                    heading: "Not signed in",
                    message: "The database let this login in without checking a password (trust or peer authentication). Web sessions need password authentication for the server's host in pg_hba.conf.",
                    source: nil), status: .unauthorized)
            }
            _ = try await user.query("SELECT create_session_token($1, $2)", [token, expires.iso8601], name: "create session")
            await user.close()
        } catch let error as PostgresError {
            await user.close()
            let message = SessionRefusal.applies(error) ? SessionRefusal.message(loginName) : error.message
            return try await loginPage(page, form: form, alert: AlertView(heading: "Not signed in", message: message, source: nil),
                                       status: .forbidden)
        }
        page.setCookies.append(PageSupport.setCookie(PageSupport.sessionCookie, token, maxAge: Int(configuration.sessionLifetime),
                                                     secure: configuration.secureCookies))
        // Where to go: the clerk's agency page, Board staff's docket, else the register.
        let viewer = try await data.run(as: .token(token), readOnly: true) { c, principal in try Pages.viewer(c, principal) }
        return redirect(page, to: viewer?.isClerk == true ? "/clerk" : viewer?.isBoard == true ? "/docket" : "/")
    }

    /// POST /logout: revokes the session token and clears its cookie.
    func logout(_ page: PageRequest) async throws -> Response {
        _ = try await checkForm(page)
        if let session = page.session {
            _ = try await data.run(as: .anonymous) { c, _ in try c.query("SELECT revoke_token($1)", [session], name: "revoke token") }
        }
        page.setCookies.append(PageSupport.setCookie(PageSupport.sessionCookie, "", maxAge: 0, secure: configuration.secureCookies))
        return redirect(page, to: "/?done=signed-out")
    }
}
