import Foundation
import Testing
@testable import Workflow

// Issue 16 item 5: the pure parts under the database layer, tested without a database.

@Suite("Hash chain against a fixed test vector (no database)")
struct HashChainVectorTests {
    // Computed independently with Python's hashlib (scripts nowhere in the product):
    //
    //   import hashlib, struct
    //   def h(prev, fields):
    //       m = hashlib.sha256(bytes(prev))
    //       for f in fields:
    //           b = f.encode(); m.update(struct.pack('>I', len(b))); m.update(b)
    //       return m.digest()
    //   h1 = h(b'\0' * 32, first);  h2 = h(h1, second)   # the fields below, in this order
    static let first = RecordedEvent(
        globalPosition: 1, streamID: "agreement-alachua-county-sheriff-s-office-tfm-2025-02-26", streamVersion: 1,
        eventID: UUID(uuidString: "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D") ?? UUID(), type: "AgreementRegistered",
        data: #"{"agency":"Alachua County Sheriff's Office","model":"TFM"}"#, metadata: #"{"actor":"registrar_1"}"#,
        occurredAt: Timestamp(microsecondsSinceEpoch: 1_752_811_200_000_000),
        recordedAt: Timestamp(microsecondsSinceEpoch: 1_752_811_201_000_000), prevHash: HashChain.genesis, hash: [])
    static let firstHash = "aa1996d376731ad17967144e12fba339fd9bee3f4fa7da6f87299d6caf0b68e2"
    static let secondHash = "28e5edff44268a75255628c604e19dd5ca5e053780d15bd8b81822d80a9bf089"

    @Test("the first event hashes from 32 zero bytes to the vector; the UUID is hashed in lower case")
    func firstEvent() {
        #expect(HashChain.genesis == [UInt8](repeating: 0, count: 32))
        #expect(Self.first.occurredAt.iso8601 == "2025-07-18T04:00:00.000000Z")
        #expect(Hex.encode(HashChain.hash(of: Self.first, previous: HashChain.genesis)) == Self.firstHash)
    }

    @Test("the second event chains on the first's hash; non-ASCII data is hashed as its UTF-8 bytes")
    func secondEvent() throws {
        let previous = try #require(Hex.decode(Self.firstHash))
        let fields = ["2", "request-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4e", "1", "ffffffff-0000-4000-8000-000000000001",
                      "TerminationRequestSubmitted", "{\"s\":\"caf\u{e9} \\\"q\\\" \u{1F600}\"}", "{}",
                      "2025-12-01T12:00:00.123456Z"].map { Array($0.utf8) }
        #expect(Hex.encode(HashChain.hash(previous: previous, fields: fields)) == Self.secondHash)
        // Any change to one field, or to the previous hash, changes the hash.
        var changed = fields
        changed[6] = Array("{ }".utf8)
        #expect(Hex.encode(HashChain.hash(previous: previous, fields: changed)) != Self.secondHash)
        #expect(Hex.encode(HashChain.hash(previous: HashChain.genesis, fields: fields)) != Self.secondHash)
    }
}

@Suite("Timestamp (no database)")
struct TimestampTests {
    @Test("iso8601: six fractional digits in UTC, before and after the epoch, leap days")
    func format() {
        #expect(Timestamp(microsecondsSinceEpoch: 0).iso8601 == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp(microsecondsSinceEpoch: -1).iso8601 == "1969-12-31T23:59:59.999999Z")
        #expect(Timestamp(microsecondsSinceEpoch: 1_709_251_199_999_999).iso8601 == "2024-02-29T23:59:59.999999Z")
        #expect(Timestamp(microsecondsSinceEpoch: 951_782_400_000_000).iso8601 == "2000-02-29T00:00:00.000000Z")
        #expect(Timestamp(microsecondsSinceEpoch: -2_203_891_200_000_000).iso8601 == "1900-03-01T00:00:00.000000Z")
    }

    @Test("parsing: PostgreSQL's UTC output and the own form; other offsets and impossible fields are nil")
    func parse() {
        #expect(Timestamp(parsing: "2025-11-03 05:00:00.5+00")?.microsecondsSinceEpoch == 1_762_146_000_500_000)
        #expect(Timestamp(parsing: "2025-11-03 05:00:00+00:00")?.microsecondsSinceEpoch == 1_762_146_000_000_000)
        #expect(Timestamp(parsing: "2024-02-29T23:59:59.999999Z")?.microsecondsSinceEpoch == 1_709_251_199_999_999)
        #expect(Timestamp(parsing: "1900-03-01 00:00:00+00")?.microsecondsSinceEpoch == -2_203_891_200_000_000)
        for bad in ["2025-11-03 05:00:00+01", "2025-13-01 00:00:00+00", "2025-11-03 24:00:00+00", "2025-11-03",
                    "2025-11-03 05:00:00", "x025-11-03 05:00:00+00", ""] {
            #expect(Timestamp(parsing: bad) == nil, "\(bad)")
        }
        #expect(throws: PostgresDecodingError.self) { try Timestamp(postgresText: "yesterday") }
    }

    @Test("iso8601 and parsing round-trip over 400 years of days, with microseconds")
    func roundTrip() {
        let day: Int64 = 86_400_000_000
        for n in stride(from: Int64(-146_097), through: 146_097, by: 97) {
            let t = Timestamp(microsecondsSinceEpoch: n * day + (n & 0xFFFF) * 1_000_003 % day)
            #expect(Timestamp(parsing: t.iso8601) == t, "\(t.iso8601)")
        }
        #expect(CivilCalendar.days(year: 1970, month: 1, day: 1) == 0)
        let eve = CivilCalendar.date(days: -1)
        #expect([eve.0, eve.1, eve.2] == [1969, 12, 31])
    }
}

@Suite("bytea decoder (no database)")
struct ByteaDecoderTests {
    @Test("PostgreSQL's hex form decodes, upper and lower case; anything else is a decoding error")
    func decode() throws {
        #expect(try [UInt8](postgresText: "\\x") == [])
        #expect(try [UInt8](postgresText: "\\x00ff0aA0") == [0x00, 0xff, 0x0a, 0xa0])
        #expect(try Data(postgresText: "\\xdeadBEEF") == Data([0xde, 0xad, 0xbe, 0xef]))
        let all = [UInt8](0...255)
        #expect(try [UInt8](postgresText: "\\x" + Hex.encode(all)) == all)
        for bad in ["", "\\", "x00", "\\x0", "\\x0g", "\\X00", "\\000", "\\x00 "] {
            #expect(throws: PostgresDecodingError.self, "\(bad)") { try [UInt8](postgresText: bad) }
        }
    }
}

@Suite("CSV rows (no database)")
struct CSVRecordsTests {
    @Test("quoted fields keep commas, line breaks and doubled quotes; CRLF, LF and a missing last line end")
    func wellFormed() {
        let records = CSVRecords.read("a,b,c\r\n\"x, y\",\"two\nlines\",\"say \"\"hi\"\"\"\nlast,,\n\"\",z")
        #expect(records.map(\.fields) == [["a", "b", "c"], ["x, y", "two\nlines", "say \"hi\""], ["last", "", ""], ["", "z"]])
        #expect(records.map(\.line) == [1, 2, 4, 5])
        #expect(records.allSatisfy { $0.error == nil })
        #expect(records[1].raw == "\"x, y\",\"two")
    }

    @Test("a malformed record is reported at its line with no fields; reading resumes on the next line")
    func malformed() {
        let records = CSVRecords.read("ok,1\r\n\"Foo \\\"Bar\\\" PD\",2\r\nbad\"quote,3\r\nfine,4\r\n\"never closed,5\r\nafter,6\r\n")
        #expect(records.map(\.line) == [1, 2, 3, 4, 5, 6])
        #expect(records.map { $0.error == nil } == [true, false, false, true, false, true])
        #expect(records[1].fields == [])
        #expect(records[1].error?.contains("follows a closing quote") == true)
        #expect(records[2].error == "a quote inside an unquoted field")
        #expect(records[4].error == "a quoted field is never closed")
        #expect(records[3].fields == ["fine", "4"])
        #expect(records[5].fields == ["after", "6"])
    }
}

@Suite("conninfo strings (no database)")
struct ConnectionStringTests {
    @Test("key/value strings get a quoted trailing keyword; URLs get their path or user replaced")
    func replace() {
        #expect(ConnectionString.replacingDatabase(in: "", with: "sbie") == "dbname='sbie'")
        #expect(ConnectionString.replacingDatabase(in: "host=/tmp dbname=postgres", with: "sbie")
            == "host=/tmp dbname=postgres dbname='sbie'")
        #expect(ConnectionString.replacingDatabase(in: "postgres://u@db.example:5433/postgres?sslmode=require", with: "sbie")
            == "postgres://u@db.example:5433/sbie?sslmode=require")
        #expect(ConnectionString.replacingUser(in: "host=/tmp", with: "o'brien", password: "p\\w")
            == #"host=/tmp user='o\'brien' password='p\\w'"#)
        #expect(ConnectionString.replacingUser(in: "", with: "clerk") == "user='clerk'")
        #expect(ConnectionString.replacingUser(in: "postgresql://a:b@h/db", with: "clerk", password: nil)
            == "postgresql://clerk@h/db")
    }

    @Test("quoting escapes only backslash and quote, scalar by scalar, NUL included")
    func quoting() {
        #expect(ConnectionString.quoted("") == "''")
        #expect(ConnectionString.quoted(#"a'b\c"#) == #"'a\'b\\c'"#)
        #expect(ConnectionString.quoted("x\u{0}'\u{1F600}") == "'x\u{0}\\'\u{1F600}'")
    }
}

@Suite("Event metadata (no database)")
struct EventMetadataTests {
    @Test("written compact, keys in order, the command id in lower case; read back in either case and any order")
    func roundTrip() throws {
        let id = try #require(UUID(uuidString: "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"))
        let metadata = EventMetadata(actor: "clerk \"one\"", commandID: id, commandType: "register_agreement", agencyID: "x-pd")
        #expect(metadata.json == #"{"actor":"clerk \"one\"","command_id":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","#
            + #""command_type":"register_agreement","agency_id":"x-pd"}"#)
        #expect(EventMetadata(json: metadata.json) == metadata)
        let upper = #"{"agency_id":"x-pd","command_type":"register_agreement","command_id":"0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D","actor":"clerk \"one\""}"#
        #expect(EventMetadata(json: upper) == metadata)
        #expect(EventMetadata(actor: "a", commandID: nil, commandType: nil, agencyID: nil).json == #"{"actor":"a"}"#)
    }

    @Test("hand-appended metadata: a field of the wrong type reads as nil, the others survive; not an object is nil")
    func lenient() {
        let odd = EventMetadata(json: #"{"actor": 7, "command_id": "not a uuid", "agency_id": "x-pd"}"#)
        #expect(odd == EventMetadata(actor: nil, commandID: nil, commandType: nil, agencyID: "x-pd"))
        #expect(EventMetadata(json: "{}") == EventMetadata(actor: nil, commandID: nil, commandType: nil, agencyID: nil))
        #expect(EventMetadata(json: "[1]") == nil)
        #expect(EventMetadata(json: "") == nil)
    }
}

@Suite("Arrays as parameters (no database)")
struct PostgresArrayTests {
    @Test("the text form: every element quoted, quote and backslash escaped, NULL, UUIDs lower case, bytes as hex")
    func textForm() throws {
        func text(_ array: PostgresArray) -> String? {
            if case .text(let value) = array.postgresValue { return value }
            return nil
        }
        #expect(text(PostgresArray([String]())) == "{}")
        #expect(text(PostgresArray([Int64(1), 2, -3])) == #"{"1","2","-3"}"#)
        #expect(text(PostgresArray(["a,b", "{c}", #"say "hi""#, #"back\slash"#, "NULL", ""]))
            == #"{"a,b","{c}","say \"hi\"","back\\slash","NULL",""}"#)
        #expect(text(PostgresArray([Optional("x"), nil])) == #"{"x",NULL}"#)
        let id = try #require(UUID(uuidString: "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"))
        #expect(text(PostgresArray([id])) == #"{"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}"#)
        #expect(text(PostgresArray([[UInt8]([0x00, 0xff])])) == #"{"\\x00ff"}"#)
    }
}

@Suite("Typed JSON (no database)")
struct TypedJSONTests {
    @Test("new event data spells UUIDs in lower case; data stored in upper case still decodes to the same event")
    func lowerCaseUUIDs() throws {
        let id = try #require(UUID(uuidString: "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"))
        let events: [DomainEvent] = [
            .terminationRequestSubmitted(TerminationRequestSubmitted(
                requestID: id, agreementID: try #require(AgreementID("x-pd.tfm.2025-03-10")),
                agencyID: try #require(AgencyID(slug: "x-pd")), model: .taskForce, reason: "r",
                localAuthorization: "a", filedOn: d("2025-08-01"), policyEntries: nil)),
            .terminationRequestWithdrawn(TerminationRequestWithdrawn(
                requestID: id, agreementID: try #require(AgreementID("x-pd.tfm.2025-03-10")),
                withdrawnOn: d("2025-08-02"), reason: nil)),
        ]
        for event in events {
            let text = String(decoding: event.encodedData(), as: UTF8.self)
            #expect(text.contains("\"request_id\":\"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\""), "\(text)")
            #expect(!text.contains("0A1B2C3D"))
            let upper = text.replacingOccurrences(of: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", with: id.uuidString)
            #expect(try DomainEvent.decode(type: event.eventType, data: Data(upper.utf8)) == event)
        }
    }

    @Test("PostgresJSON binds the encoder's text; outcome and timer rows carry every key, null where absent")
    func rows() throws {
        let bound = try PostgresJSON(["b": 1, "a": 2], encoder: CanonicalJSON.encoder())
        #expect(bound.postgresValue == .text(#"{"a":2,"b":1}"#))
        let rejected = BatchPlan.Outcome(commandID: uuid(1), status: .rejected, errorCode: "x", errorMessage: "a/b")
        #expect(String(decoding: try CanonicalJSON.encode(OutcomeRow(rejected)), as: UTF8.self)
            == #"{"command_id":"\#(uuid(1).uuidString.lowercased())","error_code":"x","error_message":"a/b","#
            + #""event_positions":[],"outcome":null,"status":"rejected"}"#)
        let timer = BatchPlan.Timer(idempotencyKey: "k", commandType: "t", payload: .object(["n": .number(3)]),
                                    agencyID: nil, availableAt: Timestamp(Date(timeIntervalSince1970: 0)))
        #expect(String(decoding: try CanonicalJSON.encode(timer), as: UTF8.self)
            == #"{"agency_id":null,"available_at":"1970-01-01T00:00:00.000000Z","command_type":"t","#
            + #""idempotency_key":"k","payload":{"n":3}}"#)
    }
}
