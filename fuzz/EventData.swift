// libFuzzer target: stored event data as every reader decodes it (daemon, rebuild,
// history, export). Input: byte 0 picks the event type, the rest is the data.
// Checks, besides "no crash": decoded events re-encode (`encodedData()`) to data that
// decodes to the same event.
// Built by scripts/fuzz together with Sources/Workflow/Domain (same module).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventData(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let types = DomainEvent.eventTypes
    let type = types[Int(bytes[0]) % types.count]
    let data = Data(bytes: bytes + 1, count: size - 1)
    guard let event = try? DomainEvent.decode(type: type, data: data) else { return 0 }
    let encoded = event.encodedData()
    guard let again = try? DomainEvent.decode(type: type, data: encoded), again == event else {
        fatalError("encodedData() does not decode back to the same \(type): \(String(decoding: encoded, as: UTF8.self))")
    }
    return 0
}
