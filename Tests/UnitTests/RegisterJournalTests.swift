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
