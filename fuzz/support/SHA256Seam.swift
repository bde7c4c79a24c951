// Seam for fuzzing the import's parser without swift-crypto (C code that swiftc
// cannot build here with the fuzzer flags): the idempotency key's digest only.
// The digest does not affect parsing; the real SHA-256 is used everywhere else.
import Foundation

enum SHA256 {
    /// FNV-1a (64-bit), as 8 bytes: enough for the key's shape, not for its meaning.
    static func hash(data: Data) -> [UInt8] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return (0..<8).map { UInt8(truncatingIfNeeded: hash >> (8 * $0)) }
    }
}
