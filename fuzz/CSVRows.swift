// libFuzzer target: ICE's participating-agencies list as `sbie import` parses it
// (SwiftCSV, then the row validation). Input: the CSV text.
// Checks, besides "no crash": every row the import accepts is a `register_agreement`
// payload that `DomainCommand.parse` accepts (the daemon would not reject it for shape).
// Built by scripts/fuzz with SwiftCSV's sources, Sources/Workflow/Domain and the
// import's parsing code (the part of Sources/Workflow/Import without the database).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSVRows(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: bytes, count: size), as: UTF8.self)
    guard let parsed = try? IceImport.parse(csv: text, edition: "2025-07-18pm") else { return 0 }
    for row in parsed.rows {
        guard case .success = DomainCommand.parse(type: "register_agreement", payload: Data(row.payload.utf8)) else {
            fatalError("line \(row.line) was accepted by the import but its payload is not: \(row.payload)")
        }
    }
    return 0
}
