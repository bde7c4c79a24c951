// libFuzzer target: command payloads as the daemon reads them from the queue.
// Input: byte 0 picks the command type, the rest is the payload text.
// Checks, besides "no crash": the strict JSON parser's value re-encodes canonically
// and parses back equal; a payload that `DomainCommand.parse` accepts re-encodes
// (`payloadJSON()`) to a payload that parses back to the same command.
// Built by scripts/fuzz together with Sources/Workflow/Domain (same module).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPayload(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let types = DomainCommand.commandTypes
    let type = types[Int(bytes[0]) % types.count]
    let payload = Data(bytes: bytes + 1, count: size - 1)
    if let value = try? JSONValue.parse(strict: payload) {
        let canonical = canonicalJSON(value)
        guard let back = try? JSONValue.parse(strict: canonical), back == value else {
            fatalError("canonical JSON of a parsed value does not parse back equal: \(String(decoding: canonical, as: UTF8.self))")
        }
    }
    if case .success(let command) = DomainCommand.parse(type: type, payload: payload) {
        let canonical = command.payloadJSON()
        guard case .success(let again) = DomainCommand.parse(type: type, payload: canonical), again == command else {
            fatalError("payloadJSON() does not parse back to the same \(type): \(String(decoding: canonical, as: UTF8.self))")
        }
    }
    return 0
}
