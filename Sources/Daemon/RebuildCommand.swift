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
            row by row with the live ones, and nothing is swapped; exit 1 when they differ.
            """)

    @OptionGroup var db: DatabaseOptions
    @Argument(help: "inline | agency_timeline | all") var projection = "all"
    @Flag(help: "Compare a rebuild with the live tables; change nothing.") var check = false
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        guard ["inline", "agency_timeline", "all"].contains(projection) else {
            throw ValidationError("unknown projection \(projection): expected inline, agency_timeline or all")
        }
    }

    func run() async throws {
        let logger = db.logger("sbie.rebuild")
        let connection = try await db.connect(logger)
        var matches = true
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
