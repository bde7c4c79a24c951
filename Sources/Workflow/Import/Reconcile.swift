import Foundation

/// What importing one ICE edition would do to the register: every row and every live
/// agreement classified, with its evidence, and the commands that apply what is certain.
/// JSON keys are snake_case. Built by `EditionReconciler.reconcile` (pure).
public struct EditionPlan: Sendable, Equatable, Encodable {
    /// A class of row or live agreement (issue 12).
    public enum Kind: String, Sendable, Equatable, Codable, CaseIterable {
        /// Listed as before.
        case unchanged
        /// TYPE, COUNTY or MOA link changed (an empty MOA cell keeps the known link).
        case detailsChanged = "details_changed"
        /// The agency's name changed; same agreement (same model, and same signed date or
        /// MOA file), the old name is gone from the edition. The agency keeps its id.
        case renamed
        /// The same agreement (model, date, MOA file) is now listed under another agency,
        /// while the first holder stays listed for its other agreements.
        case holderChanged = "holder_changed"
        /// ICE corrected SIGNED; the MOA file is the same (or not known on one side).
        case redated
        /// New signed date AND new MOA file: signed again; recorded on the same agreement.
        case resigned
        /// A row the register did not have.
        case new
        /// A live agreement this edition does not list: recorded as "not listed since
        /// EDITION", never a termination.
        case notListed = "not_listed"
        /// An agreement recorded as not listed that this edition lists again.
        case listedAgain = "listed_again"
        /// More than one candidate, or a likely duplicate listing: a registrar decides.
        case ambiguous
        /// The row's own evidence contradicts it, or its name looks like another agency's:
        /// a re-dating whose new SIGNED disagrees with a date in its MOA file name (a likely
        /// ICE error, e.g. Melbourne Beach PD in July 2025), or a name that mixes scripts or
        /// whose slug or look-alike skeleton nearly equals another agency's. Nothing is applied
        /// for the row; a registrar decides.
        case needsReview = "needs_review"

        /// Which class names an item that has several: decisions first, then identity, then details.
        public static let precedence: [Kind] = [.ambiguous, .needsReview, .holderChanged, .renamed, .resigned, .redated, .notListed,
                                                .listedAgain, .new, .detailsChanged, .unchanged]
    }

    /// One non-trivial row or agreement.
    public struct Item: Sendable, Equatable, Codable {
        /// The main class: the first of `classes` in `Kind.precedence`.
        public var kind: Kind
        /// Every class that applies, e.g. renamed and details_changed.
        public var classes: [Kind]
        /// The row's line in the file; nil for an agreement the edition does not list.
        public var line: Int?
        public var agencyName: String
        public var model: Model
        public var signedOn: FloridaDate
        /// The register's agreement, when one matched.
        public var agreementID: AgreementID?
        /// Why, in words: the evidence and the change.
        public var evidence: [String]
        /// True when only a registrar can settle it (nothing is submitted for it).
        public var needsDecision: Bool

        enum CodingKeys: String, CodingKey {
            case kind, classes, line, model, evidence
            case agencyName = "agency_name", signedOn = "signed_on", agreementID = "agreement_id"
            case needsDecision = "needs_decision"
        }
    }

    /// The edition's label, e.g. `2025-07-18`.
    public var edition: String
    /// The newest edition in the register before this one.
    public var latestEdition: String?
    /// Why nothing may be applied (an older edition); nil when the plan can be applied.
    public var refusal: String?
    /// This edition is already the register's newest: nothing to enqueue.
    public var alreadyImported = false
    /// Rows and live agreements by class (a row may count in several, e.g. renamed and details_changed).
    public var counts: [String: Int] = [:]
    /// Live agreements once the plan is applied (listed + not listed).
    public var liveAfter = 0
    /// Every item that is not `unchanged`, rows in line order, then agreements not listed.
    public var items: [Item] = []
    /// The commands that apply what is certain, in submission order (not in the JSON form):
    /// renames, holder changes, re-signings, date corrections, registrations, then `record_edition`.
    public var commands: [DomainCommand] = []

    enum CodingKeys: String, CodingKey {
        case edition, refusal, counts, items
        case latestEdition = "latest_edition", alreadyImported = "already_imported", liveAfter = "live_after"
    }
}

/// Reconciles an edition of ICE's list with the register. Pure: no database, no clock.
///
/// Matching, in order:
/// 1. a row whose name designates an agency of the register (its slug, or an alias left by
///    a rename) that holds a live agreement of the row's model: that agreement;
/// 2. the remaining rows and live agreements of the same model are paired when the MOA
///    file is the same, or the signed date is the same and the MOA files do not differ
///    (both known and different is evidence against). A pair is made only when each side
///    has exactly one candidate; otherwise both are `ambiguous`;
/// 3. a pair whose old agency is no longer listed (and whose new name designates no other
///    agency of the register) is a rename of the agency; otherwise a change of holder;
/// 4. unpaired rows are `new`; unpaired live agreements are `not_listed`, or `ambiguous`
///    when a listed agreement of the same model with a near-identical name (ignoring
///    "City of", "Town of", "Village of") was signed within 31 days of it.
/// Then each matched row is compared with its agreement: SIGNED differs -> `resigned` when
/// both MOA files are known and differ, else `redated`; TYPE, COUNTY or MOA link differs ->
/// `details_changed` (a TYPE or COUNTY column the edition lacks, or an empty MOA cell,
/// keeps the register's value).
/// A row is `needs_review` instead (nothing applied for it) when its name would enter the
/// register as new text and mixes scripts or looks like another agency's name
/// (`NameText.skeleton`, `NameText.differsOnlyByReplacedCharacters`), or when it re-dates
/// its agreement to a SIGNED that disagrees with a date in its own MOA file name
/// (`moaFileDates`); see docs/architecture.md, "Editions".
public enum EditionReconciler {
    /// The plan for `parsed` against `state`.
    /// - Parameters:
    ///   - newestClaimed: the newest edition the database counts for the order of imports
    ///     (`newest_edition()`: recorded, or its `record_edition` still pending), so the plan
    ///     and `claim_edition` agree on "newest edition"; nil to use the log's only.
    ///   - today: Florida's date; an edition dated after it is refused (as `claim_edition`
    ///     refuses it, IE002). Nil skips the check (pure callers without a clock).
    public static func reconcile(_ parsed: IceImport.Parsed, state: RegisterState, newestClaimed: String? = nil,
                                 today: FloridaDate? = nil) -> EditionPlan {
        let label = parsed.report.edition
        let newest = [state.latestEdition, newestClaimed].compactMap { $0 }.max()
        var plan = EditionPlan(edition: label, latestEdition: newest)
        let editionDate = EditionLabel.date(of: label) ?? FloridaDate(iso: "1970-01-01")
        if let today, let editionDate, today < editionDate {
            plan.refusal = "edition \(label) is dated after today in Florida (\(today)): ICE cannot have published it yet, "
                + "so nothing is applied (check --edition or the file name)"
        } else if let latest = newest, EditionLabel.precedes(label, latest) {
            plan.refusal = "edition \(label) is older than \(latest), the newest edition in the register: "
                + "an older edition changes no current fact, so nothing is applied"
        }
        if newest == label { plan.alreadyImported = true }
        guard let editionDate else { return plan }

        let rows = parsed.rows
        var matched: [Int: Agreement] = [:]          // row index -> agreement
        var claimed = Set<AgreementID>()
        // 1. Direct match by agency and model.
        for (index, row) in rows.enumerated() {
            guard let agency = state.agencyID(forName: row.agreement.agencyName),
                  let live = state.liveAgreement(of: agency, model: row.agreement.model),
                  !claimed.contains(live.id) else { continue }
            matched[index] = live
            claimed.insert(live.id)
        }
        let listedAgencies = Set(matched.values.map(\.agencyID))
        let orphans = state.agreements.values.filter { $0.isLive && !claimed.contains($0.id) }.sorted { $0.id < $1.id }
        let unmatched = rows.indices.filter { matched[$0] == nil }

        // 2. Pair the rest.
        func file(_ url: String?) -> String? {
            guard let url, let last = url.split(separator: "/").last, !last.isEmpty else { return nil }
            return last.lowercased()
        }
        func compatible(_ row: RegisterAgreement, _ a: Agreement) -> Bool {
            guard row.model == a.model else { return false }
            let rowFile = file(row.moaURL), agreementFile = file(a.moaURL)
            if let rowFile, let agreementFile { return rowFile == agreementFile }
            return row.signedOn == a.signedOn
        }
        var rowCandidates: [Int: [Agreement]] = [:]
        var orphanCandidates: [AgreementID: [Int]] = [:]
        for index in unmatched {
            for orphan in orphans where compatible(rows[index].agreement, orphan) {
                rowCandidates[index, default: []].append(orphan)
                orphanCandidates[orphan.id, default: []].append(index)
            }
        }
        var pairs: [Int: Agreement] = [:]
        var ambiguousRows: [Int: [Agreement]] = [:]
        var ambiguousOrphans: [AgreementID: [Int]] = [:]
        for index in unmatched {
            guard let candidates = rowCandidates[index] else { continue }
            if candidates.count == 1, orphanCandidates[candidates[0].id]?.count == 1 {
                pairs[index] = candidates[0]
            } else {
                ambiguousRows[index] = candidates
                for candidate in candidates { ambiguousOrphans[candidate.id] = orphanCandidates[candidate.id] }
            }
        }

        // 3. Rename or change of holder.
        var pairTargets: [AgencyID: Set<AgencyID>] = [:]
        for (index, agreement) in pairs {
            if let to = state.agencyID(forName: rows[index].agreement.agencyName) {
                pairTargets[agreement.agencyID, default: []].insert(to)
            }
        }
        var renames: [DomainCommand] = [], holders: [DomainCommand] = [], resigns: [DomainCommand] = []
        var redates: [DomainCommand] = [], registers: [DomainCommand] = []
        var renamedAgencies = Set<AgencyID>()
        var renameClaims: [String: AgencyID] = [:]  // new name's slug -> the agency renamed to it
        var listedAgain: [AgreementID] = []
        var rowItems: [(Int, EditionPlan.Item)] = []

        func item(_ classes: [EditionPlan.Kind], line: Int?, _ name: String, _ model: Model, _ signed: FloridaDate,
                  _ id: AgreementID?, _ evidence: [String], decide: Bool = false) -> EditionPlan.Item {
            let ordered = EditionPlan.Kind.precedence.filter { classes.contains($0) }
            let kind = EditionPlan.Kind.precedence.first { classes.contains($0) } ?? .unchanged
            return EditionPlan.Item(kind: kind, classes: ordered, line: line, agencyName: name, model: model, signedOn: signed,
                                    agreementID: id, evidence: evidence, needsDecision: decide)
        }

        // Names that would enter the register as new text are checked for look-alikes.
        var skeletons: [String: Set<String>] = [:]   // skeleton -> slugs (register and this edition)
        var slugsByLength: [Int: Set<String>] = [:]
        for slug in state.agencies.keys.map(\.slug) + rows.map({ AgencyID.slug(of: $0.agreement.agencyName) }) {
            slugsByLength[slug.utf8.count, default: []].insert(slug)
        }
        for name in state.agencies.values.map(\.name) + rows.map(\.agreement.agencyName) {
            skeletons[NameText.skeleton(of: name), default: []].insert(AgencyID.slug(of: name))
        }
        func nameConcerns(_ name: String) -> [String] {
            if let id = state.agencyID(forName: name), state.agencies[id]?.name == name { return [] }  // known as is
            var concerns: [String] = []
            if NameText.mixesScripts(name) {
                let foreign = name.unicodeScalars.filter { $0.properties.isAlphabetic && !$0.isASCII }
                    .map { "\($0) (\(NameText.codePoint($0)))" }
                concerns.append("the name mixes ASCII letters with letters outside ASCII: " + foreign.prefix(5).joined(separator: ", ")
                    + "; ICE's Florida names are ASCII, so it may be a look-alike of another name")
            }
            let slug = AgencyID.slug(of: name)
            let skeleton = NameText.skeleton(of: name)
            // Only the name that holds look-alikes (its skeleton is not its slug) is suspect.
            let alike = (skeleton == slug ? [] : (skeletons[skeleton] ?? []).subtracting([slug]))
                .union((slugsByLength[slug.utf8.count] ?? []).filter { NameText.differsOnlyByReplacedCharacters(slug, $0) })
            if !alike.isEmpty {
                concerns.append("its slug \(slug) looks like " + alike.sorted().prefix(3).joined(separator: ", ")
                    + " (the same letters but for look-alike or replaced characters): not silently a new agency")
            }
            return concerns
        }
        var reviewRows = Set<Int>()

        for (index, entry) in rows.enumerated() {
            let row = entry.agreement
            let concerns = nameConcerns(row.agencyName)
            if !concerns.isEmpty {
                reviewRows.insert(index)
                let target = matched[index] ?? pairs[index]
                rowItems.append((index, item([.needsReview], line: entry.line, row.agencyName, row.model, row.signedOn, target?.id,
                    concerns + ["nothing is applied for this row: if the name is right, rename the agency (`sbie agency rename`) "
                        + "or register it; otherwise ask ICE to correct its list"], decide: true)))
                continue
            }
            if let agreement = matched[index] ?? pairs[index], row.signedOn != agreement.signedOn {
                let url = row.moaURL ?? agreement.moaURL
                let fileDates = moaFileDates(url)
                if !fileDates.isEmpty, !fileDates.contains(row.signedOn) {
                    reviewRows.insert(index)
                    let agrees = fileDates.contains(agreement.signedOn) ? ", which agrees with the register's \(agreement.signedOn)" : ""
                    rowItems.append((index, item([.needsReview], line: entry.line, row.agencyName, row.model, row.signedOn, agreement.id,
                        ["SIGNED \(agreement.signedOn) -> \(row.signedOn), but its own MOA file \(file(url) ?? "?") is dated "
                            + fileDates.map(\.description).joined(separator: " or ") + agrees
                            + ": the row contradicts itself, likely an ICE error; nothing is applied for this row "
                            + "(if ICE's new date is right: `sbie agreement correct-date \(agreement.id) --signed \(row.signedOn) --edition \(label)`)"],
                        decide: true)))
                    continue
                }
            }
            if let candidates = ambiguousRows[index] {
                rowItems.append((index, item([.ambiguous], line: entry.line, row.agencyName, row.model, row.signedOn, nil,
                    ["\(candidates.count) agreement(s) of the register could be this row: "
                        + candidates.map { "\($0.id) (\(state.agencies[$0.agencyID]?.name ?? $0.agencyID.slug))" }.joined(separator: ", ")
                        + "; nothing is applied for it: rename the agency (`sbie agency rename`), or register it"],
                    decide: true)))
                continue
            }
            if matched[index] == nil, pairs[index] == nil, let agency = state.agencyID(forName: row.agencyName),
               let ended = state.agreements(of: agency).last(where: {
                   $0.model == row.model && $0.status == .terminated && row.signedOn <= ($0.terminatedOn ?? row.signedOn)
               }) {
                // ICE's list lags behind terminations: never re-register an ended agreement by import.
                ambiguousRows[index] = [ended]
                rowItems.append((index, item([.ambiguous], line: entry.line, row.agencyName, row.model, row.signedOn, ended.id,
                    ["the register records \(ended.id) as terminated on \(ended.terminatedOn?.description ?? "?"); "
                        + "ICE still lists it (signed \(row.signedOn), before the end). Nothing is applied; a row signed after the end is a new agreement"],
                    decide: true)))
                continue
            }
            guard let agreement = matched[index] ?? pairs[index] else {
                var evidence = ["no agreement of the register has this agency and model, or its model with the same signed date or MOA file"]
                if let rowFile = file(row.moaURL) {
                    let others = rows.enumerated().filter { $0.offset != index && file($0.element.agreement.moaURL) == rowFile }
                    for other in others {
                        evidence.append("its MOA file \(rowFile) is also the file of line \(other.element.line) "
                            + "(\(other.element.agreement.agencyName), \(other.element.agreement.model.rawValue) "
                            + "\(other.element.agreement.signedOn)): possibly an ICE hyperlink error")
                    }
                }
                registers.append(.registerAgreement(row))
                rowItems.append((index, item([.new], line: entry.line, row.agencyName, row.model, row.signedOn, nil, evidence)))
                continue
            }
            var classes: [EditionPlan.Kind] = []
            var evidence: [String] = []
            let currentName = state.agencies[agreement.agencyID]?.name ?? agreement.agencyID.slug
            let rowAgency = state.agencyID(forName: row.agencyName)
            if pairs[index] != nil {
                let fromListed = listedAgencies.contains(agreement.agencyID)
                let targets = pairTargets[agreement.agencyID] ?? []
                let toExisting = rowAgency.map { state.agencies[$0] != nil } ?? false
                let why = [file(row.moaURL).map { "same MOA file \($0)" }, row.signedOn == agreement.signedOn ? "same signed date \(row.signedOn)" : nil]
                    .compactMap { $0 }.joined(separator: ", ")
                let slug = AgencyID.slug(of: row.agencyName)
                let free = renameClaims[slug].map { $0 == agreement.agencyID } ?? true
                if !fromListed && !toExisting && targets.count == 1 && free {
                    renameClaims[slug] = agreement.agencyID
                    classes.append(.renamed)
                    evidence.append("\"\(currentName)\" -> \"\(row.agencyName)\": same \(row.model.rawValue) agreement (\(why)); "
                        + "\"\(currentName)\" is no longer listed; the agency keeps its id \(agreement.agencyID)")
                    if renamedAgencies.insert(agreement.agencyID).inserted {
                        renames.append(.renameAgency(RenameAgency(agencyID: agreement.agencyID, newName: row.agencyName,
                                                                  sourceEdition: label)))
                    }
                } else {
                    classes.append(.holderChanged)
                    evidence.append("\(agreement.id) moves from \"\(currentName)\" to \"\(row.agencyName)\" (\(why))"
                        + (fromListed ? "; \"\(currentName)\" stays listed for its other agreement(s)" : ""))
                    holders.append(.changeAgreementHolder(ChangeAgreementHolder(
                        agreementID: agreement.id, agencyName: row.agencyName, edition: editionDate, sourceEdition: label,
                        note: "same \(row.model.rawValue) agreement listed under another agency in ICE's edition \(label)")))
                }
            } else if currentName != row.agencyName {
                classes.append(.renamed)
                evidence.append("\"\(currentName)\" -> \"\(row.agencyName)\" (the same agency id \(agreement.agencyID))")
                if renamedAgencies.insert(agreement.agencyID).inserted {
                    renames.append(.renameAgency(RenameAgency(agencyID: agreement.agencyID, newName: row.agencyName,
                                                              sourceEdition: label)))
                }
            }
            var moaURL = row.moaURL ?? agreement.moaURL
            if row.signedOn != agreement.signedOn {
                if let rowURL = row.moaURL, let rowFile = file(rowURL), let oldFile = file(agreement.moaURL), rowFile != oldFile {
                    classes.append(.resigned)
                    evidence.append("signed \(agreement.signedOn) -> \(row.signedOn) with a new MOA file (\(oldFile) -> \(rowFile)): re-signed")
                    resigns.append(.recordResignedAgreement(RecordResignedAgreement(
                        agreementID: agreement.id, signedOn: row.signedOn, moaURL: rowURL, edition: editionDate, sourceEdition: label)))
                    moaURL = rowURL
                } else {
                    classes.append(.redated)
                    let same = file(row.moaURL).flatMap { $0 == file(agreement.moaURL) ? $0 : nil }
                    evidence.append("SIGNED \(agreement.signedOn) -> \(row.signedOn)"
                        + (same.map { " (same MOA file \($0)): ICE corrected the date" }
                            ?? " (no second MOA file to compare: a correction, not a new signature)"))
                    redates.append(.correctSignedDate(CorrectSignedDate(
                        agreementID: agreement.id, signedOn: row.signedOn, sourceEdition: label,
                        note: "re-dated in ICE's edition \(label)")))
                }
            }
            let type = parsed.hasTypeColumn && row.agencyType != .unknown ? row.agencyType : agreement.agencyType
            let county = parsed.hasCountyColumn ? row.county : agreement.county
            var changed: [String] = []
            if type != agreement.agencyType { changed.append("TYPE \(agreement.agencyType.rawValue) -> \(type.rawValue)") }
            if county != agreement.county { changed.append("COUNTY \(agreement.county ?? "none") -> \(county ?? "none")") }
            if moaURL != agreement.moaURL, !classes.contains(.resigned) {
                changed.append("MOA \(file(agreement.moaURL) ?? "pending") -> \(file(moaURL) ?? "pending")")
            }
            if !changed.isEmpty {
                classes.append(.detailsChanged)
                evidence.append(changed.joined(separator: "; "))
            }
            if !changed.isEmpty {
                var details = row
                details.agencyType = type
                details.county = county
                details.moaURL = moaURL
                registers.append(.registerAgreement(details))
            }
            if let since = agreement.notListedSince {
                classes.append(.listedAgain)
                evidence.append("not listed since \(since); listed again")
                listedAgain.append(agreement.id)
            }
            if classes.isEmpty { classes = [.unchanged] }
            rowItems.append((index, item(classes, line: entry.line, row.agencyName, row.model, row.signedOn, agreement.id, evidence)))
        }

        // 4. Live agreements no row matched.
        let paired = Set(pairs.values.map(\.id))
        let listedIDs = Set(matched.values.map(\.id)).union(paired)
        var notListed: [AgreementID] = []
        var agreementItems: [EditionPlan.Item] = []
        for orphan in orphans where !paired.contains(orphan.id) {
            let name = state.agencies[orphan.agencyID]?.name ?? orphan.agencyID.slug
            notListed.append(orphan.id)
            let since = orphan.notListedSince.map { "not listed since \($0)" } ?? "not listed since \(label)"
            if let rowsFor = ambiguousOrphans[orphan.id] {
                agreementItems.append(item([.ambiguous, .notListed], line: nil, name, orphan.model, orphan.signedOn, orphan.id,
                    ["\(since); \(rowsFor.count) row(s) could list it: lines "
                        + rowsFor.map { String(rows[$0].line) }.joined(separator: ", ")], decide: true))
                continue
            }
            let core = coreName(name)
            let twin = state.agreements.values.filter {
                listedIDs.contains($0.id) && $0.model == orphan.model && $0.agencyID != orphan.agencyID
                    && coreName(state.agencies[$0.agencyID]?.name ?? "") == core
                    && abs($0.signedOn.days(since: orphan.signedOn)) <= 31
            }.sorted { $0.id < $1.id }
            if let twin = twin.first {
                agreementItems.append(item([.ambiguous, .notListed], line: nil, name, orphan.model, orphan.signedOn, orphan.id,
                    ["\(since); probably a duplicate listing of \(twin.id) (\"\(state.agencies[twin.agencyID]?.name ?? "")\", "
                        + "signed \(twin.signedOn), listed): `sbie agreement mark-duplicate \(orphan.id) --of \(twin.id)`"],
                    decide: true))
            } else {
                agreementItems.append(item([.notListed], line: nil, name, orphan.model, orphan.signedOn, orphan.id,
                    ["\(since): not a termination; shown until it reappears"]))
            }
        }

        let trivial = rowItems.filter { $0.1.kind == .unchanged }.count
        plan.counts[EditionPlan.Kind.unchanged.rawValue] = trivial
        for entry in rowItems.map(\.1) + agreementItems {
            for kind in entry.classes where kind != .unchanged { plan.counts[kind.rawValue, default: 0] += 1 }
        }
        plan.items = rowItems.sorted { $0.0 < $1.0 }.map(\.1).filter { $0.kind != .unchanged } + agreementItems
        plan.liveAfter = rows.indices.filter {
            ambiguousRows[$0] == nil && !(reviewRows.contains($0) && matched[$0] == nil && pairs[$0] == nil)
        }.count + notListed.count
        if plan.refusal == nil, !plan.alreadyImported {
            plan.commands = renames + holders + resigns + redates + registers + [.recordEdition(RecordEdition(
                edition: editionDate, sourceEdition: label, rows: parsed.report.rowsRead, notListed: notListed,
                listedAgain: listedAgain))]
        }
        return plan
    }

    /// The dates written in an MOA URL's file name, e.g. `…_MOA_05132025.pdf` (MMDDYYYY),
    /// `…_MOA_042925.pdf` (MMDDYY), `…_02.26.2025.pdf` (M.D.YYYY, also with `-` or `_`),
    /// `…_2025-05-13.pdf` or `…20250513…` (year first). Only real dates of the years 2000-2099
    /// count; an eight-digit run read both ways gives every real date it can be. Empty when
    /// the name holds none (or there is no URL).
    public static func moaFileDates(_ url: String?) -> [FloridaDate] {
        guard let url, var name = url.split(separator: "/").last.map(String.init) else { return [] }
        if let dot = name.lastIndex(of: "."), name[name.index(after: dot)...].allSatisfy(\.isLetter) {
            name = String(name[..<dot])
        }
        return datesInFileName(name)
    }

    /// `moaFileDates` on a file name without its extension.
    static func datesInFileName(_ name: String) -> [FloridaDate] {
        // Tokens: digit runs and the single separator between consecutive runs (nil when not one of . - _).
        var tokens: [(value: [Int], joinedToPrevious: Bool)] = []
        var digits: [Int] = []
        var between: [Character] = []
        for character in name + " " {
            if character.isASCII, let digit = character.wholeNumberValue {
                if digits.isEmpty {
                    // A new run: joined to the previous run when exactly one separator lies between.
                    let joined = !tokens.isEmpty && between.count == 1 && ".-_".contains(between[0])
                    tokens.append(([], joined))
                    between = []
                }
                digits.append(digit)
            } else {
                if !digits.isEmpty {
                    tokens[tokens.count - 1].value = digits
                    digits = []
                }
                between.append(character)
            }
        }
        func number(_ d: ArraySlice<Int>) -> Int { d.reduce(0) { $0 * 10 + $1 } }
        func date(_ y: Int, _ m: Int, _ d: Int) -> FloridaDate? {
            (2000...2099).contains(y) ? FloridaDate(year: y, month: m, day: d) : nil
        }
        var found: [FloridaDate] = []
        func add(_ date: FloridaDate?) { if let date, !found.contains(date) { found.append(date) } }
        var index = 0
        while index < tokens.count {
            let run = tokens[index].value
            if index + 2 < tokens.count, tokens[index + 1].joinedToPrevious, tokens[index + 2].joinedToPrevious {
                let (a, b, c) = (run, tokens[index + 1].value, tokens[index + 2].value)
                if (1...2).contains(a.count), (1...2).contains(b.count), c.count == 4 || c.count == 2 {
                    add(date(c.count == 2 ? 2000 + number(c[...]) : number(c[...]), number(a[...]), number(b[...])))
                    index += 3
                    continue
                }
                if a.count == 4, (1...2).contains(b.count), (1...2).contains(c.count) {
                    add(date(number(a[...]), number(b[...]), number(c[...])))
                    index += 3
                    continue
                }
            }
            if run.count == 8 {
                add(date(number(run[4..<8]), number(run[0..<2]), number(run[2..<4])))
                add(date(number(run[0..<4]), number(run[4..<6]), number(run[6..<8])))
            } else if run.count == 6 {
                add(date(2000 + number(run[4..<6]), number(run[0..<2]), number(run[2..<4])))
            }
            index += 1
        }
        return found
    }

    /// A name without the words that ICE adds or drops between editions ("City of",
    /// "Town of", "Village of", "The"), for spotting duplicate listings.
    static func coreName(_ name: String) -> String {
        var words = AgencyID.slug(of: name).split(separator: "-").map(String.init)
        while words.count > 2, ["city", "town", "village"].contains(words[0]), words[1] == "of" { words.removeFirst(2) }
        if words.first == "the" { words.removeFirst() }
        return words.joined(separator: "-")
    }
}
