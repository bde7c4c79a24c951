import Foundation
import PropertyBased
import Testing
@testable import Workflow

/// The daemon decides a batch on its one copy of the register, in place, and undoes what did
/// not commit with a `RegisterJournal` (issue 17): undo must give back exactly the state before,
/// for every kind of event and any number of events.
@Suite("Register journal: apply in place, undo exactly (no database)")
struct RegisterJournalTests {
    /// Applies `decisions` on `state` with one journal, then checks that undo gives `state` back
    /// and, decision by decision, that a journal of one decision undoes exactly that decision.
    func check(_ decisions: [Decision], from start: RegisterState, sourceLocation: SourceLocation = #_sourceLocation) {
        var state = start
        var whole = RegisterJournal()
        for decision in decisions {
            let before = state
            var one = RegisterJournal()
            var alone = state
            var plain = state
            for (stream, event) in decision.events {
                state.apply(event, stream: stream, journal: &whole)
                alone.apply(event, stream: stream, journal: &one)
                plain.apply(event, stream: stream)
            }
            // A journal does not change what apply does.
            #expect(alone == plain && state == plain, sourceLocation: sourceLocation)
            alone.undo(one)
            #expect(alone == before, "undo of \(decision.events.map(\.event.eventType))", sourceLocation: sourceLocation)
        }
        state.undo(whole)
        #expect(state == start, sourceLocation: sourceLocation)
    }

    /// Decides `commands` in order from `state` (each must be accepted), returning the decisions.
    func decisions(_ commands: [DomainCommand], from start: RegisterState, today: String = "2026-01-01") -> [Decision] {
        var state = start
        var out: [Decision] = []
        for command in commands {
            let context = CommandContext(submittedBy: "registrar", commandID: UUID(), today: d(today))
            switch decide(command, state: state, context: context) {
            case .success(let decision):
                state.apply(decision)
                out.append(decision)
            case .failure(let rejection): Issue.record("\(command.commandType) rejected: \(rejection)")
            }
        }
        return out
    }

    @Test("a real import (agreements, seats, then the July edition: renames, holder changes, re-datings, not listed, edition recorded)")
    func realImports() throws {
        let seats = decisions(boardSeedCommands(), from: RegisterState())
        check(seats, from: RegisterState())
        var state = RegisterState()
        for decision in seats { state.apply(decision) }
        let may = decisions(EditionReconciler.reconcile(try IceImport.parse(contentsOf: EditionReconcilerTests.may), state: state).commands,
                            from: state)
        check(may, from: state)
        for decision in may { state.apply(decision) }
        let july = decisions(EditionReconciler.reconcile(try IceImport.parse(contentsOf: EditionReconcilerTests.july), state: state).commands,
                             from: state)
        var types = Set<String>()
        for decision in july { for item in decision.events { types.insert(item.event.eventType) } }
        for type in ["AgencyRenamed", "AgreementHolderChanged", "EditionRecorded", "AgreementRegistered"] {
            #expect(types.contains(type), "the July import has no \(type)")
        }
        check(july, from: state)
    }

    @Test("policy adoptions and a request through to termination")
    func policyAndRequests() {
        var entry = PolicyCatalog.approvalText
        entry.entryID = "approval-scope.statute-text.from-2025-07-01"
        entry.effectiveOn = d("2025-07-01")
        let start = Scenario(boardSeedCommands() + realRows)
        let commands: [DomainCommand] = [.adoptPolicyEntry(AdoptPolicyEntry(entry: entry)), submit(1, tallahasseePD, filed: "2025-08-01"),
                                         schedule(1, "2025-08-20")]
        let made = decisions(commands, from: start.state)
        #expect(made.flatMap(\.events).map(\.event.eventType).contains("PolicyEntryAdopted"))
        check(made, from: start.state)
    }

    @Test("random command sequences: one journal per batch of up to 8 decisions")
    func randomSequences() async {
        await propertyCheck(count: 40, input: Gen.int(in: 0...Int(Int32.max)).array(of: 1...40)) { choices in
            var scenario = Scenario(boardSeedCommands() + realRows)
            var interpreter = CommandInterpreter()
            var batch: [Decision] = []
            var batchStart = scenario.state
            for n in choices {
                let command = interpreter.command(n, state: scenario.state)
                guard case .success(let decision) = scenario.when(command) else { continue }
                interpreter.pendingTimers += decision.scheduled
                scenario.state.apply(decision)
                batch.append(decision)
                if batch.count == 8 {
                    check(batch, from: batchStart)
                    (batch, batchStart) = ([], scenario.state)
                }
            }
            check(batch, from: batchStart)
        }
    }
}

/// The byte-level parsers of agreement ids and slugs (issue 17: they were a tenth of a fold)
/// accept and refuse exactly what the Character-level ones did.
@Suite("Agreement id and slug parsing, byte by byte (no database)")
struct IdentityParsingTests {
    static func oldSlug(_ slug: String) -> Bool {
        guard !slug.isEmpty, !slug.hasPrefix("-"), !slug.hasSuffix("-"), !slug.contains("--") else { return false }
        return slug.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    static func oldAgreementID(_ text: String) -> AgreementID? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, Self.oldSlug(String(parts[0])), let agency = AgencyID(slug: String(parts[0])),
              let model = Model(rawValue: parts[1].uppercased()), String(parts[1]) == model.slug,
              let date = FloridaDate(iso: String(parts[2])) else { return nil }
        return AgreementID(agency: agency, model: model, signedOn: date)
    }

    static let samples = [
        "tallahassee-police-department.tfm.2025-03-10", "leon.jem.2025-01-01", "a.wso.2024-02-29", "a-b-c9.tfm.2025-12-31",
        "", ".", "..", "a..2025-01-01", "a.tfm.", ".tfm.2025-01-01", "a.tfm.2025-01-01.", "a.TFM.2025-01-01", "a.tfm.2025-1-01",
        "-a.tfm.2025-01-01", "a-.tfm.2025-01-01", "a--b.tfm.2025-01-01", "A.tfm.2025-01-01", "a b.tfm.2025-01-01",
        "a.\u{301}tfm.2025-01-01", "a\u{301}.tfm.2025-01-01", "a.tfm\u{301}.2025-01-01", "a.t\u{FB01}.2025-01-01",
        "caf\u{E9}.tfm.2025-01-01", "a.tfm.２０２５-01-01", "a.xyz.2025-01-01", "a.tfm.2025-02-30", "a.tfm.2025-01-01\r\n",
        "a.\r\ntfm.2025-01-01", "a.tfm.2025-01-01\u{0}", "-", "--", "a", "a-", "-a", "0", "9-9",
    ]

    @Test("the same verdicts on edge cases and random text")
    func sameVerdicts() async {
        for text in Self.samples {
            #expect(AgreementID(text) == Self.oldAgreementID(text), "\(text.debugDescription)")
            #expect(AgencyID.isValidSlug(text) == Self.oldSlug(text), "\(text.debugDescription)")
        }
        let alphabet: [Character] = ["a", "z", "0", "9", "-", ".", "t", "f", "m", "j", "e", "w", "s", "o", "2", "1", "\u{301}", "é", "A", " "]
        await propertyCheck(count: 300, input: Gen.int(in: 0...(alphabet.count - 1)).array(of: 0...24)) { picks in
            let text = String(picks.map { alphabet[$0] })
            #expect(AgencyID.isValidSlug(text) == Self.oldSlug(text), "\(text.debugDescription)")
            #expect(AgreementID(text) == Self.oldAgreementID(text), "\(text.debugDescription)")
            for date in [".tfm.2025-01-01", ".jem.2024-02-29"] {
                #expect(AgreementID(text + date) == Self.oldAgreementID(text + date), "\((text + date).debugDescription)")
            }
        }
    }
}
