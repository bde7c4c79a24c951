import Foundation

// ICE's list, edition after edition (issue 12): the registrar's commands and the events
// that keep one live agreement per real agreement while ICE renames, re-dates, re-signs,
// moves and drops rows. Every command here carries `edition`, the ISO date of ICE's
// edition it comes from, which is also its events' legal date (`DomainEvent.occurredOn`).

// MARK: - Edition labels

/// ICE's edition labels: `YYYY-MM-DD`, optionally followed by `am` or `pm` (ICE publishes
/// twice some days). Labels order as text: `2025-07-18` < `2025-07-18am` < `2025-07-18pm`
/// < `2025-07-19`, which is the publication order.
public enum EditionLabel {
    /// Whether `label` is a real date, optionally followed by `am` or `pm`.
    public static func isValid(_ label: String) -> Bool {
        var date = label
        if date.hasSuffix("am") || date.hasSuffix("pm") { date.removeLast(2) }
        return date.count == 10 && FloridaDate(iso: date) != nil
    }

    /// The edition's Florida date (the label without `am`/`pm`); nil when invalid.
    public static func date(of label: String) -> FloridaDate? {
        isValid(label) ? FloridaDate(iso: String(label.prefix(10))) : nil
    }

    /// True when edition `a` was published before edition `b`.
    public static func precedes(_ a: String, _ b: String) -> Bool { a < b }
}

// MARK: - Command payloads

/// `record_edition`: closes the import of one ICE edition. Registrar.
///
/// Refused (`edition_out_of_order`) when the register already holds a later edition: an
/// older edition changes no current fact. The same edition again appends nothing.
/// The lists come from the reconciliation (`EditionReconciler`) and are re-checked
/// against the register when decided: an id no longer live is passed over.
public struct RecordEdition: Sendable, Hashable {
    /// `edition`: the edition's ISO date, `YYYY-MM-DD` (its events' legal date).
    public var edition: FloridaDate
    /// `source_edition`: ICE's label, `YYYY-MM-DD` optionally `am`/`pm`; must start with `edition`.
    public var sourceEdition: String
    /// `rows`: optional, Florida rows the edition lists (for the record; default 0).
    public var rows: Int
    /// `not_listed`: live agreements this edition does not list (at most
    /// `DomainCommand.maxEditionListItems` ids, and the payload at most 64 KiB).
    public var notListed: [AgreementID]
    /// `listed_again`: agreements recorded as not listed that this edition lists again.
    public var listedAgain: [AgreementID]

    public init(edition: FloridaDate, sourceEdition: String, rows: Int, notListed: [AgreementID] = [],
                listedAgain: [AgreementID] = []) {
        self.edition = edition
        self.sourceEdition = sourceEdition
        self.rows = rows
        self.notListed = notListed
        self.listedAgain = listedAgain
    }
}

/// `change_agreement_holder`: the same agreement (same model, signed date, MOA file) is
/// now held by another agency, e.g. Escambia's WSO agreement moving from the sheriff's
/// office to the Board of County Commissioners, which runs the jail. Not a rename: the
/// first holder keeps its name and its other agreements. Registrar.
public struct ChangeAgreementHolder: Sendable, Hashable {
    /// `agreement_id`
    public var agreementID: AgreementID
    /// `agency_name`: the new holder as ICE prints it (<= 500 chars); an agency the register
    /// does not know yet is created under this name.
    public var agencyName: String
    /// `edition`: ISO date of the edition that shows the move.
    public var edition: FloridaDate
    /// `source_edition`: optional ICE label.
    public var sourceEdition: String?
    /// `note`: optional (<= 4000 chars).
    public var note: String?

    public init(agreementID: AgreementID, agencyName: String, edition: FloridaDate, sourceEdition: String? = nil,
                note: String? = nil) {
        self.agreementID = agreementID
        self.agencyName = agencyName
        self.edition = edition
        self.sourceEdition = sourceEdition
        self.note = note
    }
}

/// `record_resigned_agreement`: ICE lists the agreement with a new signed date AND a new MOA
/// file: the parties signed again. The same agreement (its id keeps the first date), not a
/// correction of a typo (docs/architecture.md, "Editions"). Registrar.
public struct RecordResignedAgreement: Sendable, Hashable {
    /// `agreement_id`
    public var agreementID: AgreementID
    /// `signed_on`: the new countersignature date.
    public var signedOn: FloridaDate
    /// `moa_url`: the new MOA file (<= 2000 chars).
    public var moaURL: String
    /// `edition`: ISO date of the edition that shows it.
    public var edition: FloridaDate
    /// `source_edition`: optional ICE label.
    public var sourceEdition: String?

    public init(agreementID: AgreementID, signedOn: FloridaDate, moaURL: String, edition: FloridaDate,
                sourceEdition: String? = nil) {
        self.agreementID = agreementID
        self.signedOn = signedOn
        self.moaURL = moaURL
        self.edition = edition
        self.sourceEdition = sourceEdition
    }
}

/// `mark_duplicate_agreement`: the registrar's decision that `agreement_id` is a second
/// listing of `duplicate_of` (e.g. ICE's "City of St. Cloud Police Department" TFM
/// 2025-04-15 beside "St. Cloud Police Department" TFM 2025-04-14). The duplicate stops
/// being live (state `duplicate`); nothing is terminated. Registrar.
public struct MarkDuplicateAgreement: Sendable, Hashable {
    /// `agreement_id`: the duplicate.
    public var agreementID: AgreementID
    /// `duplicate_of`: the agreement it repeats (same model, live).
    public var duplicateOf: AgreementID
    /// `edition`: ISO date of the edition the decision rests on.
    public var edition: FloridaDate
    /// `note`: optional (<= 4000 chars).
    public var note: String?

    public init(agreementID: AgreementID, duplicateOf: AgreementID, edition: FloridaDate, note: String? = nil) {
        self.agreementID = agreementID
        self.duplicateOf = duplicateOf
        self.edition = edition
        self.note = note
    }
}

// MARK: - Events

/// `EditionRecorded` (stream `editions`): the register follows this edition of ICE's list
/// from now on; an older one is refused.
public struct EditionRecorded: Sendable, Hashable, Codable {
    public var edition: FloridaDate
    public var sourceEdition: String
    public var rows: Int
    enum CodingKeys: String, CodingKey { case edition, sourceEdition = "source_edition", rows }
}

/// `AgreementNotListed` (stream `agreement-<id>`): the edition does not list this live
/// agreement. Never a termination (ICE drops rows by mistake); shown as "not listed since
/// EDITION" until it reappears.
public struct AgreementNotListed: Sendable, Hashable, Codable {
    public var agreementID: AgreementID
    public var edition: FloridaDate
    public var sourceEdition: String
    enum CodingKeys: String, CodingKey { case agreementID = "agreement_id", edition, sourceEdition = "source_edition" }
}

/// `AgreementListedAgain` (stream `agreement-<id>`): a not-listed agreement reappears.
public struct AgreementListedAgain: Sendable, Hashable, Codable {
    public var agreementID: AgreementID
    public var notListedSince: String
    public var edition: FloridaDate
    public var sourceEdition: String
    enum CodingKeys: String, CodingKey {
        case agreementID = "agreement_id", notListedSince = "not_listed_since", edition, sourceEdition = "source_edition"
    }
}

/// `AgreementHolderChanged` (stream `agreement-<id>`): the agreement moved to another agency.
public struct AgreementHolderChanged: Sendable, Hashable, Codable {
    public var agreementID: AgreementID
    public var fromAgencyID: AgencyID
    public var toAgencyID: AgencyID
    /// The new holder's name as ICE prints it (names the agency when it is new to the register).
    public var toAgencyName: String
    public var edition: FloridaDate
    public var sourceEdition: String?
    public var note: String?
    enum CodingKeys: String, CodingKey {
        case agreementID = "agreement_id", fromAgencyID = "from_agency_id", toAgencyID = "to_agency_id"
        case toAgencyName = "to_agency_name", edition, sourceEdition = "source_edition", note
    }
}

/// `AgreementResigned` (stream `agreement-<id>`): signed again, with a new MOA file.
public struct AgreementResigned: Sendable, Hashable, Codable {
    public var agreementID: AgreementID
    public var oldSignedOn: FloridaDate
    public var signedOn: FloridaDate
    public var oldMoaURL: String?
    public var moaURL: String
    public var edition: FloridaDate
    public var sourceEdition: String?
    enum CodingKeys: String, CodingKey {
        case agreementID = "agreement_id", oldSignedOn = "old_signed_on", signedOn = "signed_on"
        case oldMoaURL = "old_moa_url", moaURL = "moa_url", edition, sourceEdition = "source_edition"
    }
}

/// `AgreementMarkedDuplicate` (stream `agreement-<id>`): no longer live; see `MarkDuplicateAgreement`.
public struct AgreementMarkedDuplicate: Sendable, Hashable, Codable {
    public var agreementID: AgreementID
    public var duplicateOf: AgreementID
    public var edition: FloridaDate
    public var note: String?
    enum CodingKeys: String, CodingKey { case agreementID = "agreement_id", duplicateOf = "duplicate_of", edition, note }
}

// MARK: - Decide

enum EditionRules {
    static let order = "edition order (an edition older than the newest imported changes no current fact)"

    /// Refuses a command from an edition older than the register's newest.
    static func notOlder(_ label: String?, date: FloridaDate, state: RegisterState, field: String) throws(Rejection) {
        guard let latest = state.latestEdition else { return }
        let older = label.map { EditionLabel.precedes($0, latest) } ?? (date < (EditionLabel.date(of: latest) ?? date))
        if older {
            throw Rejection(.editionOutOfOrder,
                            "\(order): edition \(label ?? date.description) is older than \(latest), the newest in the register",
                            field: field)
        }
    }

    static func notFuture(_ date: FloridaDate, today: FloridaDate, field: String) throws(Rejection) {
        guard date <= today else {
            throw Rejection(.dateInFuture, "\(RecordRule.noFutureDates.citation): \(field) \(date) is after today (\(today))", field: field)
        }
    }

    static func live(_ id: AgreementID, _ state: RegisterState, field: String) throws(Rejection) -> Agreement {
        guard let agreement = state.agreements[id] else {
            throw Rejection(.agreementNotFound, "no agreement \(id) in the register", field: field)
        }
        guard agreement.isLive else {
            throw Rejection(.agreementNotActive, "agreement \(id) is \(agreement.status.rawValue), not live", field: field)
        }
        return agreement
    }

    static func recordEdition(_ p: RecordEdition, state: RegisterState, today: FloridaDate) throws(Rejection) -> Decision {
        guard EditionLabel.date(of: p.sourceEdition) == p.edition else {
            throw Rejection(.invalidFieldValue, "source_edition '\(p.sourceEdition)' is not the edition \(p.edition) (YYYY-MM-DD, optionally am or pm)",
                            field: "source_edition")
        }
        try notFuture(p.edition, today: today, field: "edition")
        try notOlder(p.sourceEdition, date: p.edition, state: state, field: "edition")
        // Not-listed first, so the edition's EditionRecorded (last) bumps only listed agreements' latest edition.
        var events: [(stream: String, event: DomainEvent)] = []
        for id in Set(p.notListed).sorted() {
            guard let a = state.agreements[id], a.isLive, a.notListedSince == nil else { continue }
            events.append((StreamName.agreement(id), .agreementNotListed(AgreementNotListed(
                agreementID: id, edition: p.edition, sourceEdition: p.sourceEdition))))
        }
        for id in Set(p.listedAgain).sorted() {
            guard let a = state.agreements[id], let since = a.notListedSince else { continue }
            events.append((StreamName.agreement(id), .agreementListedAgain(AgreementListedAgain(
                agreementID: id, notListedSince: since, edition: p.edition, sourceEdition: p.sourceEdition))))
        }
        if state.latestEdition != p.sourceEdition {
            events.append((StreamName.editions, .editionRecorded(EditionRecorded(
                edition: p.edition, sourceEdition: p.sourceEdition, rows: p.rows))))
        }
        return Decision(events: events)
    }

    static func changeHolder(_ p: ChangeAgreementHolder, state: RegisterState, today: FloridaDate) throws(Rejection) -> Decision {
        try notFuture(p.edition, today: today, field: "edition")
        try notOlder(p.sourceEdition, date: p.edition, state: state, field: "edition")
        let agreement = try live(p.agreementID, state, field: "agreement_id")
        guard let to = state.agencyID(forName: p.agencyName) else {
            throw Rejection(.invalidFieldValue, "agency_name has no letter or digit", field: "agency_name")
        }
        guard to != agreement.agencyID else { return Decision() }
        if let other = state.liveAgreement(of: to, model: agreement.model) {
            throw Rejection(.agreementExists,
                            "\(to) already holds a live \(agreement.model.iceName) agreement (\(other.id)); mark one a duplicate instead",
                            field: "agency_name")
        }
        guard agreement.currentRequest == nil else {
            throw Rejection(.agreementNotActive, "agreement \(agreement.id) has an open termination request; its holder cannot change",
                            field: "agreement_id")
        }
        return Decision(events: [(StreamName.agreement(agreement.id), .agreementHolderChanged(AgreementHolderChanged(
            agreementID: agreement.id, fromAgencyID: agreement.agencyID, toAgencyID: to,
            toAgencyName: state.agencies[to]?.name ?? p.agencyName, edition: p.edition, sourceEdition: p.sourceEdition,
            note: p.note)))])
    }

    static func resign(_ p: RecordResignedAgreement, state: RegisterState, today: FloridaDate) throws(Rejection) -> Decision {
        try notFuture(p.edition, today: today, field: "edition")
        try notFuture(p.signedOn, today: today, field: "signed_on")
        try notOlder(p.sourceEdition, date: p.edition, state: state, field: "edition")
        let agreement = try live(p.agreementID, state, field: "agreement_id")
        guard agreement.signedOn != p.signedOn || agreement.moaURL != p.moaURL else { return Decision() }
        return Decision(events: [(StreamName.agreement(agreement.id), .agreementResigned(AgreementResigned(
            agreementID: agreement.id, oldSignedOn: agreement.signedOn, signedOn: p.signedOn, oldMoaURL: agreement.moaURL,
            moaURL: p.moaURL, edition: p.edition, sourceEdition: p.sourceEdition)))])
    }

    static func markDuplicate(_ p: MarkDuplicateAgreement, state: RegisterState, today: FloridaDate) throws(Rejection) -> Decision {
        try notFuture(p.edition, today: today, field: "edition")
        if let a = state.agreements[p.agreementID], a.status == .duplicate, a.duplicateOf == p.duplicateOf { return Decision() }
        let duplicate = try live(p.agreementID, state, field: "agreement_id")
        let kept = try live(p.duplicateOf, state, field: "duplicate_of")
        guard duplicate.id != kept.id else {
            throw Rejection(.invalidFieldValue, "an agreement cannot duplicate itself", field: "duplicate_of")
        }
        guard duplicate.model == kept.model else {
            throw Rejection(.invalidFieldValue,
                            "\(duplicate.id) is \(duplicate.model.iceName), \(kept.id) is \(kept.model.iceName): not the same agreement",
                            field: "duplicate_of")
        }
        guard duplicate.currentRequest == nil else {
            throw Rejection(.agreementNotActive, "agreement \(duplicate.id) has an open termination request", field: "agreement_id")
        }
        return Decision(events: [(StreamName.agreement(duplicate.id), .agreementMarkedDuplicate(AgreementMarkedDuplicate(
            agreementID: duplicate.id, duplicateOf: kept.id, edition: p.edition, note: p.note)))])
    }
}
