import Foundation
import Hummingbird

// The public pages: read as `web_anon`, the same for everyone.
extension Pages {
    // MARK: Register

    func registerPage(_ page: PageRequest) async throws -> Response {
        _ = try await loadViewer(page)
        flash(page)
        let (rows, requestCounts) = try await data.run(as: .anonymous, readOnly: true) { c, _ in
            (try ReadModels.agreementStatusRows(on: c),
             try c.query("SELECT state, count(*) FROM termination_requests GROUP BY state", name: "requests by state").rows
                .map { (try $0.decode(0, as: String.self), Int(try $0.decode(1, as: Int64.self))) })
        }
        let latest = rows.compactMap(\.sourceEdition).max() ?? "none"
        let today = FloridaDate(floridaDateOf: Date()).description
        var form: FormValues = [:]
        var errors: [String: String] = [:]
        for name in ["agency", "county", "model", "state", "not_listed"] {
            if let value = page.query(name)?.trimmingCharacters(in: .whitespaces), !value.isEmpty { form[name] = String(value.prefix(200)) }
        }
        let counties = Array(Set(rows.compactMap(\.county))).sorted()
        if let county = form["county"], !counties.contains(county) { errors["county"] = "Choose a county from the list." }
        if let model = form["model"], Model(rawValue: model) == nil { errors["model"] = "Choose TFM, WSO or JEM." }
        if let state = form["state"], AgreementStatus(rawValue: state) == nil { errors["state"] = "Choose a state from the list." }
        if let notListed = form["not_listed"], notListed != "true", notListed != "false" { errors["not_listed"] = "Choose yes or no." }
        let agencyText = errors["agency"] == nil ? form["agency"]?.lowercased() : nil
        let agencySlug = agencyText.map { AgencyID.slug(of: $0) }
        let filtered = rows.filter { row in
            (agencyText == nil || row.agencyName.lowercased().contains(agencyText ?? "") || row.agencyID == agencySlug)
                && (errors["county"] != nil || form["county"] == nil || row.county == form["county"])
                && (errors["model"] != nil || form["model"] == nil || row.model == form["model"])
                && (errors["state"] != nil || form["state"] == nil || row.state == form["state"])
                && (errors["not_listed"] != nil || form["not_listed"] == nil
                    || ((row.sourceEdition != latest) == (form["not_listed"] == "true")))
        }
        let applied = ["agency", "county", "model", "state", "not_listed"].compactMap { name -> String? in
            guard let value = form[name], errors[name] == nil else { return nil }
            switch name {
            case "model": return "model: \(Labels.model(value))"
            case "state": return "state: \(Labels.agreementState(value))"
            case "not_listed": return value == "true" ? "not listed in ICE's latest edition" : "listed in ICE's latest edition"
            default: return "\(name): \(value)"
            }
        }
        let states = AgreementStatus.allCases.map(\.rawValue)
        let view = RegisterView(
            total: rows.count, shown: filtered.count, latestEdition: latest,
            stateCounts: states.map { state in .init(label: Labels.agreementState(state), count: rows.filter { $0.state == state }.count) },
            filters: [
                FieldView(.text, "agency", "Agency", form: form, errors: errors, hint: "Part of its name"),
                FieldView(.select, "county", "County", form: form, errors: errors,
                          options: [("", "Any county")] + counties.map { ($0, $0) }),
                FieldView(.select, "model", "Model", form: form, errors: errors,
                          options: [("", "Any model")] + Model.allCases.map { ($0.rawValue, $0.iceName) }),
                FieldView(.select, "state", "State", form: form, errors: errors,
                          options: [("", "Any state")] + states.map { ($0, Labels.agreementState($0)) }),
                FieldView(.select, "not_listed", "In ICE's latest edition", form: form, errors: errors,
                          options: [("", "Either"), ("false", "Listed"), ("true", "Not listed")]),
            ],
            filterSummary: applied.isEmpty ? nil : applied.joined(separator: "; "),
            rows: filtered.map { row in
                .init(href: Labels.agreementHref(row.agreementID), agencyName: row.agencyName, county: row.county,
                      modelName: Labels.model(row.model), signedOn: row.signedOn, state: row.state,
                      stateLabel: Labels.agreementState(row.state), endedOn: row.endedOn,
                      endWord: (row.endedOn ?? "") <= today ? "ended" : "ends", edition: row.sourceEdition ?? "",
                      notListed: row.sourceEdition != latest)
            },
            hasRows: !filtered.isEmpty,
            charts: [
                ChartView(id: "chart-model", title: "Agreements by model",
                          data: Model.allCases.map { m in (m.iceName, rows.filter { $0.model == m.rawValue }.count) }),
                ChartView(id: "chart-state", title: "Agreements by state",
                          data: states.map { s in (Labels.agreementState(s), rows.filter { $0.state == s }.count) }),
                ChartView(id: "chart-requests", title: "Termination requests by outcome",
                          data: RequestStatus.allCases.map { s in
                              (Labels.requestState(s.rawValue), requestCounts.first { $0.0 == s.rawValue }?.1 ?? 0)
                          }),
            ])
        return render(page, title: "Register", nav: NavView(register: true), template: "register", view: view)
    }

    // MARK: Agreement

    func agreementPage(_ page: PageRequest, id text: String) async throws -> Response {
        _ = try await loadViewer(page)
        guard text.utf8.count <= 300, let id = AgreementID(text) else {
            throw PageError(404, "No such agreement", "“\(text.prefix(100))” is not an agreement id.", link: .init(href: "/", text: "Back to the register"))
        }
        let loaded = try await data.run(as: .anonymous, readOnly: true) { c, _ -> (AgreementStatusRow, [TerminationRequestRow], String, [EventView])? in
            guard let row = try ReadModels.agreementStatusRow(id, on: c) else { return nil }
            let requests = try ReadModels.terminationRequestRows(agency: id.agency, on: c).filter { $0.agreementID == row.agreementID }
            let latest = try c.query("SELECT max(source_edition) FROM agreement_status", name: "latest edition").rows[0]
                .decodeIfPresent(0, as: String.self) ?? ""
            let streams = [StreamName.agreement(id)] + requests.map { "request-\($0.requestID)" }
            let history = try Pages.publicHistory(c, where: "stream_id = ANY($1::text[])", [Pages.textArray(streams)])
            return (row, requests, latest, history)
        }
        guard let (row, requests, latest, history) = loaded else {
            throw PageError(404, "No such agreement", "The record holds no agreement \(id).", link: .init(href: "/", text: "Back to the register"))
        }
        let view = AgreementView(
            id: row.agreementID, agencyName: row.agencyName, agencyType: row.agencyType, county: row.county,
            modelName: Labels.model(row.model), signedOn: row.signedOn, state: row.state, stateLabel: Labels.agreementState(row.state),
            endedOn: row.endedOn,
            mustKeep: row.mustKeep ? "Yes: a sheriff's office or county jail operator must keep an agreement (s. 908.11(1), F.S.)" : "No",
            edition: row.sourceEdition ?? "", notListed: row.sourceEdition != latest, latestEdition: latest,
            moaURL: Labels.safeURL(row.moaURL), openRequestHref: row.openRequestID.map(Labels.requestHref),
            requests: requests.map {
                .init(href: Labels.requestHref($0.requestID), filedOn: $0.filedOn, state: $0.state, stateLabel: Labels.requestState($0.state),
                      decidedOn: $0.decidedOn, effectiveOn: $0.effectiveOn)
            },
            hasRequests: !requests.isEmpty,
            historyCaption: "Events of this agreement and its requests, in log order", history: history)
        return render(page, title: "\(row.agencyName): \(Labels.model(row.model))", template: "agreement", view: view)
    }

    // MARK: Docket

    func docketPage(_ page: PageRequest) async throws -> Response {
        let viewer = try await loadViewer(page)
        flash(page)
        let (rows, head) = try await data.run(as: .anonymous, readOnly: true) { c, _ in
            (try ReadModels.docketRows(on: c), try Pages.head(c).position)
        }
        let view = DocketView(head: head, rows: rows.map {
            .init(agencyName: $0.agencyName, modelName: Labels.model($0.model), filedOn: $0.filedOn, state: $0.state,
                  stateLabel: Labels.requestState($0.state), meetingOn: $0.meetingOn, href: Labels.requestHref($0.requestID),
                  linkText: viewer?.isBoard == true ? "Schedule or record the vote" : "Details")
        }, hasRows: !rows.isEmpty)
        return render(page, title: "Docket", nav: NavView(docket: true), template: "docket", view: view)
    }

    // MARK: Board seats

    func boardPage(_ page: PageRequest, form: FormValues = [:], errors: [String: String] = [:], alert: AlertView? = nil,
                   status: HTTPResponse.Status = .ok) async throws -> Response {
        let viewer = try await loadViewer(page)
        flash(page)
        let board = try await data.run(as: .anonymous, readOnly: true) { c, _ in try Pages.board(c) }
        let today = FloridaDate(floridaDateOf: Date())
        var form = form
        if form["form_id"] == nil || alert != nil { form["form_id"] = UUID().uuidString.lowercased() }
        let view = BoardView(
            today: today.description,
            sitting: BoardSeat.allCases.map { .init(title: $0.title, member: board.member(of: $0, on: today)) },
            seats: BoardSeat.allCases.map { seat in
                .init(title: seat.title, entries: (board.history[seat] ?? []).map { entry in
                    .init(effectiveOn: entry.effectiveOn.description, uncertain: entry.dateUncertain, member: entry.member, note: entry.note,
                          sources: entry.sources.compactMap { s in Labels.safeURL(s).map { .init(href: $0, text: Labels.linkText($0)) } },
                          plainSources: entry.sources.filter { Labels.safeURL($0) == nil })
                })
            },
            form: viewer?.isBoard == true ? .init(alert: alert, fields: [
                FieldView(.select, "seat", "Seat", form: form, errors: errors, options: [("", "Choose a seat")] + BoardSeat.allCases.map { ($0.rawValue, $0.title) }),
                FieldView(.text, "member", "Member", form: form, errors: errors, hint: "Leave empty to record the seat as vacant."),
                FieldView(.text, "effective_on", "Effective on", form: form, errors: errors, hint: "The date the change took effect, YYYY-MM-DD."),
                FieldView(.textarea, "sources", "Sources", form: form, errors: errors, hint: "One URL or citation per line."),
                FieldView(.textarea, "note", "Note", form: form, errors: errors, hint: "Optional."),
            ], formID: form["form_id"] ?? "") : nil,
            csrf: csrf(page))
        return render(page, status: status, title: "Board seats", nav: NavView(board: true), template: "board", view: view)
    }

    /// The Board's seats as the log records them (stream `board`).
    static func board(_ c: isolated Connection) throws -> BoardComposition {
        var board = BoardComposition()
        let rows = try c.query("SELECT event_type, data::text FROM public_events WHERE stream_id = 'board' ORDER BY global_position",
                               name: "board seats").rows
        for row in rows {
            guard let event = try? DomainEvent.decode(type: try row.decode(0), data: Data(try row.decode(1, as: String.self).utf8)) else { continue }
            if case .boardSeatFilled(let e) = event { board.record(e.entry, seat: e.seat, replacing: e.replacesEntryOn) }
            if case .boardSeatVacated(let e) = event { board.record(e.entry, seat: e.seat, replacing: e.replacesEntryOn) }
        }
        return board
    }

    // MARK: Verify

    func verifyPage(_ page: PageRequest) async throws -> Response {
        _ = try await loadViewer(page)
        let view = try await data.run(as: .anonymous, readOnly: true) { c, _ -> VerifyView in
            let head = try Pages.head(c)
            let count: Int64 = try c.query("SELECT count(*) FROM public_events", name: "event count").rows[0].decode(0)
            // Links of the last 1,000 events: each event's prev_hash is the hash before it.
            let broken: Int64 = try c.query(
                """
                SELECT count(*) FROM (
                    SELECT prev_hash, lag(hash) OVER (ORDER BY global_position) AS before, global_position
                    FROM public_events WHERE global_position > $1) t
                WHERE before IS NOT NULL AND prev_hash IS DISTINCT FROM before
                """, [max(0, head.position - 1000)], name: "chain links").rows[0].decode(0)
            let checked = min(head.position, 1000)
            return VerifyView(
                count: count, headPosition: head.position, headHash: head.hash, headRecordedAt: head.recordedAt,
                dense: count == head.position ? "Yes: positions 1 to \(head.position), none missing" : "No: \(count) events for \(head.position) positions",
                linkCheck: broken == 0 ? "The last \(checked) events link to the hash before them" : "\(broken) broken links among the last \(checked) events")
        }
        return render(page, title: "Verify this record", nav: NavView(verify: true), template: "verify", view: view)
    }

    static func head(_ c: isolated Connection) throws -> (position: Int64, hash: String, recordedAt: String) {
        guard let row = try c.query(
            "SELECT global_position, encode(hash, 'hex'), recorded_at FROM public_events ORDER BY global_position DESC LIMIT 1",
            name: "chain head").rows.first else { return (0, "none (the log is empty)", "") }
        return (try row.decode(0), try row.decode(1), try row.decode(2, as: Timestamp.self).iso8601)
    }

    // MARK: History

    /// Events of `public_events` (login names replaced by role and agency), in log order.
    static func publicHistory(_ c: isolated Connection, where condition: String, _ parameters: [any PostgresEncodable]) throws -> [EventView] {
        let rows = try c.query(
            """
            SELECT global_position, stream_id, stream_version, event_type, data::text, metadata::text, occurred_at, recorded_at,
                   encode(prev_hash, 'hex'), encode(hash, 'hex')
            FROM public_events WHERE \(condition) ORDER BY global_position
            """, parameters, name: "public history").rows
        return try rows.map { row in
            let type: String = try row.decode(3)
            let dataText: String = try row.decode(4)
            let event = try? DomainEvent.decode(type: type, data: Data(dataText.utf8))
            let occurred: Timestamp = try row.decode(6)
            let position: Int64 = try row.decode(0)
            let hash: String = try row.decode(9)
            let legal = event.map { $0.occurredOn?.description ?? "—" } ?? FloridaDate(floridaDateOf: occurred.date).description
            var decisionDate = legal
            if case .reviewScheduled(let e) = event { decisionDate = "meeting \(e.meetingDate)" }
            return EventView(
                position: position, previous: position - 1, stream: try row.decode(1), version: try row.decode(2),
                legalDate: legal, type: type,
                summary: event.map { AgencyTimeline.summary(of: $0) } ?? "an event this version cannot read",
                actor: actorLabel(try row.decode(5)), recordedAt: try row.decode(7, as: Timestamp.self).iso8601,
                hash: hash, hashShort: String(hash.prefix(16)), prevHash: try row.decode(8), decisionDate: decisionDate)
        }
    }

    /// Who acted, as the public may know it: the role, and a clerk's agency (never a login).
    static func actorLabel(_ metadata: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(metadata.utf8)) as? [String: Any],
              let actor = object["actor"] as? [String: Any], let role = actor["role"] as? String else { return "not recorded" }
        switch role {
        case "agency_clerk": return "agency clerk" + ((actor["agency_id"] as? String).map { ", \($0)" } ?? "")
        case "board_staff": return "Board staff"
        case "registrar": return "registrar"
        case "workflow_daemon": return "the daemon"
        case "workflow_owner": return "the owner"
        case "auditor": return "auditor"
        case "other": return "an administrator or other login"
        default: return role
        }
    }

    /// A PostgreSQL text[] literal, each element quoted.
    static func textArray(_ values: [String]) -> String {
        "{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            .joined(separator: ",") + "}"
    }
}
