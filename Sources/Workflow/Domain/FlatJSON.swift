import Foundation

/// A fast path for decoding the commonest events (`AgreementDetailsUpdated`,
/// `AgreementRegistered`: nine in ten events of a register's log) without `JSONDecoder`'s
/// containers, which were most of a rebuild's time.
///
/// It reads only a narrow subset of JSON: one object whose members each have a key the
/// type knows, given once, with a value that is a string of printable ASCII without
/// escapes, or `null`. Anything else (an unknown or repeated key, an escape, a number, a
/// non-ASCII byte, a value the field's type refuses, a missing field) makes it return nil,
/// and the caller decodes with `JSONDecoder` as before: so what it accepts decodes to the
/// same value `JSONDecoder` gives, and every error is still `JSONDecoder`'s.
enum FlatJSON {
    /// Calls `member` with each member's key and value (nil for `null`), in order, and
    /// returns true when the whole document is one object of that subset and every call
    /// returned true.
    static func scan(_ b: UnsafeRawBufferPointer, _ member: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?) -> Bool) -> Bool {
        var i = 0
        let n = b.count
        func skipSpace() {
            while i < n, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }
        /// A string at `i` (after its opening quote is checked), as the bytes between the quotes.
        func string() -> UnsafeRawBufferPointer? {
            guard i < n, b[i] == UInt8(ascii: "\"") else { return nil }
            let start = i + 1
            var j = start
            while j < n {
                let c = b[j]
                if c == UInt8(ascii: "\"") {
                    i = j + 1
                    return UnsafeRawBufferPointer(rebasing: b[start..<j])
                }
                guard c >= 0x20, c < 0x7F, c != UInt8(ascii: "\\") else { return nil }
                j += 1
            }
            return nil
        }
        skipSpace()
        guard i < n, b[i] == UInt8(ascii: "{") else { return false }
        i += 1
        skipSpace()
        if i < n, b[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                skipSpace()
                guard let key = string() else { return false }
                skipSpace()
                guard i < n, b[i] == UInt8(ascii: ":") else { return false }
                i += 1
                skipSpace()
                let value: UnsafeRawBufferPointer?
                if i + 4 <= n, b[i] == UInt8(ascii: "n"), b[i + 1] == UInt8(ascii: "u"), b[i + 2] == UInt8(ascii: "l"),
                   b[i + 3] == UInt8(ascii: "l") {
                    i += 4
                    value = nil
                } else {
                    guard let text = string() else { return false }
                    value = text
                }
                guard member(key, value) else { return false }
                skipSpace()
                guard i < n else { return false }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                guard b[i] == UInt8(ascii: "}") else { return false }
                i += 1
                break
            }
        }
        skipSpace()
        return i == n
    }

    /// Whether `key` is spelled `name`.
    static func key(_ key: UnsafeRawBufferPointer, is name: StaticString) -> Bool {
        guard key.count == name.utf8CodeUnitCount, let base = key.baseAddress else { return false }
        return memcmp(base, name.utf8Start, key.count) == 0
    }

    static func text(_ b: UnsafeRawBufferPointer) -> String { String(decoding: b, as: UTF8.self) }
}

extension AgreementDetailsUpdated {
    /// The `FlatJSON` fast path; nil when the data is outside its subset.
    init?(flatJSON data: UnsafeRawBufferPointer) {
        var agreementID: AgreementID?, agencyType: AgencyType?, county: String?, moaURL: String?, sourceEdition: String?
        var seen: UInt8 = 0
        func once(_ bit: UInt8) -> Bool {
            defer { seen |= bit }
            return seen & bit == 0
        }
        let ok = FlatJSON.scan(data) { key, value in
            if FlatJSON.key(key, is: "agreement_id") {
                guard once(1), let value, let id = AgreementID(FlatJSON.text(value)) else { return false }
                agreementID = id
            } else if FlatJSON.key(key, is: "agency_type") {
                guard once(2), let value, let type = AgencyType(rawValue: FlatJSON.text(value)) else { return false }
                agencyType = type
            } else if FlatJSON.key(key, is: "county") {
                guard once(4) else { return false }
                county = value.map(FlatJSON.text)
            } else if FlatJSON.key(key, is: "moa_url") {
                guard once(8) else { return false }
                moaURL = value.map(FlatJSON.text)
            } else if FlatJSON.key(key, is: "source_edition") {
                guard once(16), let value else { return false }
                sourceEdition = FlatJSON.text(value)
            } else {
                return false
            }
            return true
        }
        guard ok, let agreementID, let agencyType, let sourceEdition else { return nil }
        self.init(agreementID: agreementID, agencyType: agencyType, county: county, moaURL: moaURL, sourceEdition: sourceEdition)
    }
}

extension AgreementRegistered {
    /// The `FlatJSON` fast path; nil when the data is outside its subset.
    init?(flatJSON data: UnsafeRawBufferPointer) {
        var agreementID: AgreementID?, agencyID: AgencyID?, agencyName: String?, agencyType: AgencyType?
        var county: String?, model: Model?, signedOn: FloridaDate?, moaURL: String?, sourceEdition: String?
        var seen: UInt16 = 0
        func once(_ bit: UInt16) -> Bool {
            defer { seen |= bit }
            return seen & bit == 0
        }
        let ok = FlatJSON.scan(data) { key, value in
            if FlatJSON.key(key, is: "agreement_id") {
                guard once(1), let value, let id = AgreementID(FlatJSON.text(value)) else { return false }
                agreementID = id
            } else if FlatJSON.key(key, is: "agency_id") {
                guard once(2), let value, let id = AgencyID(slug: FlatJSON.text(value)) else { return false }
                agencyID = id
            } else if FlatJSON.key(key, is: "agency_name") {
                guard once(4), let value else { return false }
                agencyName = FlatJSON.text(value)
            } else if FlatJSON.key(key, is: "agency_type") {
                guard once(8), let value, let type = AgencyType(rawValue: FlatJSON.text(value)) else { return false }
                agencyType = type
            } else if FlatJSON.key(key, is: "county") {
                guard once(16) else { return false }
                county = value.map(FlatJSON.text)
            } else if FlatJSON.key(key, is: "model") {
                guard once(32), let value, let m = Model(rawValue: FlatJSON.text(value)) else { return false }
                model = m
            } else if FlatJSON.key(key, is: "signed_on") {
                guard once(64), let value, let date = FloridaDate(iso: FlatJSON.text(value)) else { return false }
                signedOn = date
            } else if FlatJSON.key(key, is: "moa_url") {
                guard once(128) else { return false }
                moaURL = value.map(FlatJSON.text)
            } else if FlatJSON.key(key, is: "source_edition") {
                guard once(256), let value else { return false }
                sourceEdition = FlatJSON.text(value)
            } else {
                return false
            }
            return true
        }
        guard ok, let agreementID, let agencyID, let agencyName, let agencyType, let model, let signedOn, let sourceEdition
        else { return nil }
        self.init(agreementID: agreementID, agencyID: agencyID, agencyName: agencyName, agencyType: agencyType,
                  county: county, model: model, signedOn: signedOn, moaURL: moaURL, sourceEdition: sourceEdition)
    }
}
