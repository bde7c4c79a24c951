import ArgumentParser
import Foundation
import Workflow

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import ICE's list of 287(g) participating agencies (CSV) into the register.",
        discussion: """
            Reads a CSV export of ICE's spreadsheet (ICE's column names: STATE, LAW ENFORCEMENT AGENCY, \
            TYPE, COUNTY, SUPPORT TYPE, SIGNED, MOA, and optionally the MOA_URL column derived from its \
            hyperlinks) and submits one register_agreement command per Florida row to the queue, for \
            the daemon to decide. The project ships ICE's lists of May 29 and July 18, 2025:

              sbie import data/ice-287g-participating-fl-2025-05-29.csv --wait 60
              sbie import data/ice-287g-participating-fl-2025-07-18.csv --plan
              sbie import data/ice-287g-participating-fl-2025-07-18.csv --wait 60

            Each edition is reconciled with the register first: every row and live agreement is \
            classified (unchanged, details_changed, renamed, holder_changed, redated, resigned, new, \
            not_listed, listed_again, ambiguous). --plan prints that and enqueues nothing; a plain \
            import enqueues what is certain and lists what needs a registrar's decision (settle it \
            with `sbie agency rename`, `sbie agreement change-holder`, `sbie agreement mark-duplicate`). \
            An edition older than the newest imported is refused; the same edition again, from any \
            login, enqueues nothing.

            A bad row (unknown model, bad date, no name, wrong number of fields) or a row outside \
            Florida is reported with its line and field and skipped; the other rows go in. Importing \
            the same file again enqueues nothing. A later edition imports renamed agencies and \
            re-dated rows as such; a row missing from it ends no agreement.

            Exit codes: 0 every Florida row imported (rows of other states are skipped, not \
            failures; items needing a registrar's decision are listed, not failures); 1 a bad row was \
            skipped, the edition is older than the newest imported, the daemon rejected a command or \
            --wait ran out; 2 unreadable file, bad edition or connection error.
            """)

    @Argument(help: ArgumentHelp("The CSV file.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp(
        "ICE's edition date, YYYY-MM-DD (optionally am/pm), written as each agreement's source.",
        discussion: "Default: the date at the end of the file name (…-YYYY-MM-DD.csv).",
        valueName: "date"))
    var edition: String?

    @Option(help: ArgumentHelp(
        "Wait up to this many seconds for the daemon to decide the commands, then summarise (0: do not wait).",
        valueName: "seconds"))
    var wait: Int = 0

    @Flag(help: "Print the report as JSON.") var json = false

    @Flag(help: "Print the reconciliation with the register and enqueue nothing.") var plan = false

    @OptionGroup var db: DatabaseOptions

    func validate() throws {
        guard wait >= 0 else { throw ValidationError("--wait must be 0 or more seconds") }
        if let edition, !IceImport.isValidEdition(edition) {
            throw ValidationError("--edition must be YYYY-MM-DD (optionally followed by am or pm), not '\(edition)'")
        }
    }

    func run() async throws {
        let logger = db.logger("sbie.import")
        let parsed: IceImport.Parsed
        do {
            parsed = try IceImport.parse(contentsOf: URL(fileURLWithPath: file), edition: edition)
        } catch {
            printError("\(file): \(error)")
            throw ExitCode(2)
        }
        let connection = try await db.connect(logger)
        if plan {
            let reconciliation = try await ImportSubmission.planEdition(parsed, on: connection)
            if json { try printJSON(reconciliation) } else {
                print(Self.summary(parsed.report).split(separator: "\n").filter { !$0.hasPrefix("  queue:") }.joined(separator: "\n"))
                print(Self.planSummary(reconciliation))
            }
            if reconciliation.refusal != nil { throw ExitCode(1) }
            return
        }
        var report: ImportReport
        let reconciliation: EditionPlan
        do {
            (report, reconciliation) = try await ImportSubmission.submitEdition(parsed, on: connection, progress: terminalProgress())
            let all = report.commandIDs + (report.editionCommandID.map { [$0] } ?? [])
            if wait > 0, !all.isEmpty {
                // At most about 31 years: no deadline past the clock's range.
                _ = try await ImportSubmission.waitForImport(all, timeout: .seconds(min(wait, 1_000_000_000)), on: connection)
                report.outcome = try await ImportSubmission.importOutcome(of: report.commandIDs, on: connection)
                if let edition = report.editionCommandID {
                    let closing = try await ImportSubmission.importOutcome(of: [edition], on: connection)
                    report.outcome?.accepted += closing.accepted
                    report.outcome?.pending += closing.pending
                    report.outcome?.eventsAppended += closing.eventsAppended
                    for (type, count) in closing.eventsByType { report.outcome?.eventsByType[type, default: 0] += count }
                    report.outcome?.refusals += closing.refusals
                    report.outcome?.rejected += closing.rejected
                    report.outcome?.failed += closing.failed
                }
            }
        } catch let error as PostgresError {
            printError("import failed, nothing was enqueued: \(error.message)")
            throw ExitCode(1)
        }
        if json { try printJSON(report) } else {
            print(Self.summary(report))
            print(Self.planSummary(reconciliation, applied: true))
        }
        if reconciliation.refusal != nil { throw ExitCode(1) }
        let badRows = report.skipped.contains { $0.field != "STATE" }
        if badRows { throw ExitCode(1) }
        if let outcome = report.outcome, outcome.rejected > 0 || outcome.failed > 0 { throw ExitCode(1) }
        // No outcome within --wait: not carried out yet (the commands stay queued), as for every command.
        if let outcome = report.outcome, outcome.pending > 0 { throw ExitCode(2) }
    }

    /// Items of one class printed in full by `planSummary` (those needing a decision are always printed).
    static let itemsShownPerKind = 15

    /// The reconciliation for people: counts, then each non-trivial row with its evidence.
    static func planSummary(_ plan: EditionPlan, applied: Bool = false) -> String {
        var lines: [String] = []
        if let refusal = plan.refusal {
            return "  REFUSED: \(refusal)"
        }
        let order = EditionPlan.Kind.allCases.map(\.rawValue)
        let counts = order.compactMap { kind in plan.counts[kind].map { "\(kind) \($0)" } }.joined(separator: ", ")
        lines.append("  reconciliation with the register (newest edition before: \(plan.latestEdition ?? "none")): \(counts)")
        lines.append("  live agreements once applied: \(plan.liveAfter)")
        if plan.alreadyImported {
            lines.append("  edition \(plan.edition) is already imported: nothing to enqueue")
        }
        var shown: [EditionPlan.Kind: Int] = [:]
        for kind in EditionPlan.Kind.allCases where !(plan.latestEdition == nil && kind == .new) {
            let hidden = plan.items.filter { $0.kind == kind }.count - itemsShownPerKind
            if hidden > 0 {
                lines.append("  (\(kind.rawValue): the first \(itemsShownPerKind) shown, \(hidden) more; --plan --json lists every item)")
            }
        }
        // What needs a decision first, then the changes of identity, then the rest.
        let priority = EditionPlan.Kind.precedence
        let ordered = plan.items.enumerated().sorted {
            let (a, b) = (priority.firstIndex(of: $0.element.kind) ?? 0, priority.firstIndex(of: $1.element.kind) ?? 0)
            return a != b ? a < b : $0.offset < $1.offset
        }.map(\.element)
        // The first edition in the register: every row is new; the counts say it all.
        let firstEdition = plan.latestEdition == nil
        if firstEdition { lines.append("  the register's first edition: every row is a new agreement") }
        for item in ordered where !(firstEdition && item.kind == .new) {
            shown[item.kind, default: 0] += 1
            if shown[item.kind, default: 0] > itemsShownPerKind, !item.needsDecision { continue }
            let at = item.line.map { "line \($0)" } ?? "register"
            lines.append("  \(item.kind.rawValue)\(item.classes.count > 1 ? " (" + item.classes.map(\.rawValue).joined(separator: ", ") + ")" : ""): "
                + "\(at): \(item.agencyName), \(item.model.rawValue) \(item.signedOn)"
                + (item.agreementID.map { " [\($0)]" } ?? ""))
            for evidence in item.evidence { lines.append("      \(evidence)") }
        }
        let decisions = plan.items.filter(\.needsDecision)
        if !decisions.isEmpty {
            lines.append("  \(decisions.count) item(s) need a registrar's decision\(applied ? "; nothing was applied for them" : "")")
        }
        if !applied, plan.refusal == nil, !plan.alreadyImported {
            lines.append("  plan only: \(plan.commands.count) command(s) would be enqueued; nothing was")
        }
        return lines.joined(separator: "\n")
    }

    static func summary(_ report: ImportReport) -> String {
        func counts(_ values: [String: Int]) -> String {
            values.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ") + (values.isEmpty ? "none" : "")
        }
        var lines = [
            "\(report.file ?? "import"), edition \(report.edition): \(report.rowsRead) rows read, "
                + "\(report.imported) imported, \(report.skipped.count) skipped",
            "  queue: \(report.submitted) commands submitted, \(report.alreadySubmitted) already submitted by an earlier import",
            "  \(report.agencies) agencies (\(report.sheriffsOffices) sheriff's offices); by model: \(counts(report.byModel)); "
                + "by type: \(counts(report.byType))",
        ]
        let outside = report.skipped.filter { $0.field == "STATE" }.map(\.line)
        if !outside.isEmpty {
            lines.append("  skipped \(outside.count) row(s) outside Florida, line(s) "
                + outside.prefix(10).map(String.init).joined(separator: ", ") + (outside.count > 10 ? ", …" : ""))
        }
        for skip in report.skipped where skip.field != "STATE" {
            lines.append("  skipped line \(skip.line), \(skip.field) '\(skip.value)': \(skip.reason)")
        }
        if let outcome = report.outcome {
            lines.append("  daemon: \(outcome.accepted) accepted, \(outcome.rejected) rejected, \(outcome.failed) failed, "
                + "\(outcome.pending) still pending; these commands appended \(outcome.eventsAppended) events"
                + (outcome.eventsByType.isEmpty ? "" : " (\(counts(outcome.eventsByType)))"))
            for refusal in outcome.refusals {
                lines.append("  \(refusal.status): \(refusal.agencyName): \(refusal.errorCode): \(refusal.errorMessage)")
            }
            if outcome.pending > 0 { lines.append("  the daemon did not decide every command in time: is the daemon running?") }
        }
        return lines.joined(separator: "\n")
    }
}
