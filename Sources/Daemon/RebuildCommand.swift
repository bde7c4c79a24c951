import ArgumentParser
import Foundation
import Workflow

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild projections from position 0, or check that a rebuild equals the live tables.",
        discussion: """
            PROJECTION is inline (agreement_status, termination_requests and board_docket, rebuilt \
            together from one replay and swapped in atomically while appends wait), agency_timeline, \
            or all. With --check, the inline tables are rebuilt into temporary tables and compared \
            row by row with the live ones, and nothing is swapped; exit 1 when they differ. \
            snapshots (not part of all): the register snapshots and legal instants of point-in-time \
            reads are deleted and written again, or with --check compared with a fold of the log.
            """)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "inline | agency_timeline | all | snapshots") var projection = "all"
    @Flag(help: "Compare a rebuild with the live tables; change nothing.") var check = false
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        guard ["inline", "agency_timeline", "all", "snapshots"].contains(projection) else {
            throw ValidationError("unknown projection \(projection): expected inline, agency_timeline, all or snapshots")
        }
    }

    func run() async throws {
        let logger = db.logger("sbie.rebuild")
        let connection = try await db.connect(logger)
        var matches = true
        if projection == "snapshots" {
            if check {
                let result = try await Snapshots.check(on: connection)
                if json { try printJSON(result) } else {
                    print("checked \(result.snapshots) register snapshot(s) and \(result.legalTimes) legal instant(s) "
                          + "against \(result.events) events: \(result.differingSnapshots.count) snapshot(s) and "
                          + "\(result.differingLegalTimes) legal instant(s) differ")
                }
                if !result.matches { throw ExitCode(1) }
            } else {
                let written = try await Snapshots.rebuild(on: connection)
                if json { try printJSON(["snapshots_written": written]) } else { print("rebuilt \(written) register snapshot(s)") }
            }
            return
        }
        if projection != "agency_timeline" {
            let result = try await Projections.rebuild(checkOnly: check, on: connection)
            matches = result.matches
            if json {
                try printJSON(result)
            } else {
                print("\(check ? "checked" : "rebuilt") inline projections from \(result.events) events")
                for (table, counts) in result.tables.sorted(by: { $0.key < $1.key }) {
                    print("  \(table): live \(counts[0]) rows, rebuilt \(counts[1]) rows, \(counts[2]) differing")
                }
                print(result.matches ? "rebuild equals the live tables" : "MISMATCH: the live tables differ from a rebuild")
            }
        }
        if projection != "inline" && !check {
            let events = try await AgencyTimeline.rebuild(on: connection)
            if !json { print("rebuilt agency_timeline from \(events) events") }
        }
        if !matches { throw ExitCode(1) }
    }
}
