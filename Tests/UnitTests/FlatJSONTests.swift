import Foundation
import Testing
@testable import Workflow

/// The fast path for the commonest events (`FlatJSON`) decodes exactly what `JSONDecoder`
/// decodes, and hands everything outside its subset back to `JSONDecoder`.
@Suite struct FlatJSONTests {
    static let details = #"{"agency_type":"County","agreement_id":"alachua-county-sheriffs-office.tfm.2025-02-26","county":"Alachua County","moa_url":null,"source_edition":"2025-08-01"}"#
    static let registered = #"{"agency_id":"alachua-county-sheriffs-office","agency_name":"Alachua County Sheriff's Office","agency_type":"County","agreement_id":"alachua-county-sheriffs-office.tfm.2025-02-26","county":null,"model":"TFM","moa_url":"https://www.ice.gov/x.pdf","signed_on":"2025-02-26","source_edition":"2025-08-01"}"#

    static func fastDetails(_ text: String) -> AgreementDetailsUpdated? {
        Array(text.utf8).withUnsafeBytes { AgreementDetailsUpdated(flatJSON: $0) }
    }

    static func fastRegistered(_ text: String) -> AgreementRegistered? {
        Array(text.utf8).withUnsafeBytes { AgreementRegistered(flatJSON: $0) }
    }

    @Test func theFastPathReadsWhatTheRegisterWrites() throws {
        let details = try #require(Self.fastDetails(Self.details))
        #expect(details == (try JSONDecoder().decode(AgreementDetailsUpdated.self, from: Data(Self.details.utf8))))
        #expect(details.county == "Alachua County" && details.moaURL == nil && details.agencyType == .county)
        let registered = try #require(Self.fastRegistered(Self.registered))
        #expect(registered == (try JSONDecoder().decode(AgreementRegistered.self, from: Data(Self.registered.utf8))))
        #expect(registered.county == nil && registered.model == .taskForce && registered.agencyName == "Alachua County Sheriff's Office")
        // The canonical encoding of these events (what the daemon appends) takes the fast path.
        for event in [DomainEvent.agreementDetailsUpdated(details), .agreementRegistered(registered)] {
            let data = event.encodedData()
            let fast = data.withUnsafeBytes { bytes -> DomainEvent? in
                switch event {
                case .agreementDetailsUpdated: return AgreementDetailsUpdated(flatJSON: bytes).map { .agreementDetailsUpdated($0) }
                default: return AgreementRegistered(flatJSON: bytes).map { .agreementRegistered($0) }
                }
            }
            #expect(fast == event)
        }
    }

    /// Each is outside the subset (or invalid): the fast path declines, `DomainEvent.decode`
    /// gives `JSONDecoder`'s answer, a value or the same error as before.
    @Test func everythingElseGoesToJSONDecoder() throws {
        let outside = [
            #"{"agency_type":"County","agreement_id":"a.tfm.2025-02-26","county":"C","moa_url":null,"source_edition":"e","extra":1}"#,  // unknown key: ignored by JSONDecoder
            #"{"agency_type":"County","agreement_id":"a.tfm.2025-02-26","county":"C","county":"D","source_edition":"e"}"#,  // repeated key
            #"{"agency_type":"County","agreement_id":"a.tfm.2025-02-26","county":"C\u00e9","source_edition":"e"}"#,  // escape
            #"{"agency_type":"County","agreement_id":"a.tfm.2025-02-26","county":"Cé","source_edition":"e"}"#,  // non-ASCII
            #"{"agency_type":"County","agreement_id":"a.tfm.2025-02-26","county":"C","source_edition":"e"} x"#,  // trailing text
            #"{"agency_type":"County","agreement_id":"a.tfm.2025-02-26","county":"C"}"#,  // missing source_edition
            #"{"agency_type":"Parish","agreement_id":"a.tfm.2025-02-26","source_edition":"e"}"#,  // unknown agency type
            #"{"agency_type":"County","agreement_id":"A.tfm.2025-02-26","source_edition":"e"}"#,  // not an agreement id
            #"{"agency_type":"County","agreement_id":null,"source_edition":"e"}"#,  // null for a required field
            #"{"agency_type":"County","agreement_id":"a.tfm.2025-02-26","county":7,"source_edition":"e"}"#,  // a number
            #"{"agency_type":"County","agreement_id":"a.tfm.2025-02-26","source_edition":"e",}"#,  // trailing comma
            #"[]"#, #""#, #"{"#, #"nul"#,
        ]
        for text in outside {
            #expect(Self.fastDetails(text) == nil, "\(text)")
            let standard = Result { try JSONDecoder().decode(AgreementDetailsUpdated.self, from: Data(text.utf8)) }
            let ours = Result { try DomainEvent.decode(type: "AgreementDetailsUpdated", data: Data(text.utf8)) }
            switch (standard, ours) {
            case (.success(let a), .success(let b)): #expect(DomainEvent.agreementDetailsUpdated(a) == b, "\(text)")
            case (.failure(let a), .failure(let b)): #expect("\(a)" == "\(b)", "\(text)")
            default: Issue.record("JSONDecoder and DomainEvent.decode disagree on \(text)")
            }
        }
        // The unknown key is still ignored, as JSONDecoder's synthesized conformance does.
        #expect(throws: Never.self) { try DomainEvent.decode(type: "AgreementDetailsUpdated", data: Data(outside[0].utf8)) }
    }

    /// Random edits of valid documents (quotes, backslashes, commas, braces, spaces, `null`,
    /// non-ASCII): whenever the fast path accepts one, `JSONDecoder` decodes it to the same value.
    @Test func theFastPathNeverAcceptsWhatJSONDecoderReadsDifferently() {
        var rng = SplitMix(seed: 287)
        let pieces = [#"""#, #"\"#, ",", "{", "}", ":", " ", "\n", "null", "é", "x", "\u{7f}", "\"\"", "0"]
        var accepted = 0
        for round in 0..<20_000 {
            var bytes = Array((round % 2 == 0 ? Self.details : Self.registered).utf8)
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = Int(rng.next() % UInt64(bytes.count + 1))
                switch rng.next() % 3 {
                case 0: bytes.insert(contentsOf: Array(pieces[Int(rng.next() % UInt64(pieces.count))].utf8), at: at)
                case 1: if at < bytes.count { bytes.remove(at: at) }
                default: if at < bytes.count { bytes[at] = Array(pieces[Int(rng.next() % UInt64(pieces.count))].utf8)[0] }
                }
            }
            let data = Data(bytes)
            if round % 2 == 0, let fast = bytes.withUnsafeBytes({ AgreementDetailsUpdated(flatJSON: $0) }) {
                accepted += 1
                #expect((try? JSONDecoder().decode(AgreementDetailsUpdated.self, from: data)) == fast, "\(String(decoding: bytes, as: UTF8.self))")
            } else if round % 2 == 1, let fast = bytes.withUnsafeBytes({ AgreementRegistered(flatJSON: $0) }) {
                accepted += 1
                #expect((try? JSONDecoder().decode(AgreementRegistered.self, from: data)) == fast, "\(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(accepted > 100)  // edits inside values (and of spaces) keep many documents in the subset
    }
}

/// A small deterministic generator (SplitMix64), for reproducible random inputs.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
