import Foundation
import Testing
@testable import Workflow

@Suite("A standby's replay status, as the CLI and the HTTP headers say it (no database)")
struct StandbyStatusTests {
    let replayedAt = Timestamp(microsecondsSinceEpoch: 1_796_140_800_123_456)  // 2026-12-01T16:00:00.123456Z

    @Test("caught up: lag 0, the primary's position named; JSON in snake_case with an ISO instant")
    func caughtUp() throws {
        let status = ReplicaStatus(inRecovery: true, replayLSN: "0/3000148", receiveLSN: "0/3000148", replayedAt: replayedAt,
                                   lagSeconds: 0, primaryLSN: "0/3000148", bytesBehind: 0)
        #expect(status.caughtUp)
        #expect(status.summary == "read from standby, replayed up to 2026-12-01T16:00:00.123456Z "
                + "(lag 0.000 s; log 0/3000148, caught up with the primary's 0/3000148)")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(String(decoding: try encoder.encode(status), as: UTF8.self)
                == #"{"bytes_behind":0,"in_recovery":true,"lag_seconds":0,"primary_lsn":"0\/3000148","#
                + #""receive_lsn":"0\/3000148","replay_lsn":"0\/3000148","replayed_at":"2026-12-01T16:00:00.123456Z"}"#)
    }

    @Test("behind, or compared with nothing: never 'caught up'")
    func behind() {
        let behind = ReplicaStatus(inRecovery: true, replayLSN: "0/3000148", receiveLSN: "0/3000200", replayedAt: replayedAt,
                                   lagSeconds: 2.5, primaryLSN: "0/3000400", bytesBehind: 696)
        #expect(!behind.caughtUp)
        #expect(behind.summary.hasSuffix("(lag 2.500 s; log 0/3000148, 696 bytes behind the primary's 0/3000400)"))
        let alone = ReplicaStatus(inRecovery: true, replayLSN: nil, receiveLSN: nil, replayedAt: nil, lagSeconds: nil)
        #expect(!alone.caughtUp)
        #expect(alone.summary == "read from standby, replayed up to no transaction yet (lag unknown; log ?, the primary's position unknown)")
    }
}
