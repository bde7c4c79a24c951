import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A signed checkpoint: the log's head (position and hash) at a time, signed with
/// Ed25519 by the log's checkpoint key (docs/export-format.md, "Signed checkpoints").
///
/// Like a Certificate Transparency signed tree head, it lets anyone show later that a
/// log (live or exported) is the one that was published: the log must hold `hash` at
/// `position`, and its chain must verify up to there. A later log extends an earlier
/// one when it holds the earlier checkpoint's hash at the earlier position.
public struct Checkpoint: Sendable, Hashable, Codable {
    /// The document's format, `sbie-checkpoint/1`.
    public static let format = "sbie-checkpoint/1"

    /// The head the checkpoint covers: global position (>= 1) and its event's hash.
    public var head: ChainHead
    /// When it was signed: the database's clock (UTC, microseconds).
    public var signedAt: Timestamp
    /// The signer's Ed25519 public key, 32 bytes.
    public var publicKey: [UInt8]
    /// Ed25519 signature over `signedMessage`, 64 bytes.
    public var signature: [UInt8]

    public init(head: ChainHead, signedAt: Timestamp, publicKey: [UInt8], signature: [UInt8]) {
        self.head = head
        self.signedAt = signedAt
        self.publicKey = publicKey
        self.signature = signature
    }

    /// The bytes signed: four LF-terminated ASCII lines,
    /// `sbie-checkpoint/1`, the position in decimal, the hash in lowercase hex, and
    /// `signedAt` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    public static func message(head: ChainHead, signedAt: Timestamp) -> [UInt8] {
        Array("\(format)\n\(head.position)\n\(head.hashHex)\n\(signedAt.iso8601)\n".utf8)
    }

    public var signedMessage: [UInt8] { Self.message(head: head, signedAt: signedAt) }

    /// The key id: the first 16 hex digits of SHA-256 over the public key.
    public var keyID: String { CheckpointKey.keyID(of: publicKey) }

    /// Whether `signature` is `publicKey`'s valid signature of `signedMessage`.
    public var hasValidSignature: Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: signedMessage)
    }

    /// Checks the signature with a trusted public key (published by the log's operator),
    /// not the one the document names.
    /// - Throws: `CheckpointError.untrustedKey` when the document names another key,
    ///   `.badSignature` when the signature does not verify.
    public func verifySignature(trusting trusted: [UInt8]) throws {
        guard publicKey == trusted else {
            throw CheckpointError.untrustedKey("the checkpoint is signed by key \(keyID), not the trusted key \(CheckpointKey.keyID(of: trusted))")
        }
        guard hasValidSignature else { throw CheckpointError.badSignature("the signature does not verify for key \(keyID)") }
    }

    /// The published JSON document's members.
    enum CodingKeys: String, CodingKey {
        case format, position, hash, signedAt = "signed_at", keyID = "key_id", publicKey = "public_key", signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let format = try c.decode(String.self, forKey: .format)
        guard format == Self.format else {
            throw DecodingError.dataCorruptedError(forKey: .format, in: c, debugDescription: "format must be \(Self.format)")
        }
        let position = try c.decode(Int64.self, forKey: .position)
        guard position >= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .position, in: c, debugDescription: "position must be >= 1")
        }
        guard let hash = Hex.decode(try c.decode(String.self, forKey: .hash)), hash.count == 32 else {
            throw DecodingError.dataCorruptedError(forKey: .hash, in: c, debugDescription: "hash must be 64 lowercase hex digits")
        }
        let signedText = try c.decode(String.self, forKey: .signedAt)
        guard let signedAt = try? Timestamp(postgresText: signedText), signedAt.iso8601 == signedText else {
            throw DecodingError.dataCorruptedError(forKey: .signedAt, in: c, debugDescription: "signed_at must be YYYY-MM-DDTHH:MM:SS.ffffffZ")
        }
        guard let key = Data(base64Encoded: try c.decode(String.self, forKey: .publicKey)), key.count == 32 else {
            throw DecodingError.dataCorruptedError(forKey: .publicKey, in: c, debugDescription: "public_key must be 32 bytes in base64")
        }
        guard let signature = Data(base64Encoded: try c.decode(String.self, forKey: .signature)), signature.count == 64 else {
            throw DecodingError.dataCorruptedError(forKey: .signature, in: c, debugDescription: "signature must be 64 bytes in base64")
        }
        self.init(head: ChainHead(position: position, hash: hash), signedAt: signedAt, publicKey: Array(key),
                  signature: Array(signature))
        if let keyID = try c.decodeIfPresent(String.self, forKey: .keyID), keyID != self.keyID {
            throw DecodingError.dataCorruptedError(forKey: .keyID, in: c, debugDescription: "key_id does not match public_key")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.format, forKey: .format)
        try c.encode(head.position, forKey: .position)
        try c.encode(head.hashHex, forKey: .hash)
        try c.encode(signedAt.iso8601, forKey: .signedAt)
        try c.encode(keyID, forKey: .keyID)
        try c.encode(Data(publicKey).base64EncodedString(), forKey: .publicKey)
        try c.encode(Data(signature).base64EncodedString(), forKey: .signature)
    }

    /// The document as published: one line of JSON, keys sorted.
    public var document: String {
        (try? CanonicalJSON.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Reads a checkpoint document.
    /// - Throws: `CheckpointError.malformed` naming the member at fault.
    public static func parse(_ data: Data) throws -> Checkpoint {
        do {
            return try JSONDecoder().decode(Checkpoint.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            throw CheckpointError.malformed(context.debugDescription)
        } catch let DecodingError.keyNotFound(key, _) {
            throw CheckpointError.malformed("member \(key.stringValue) is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw CheckpointError.malformed("\(context.codingPath.map(\.stringValue).joined(separator: ".")): wrong type")
        } catch {
            throw CheckpointError.malformed("not a checkpoint document: \(error)")
        }
    }
}

/// Why a checkpoint or key was refused. `code` is stable.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case malformed(String)
    case keyFile(String)
    case untrustedKey(String)
    case badSignature(String)
    /// The log does not hold the checkpoint's hash at its position (or is shorter).
    case notInLog(position: Int64, String)
    /// The log's chain is broken at or before the checkpoint's position.
    case logBroken(position: Int64, String)
    /// The log is empty: there is no head to sign.
    case emptyLog

    public var code: String {
        switch self {
        case .malformed: return "checkpoint_malformed"
        case .keyFile: return "key_file"
        case .untrustedKey: return "untrusted_key"
        case .badSignature: return "bad_signature"
        case .notInLog: return "not_in_log"
        case .logBroken: return "log_broken"
        case .emptyLog: return "empty_log"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let m): return "malformed checkpoint: \(m)"
        case .keyFile(let m), .untrustedKey(let m), .badSignature(let m): return m
        case .notInLog(_, let m), .logBroken(_, let m): return m
        case .emptyLog: return "the event log is empty: nothing to sign"
        }
    }
}

/// An Ed25519 checkpoint signing key, read from a file that only its owner can read.
/// The private key never goes to the database.
///
/// File format: any number of lines starting with `#`, then one line with the 32-byte
/// private key (seed) in base64. The public key file (`keygen` writes it next to the
/// private one with `.pub` added) holds the 32-byte public key in base64.
public struct CheckpointKey: Sendable {
    /// The 32-byte private key (Ed25519 seed).
    private let seed: [UInt8]
    /// The 32-byte public key.
    public let publicKey: [UInt8]

    public init(_ privateKey: Curve25519.Signing.PrivateKey = .init()) {
        seed = Array(privateKey.rawRepresentation)
        publicKey = Array(privateKey.publicKey.rawRepresentation)
    }

    private var privateKey: Curve25519.Signing.PrivateKey {
        get throws { try Curve25519.Signing.PrivateKey(rawRepresentation: seed) }
    }
    /// The public key in base64 (what `--public-key` takes).
    public var publicKeyBase64: String { Data(publicKey).base64EncodedString() }
    public var keyID: String { Self.keyID(of: publicKey) }

    /// The first 16 hex digits of SHA-256 over a public key.
    public static func keyID(of publicKey: [UInt8]) -> String {
        String(Hex.encode(SHA256.hash(data: publicKey)).prefix(16))
    }

    /// Signs a head at a time.
    public func sign(_ head: ChainHead, at signedAt: Timestamp) throws -> Checkpoint {
        let signature = try privateKey.signature(for: Checkpoint.message(head: head, signedAt: signedAt))
        return Checkpoint(head: head, signedAt: signedAt, publicKey: publicKey, signature: Array(signature))
    }

    /// Reads a private key file.
    /// - Throws: `CheckpointError.keyFile` when the file is missing, not a regular file,
    ///   not owned by this user, readable or writable by group or others (mode must be
    ///   0600 or 0400), or not a key.
    public static func load(path: String) throws -> CheckpointKey {
        var info = stat()
        guard stat(path, &info) == 0 else { throw CheckpointError.keyFile("cannot read key file \(path): \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw CheckpointError.keyFile("key file \(path) is not a regular file") }
        guard info.st_uid == geteuid() else { throw CheckpointError.keyFile("key file \(path) is not owned by this user") }
        guard info.st_mode & 0o077 == 0 else {
            throw CheckpointError.keyFile(
                "key file \(path) is accessible by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 \(path)")
        }
        guard let text = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw CheckpointError.keyFile("cannot read key file \(path)")
        }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 1, let seed = Data(base64Encoded: lines[0]), seed.count == 32,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        else { throw CheckpointError.keyFile("key file \(path) does not hold one Ed25519 private key in base64") }
        return CheckpointKey(key)
    }

    /// Writes a new key to `path` (mode 0600, created exclusively: an existing file is
    /// never overwritten) and its public key to `path.pub` (mode 0644).
    /// - Throws: `CheckpointError.keyFile` when either file exists or cannot be written.
    public static func generate(path: String) throws -> CheckpointKey {
        let key = CheckpointKey()
        let secret = "# sbie checkpoint signing key (Ed25519, base64). Keep it secret: never in the database.\n"
            + "# public key: \(key.publicKeyBase64) (key id \(key.keyID))\n"
            + Data(key.seed).base64EncodedString() + "\n"
        try write(secret, to: path, mode: 0o600)
        do {
            try write(key.publicKeyBase64 + "\n", to: path + ".pub", mode: 0o644)
        } catch {
            unlink(path)
            throw error
        }
        return key
    }

    private static func write(_ text: String, to path: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw CheckpointError.keyFile("cannot create \(path): \(String(cString: strerror(errno)))") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        fchmod(fd, mode)
        do {
            try handle.write(contentsOf: Data(text.utf8))
            try handle.synchronize()
            try handle.close()
        } catch {
            unlink(path)
            throw CheckpointError.keyFile("cannot write \(path)")
        }
    }

    /// A trusted public key: the contents of a file (as `keygen` writes), or base64 text.
    /// - Throws: `CheckpointError.keyFile` when it is neither.
    public static func publicKey(fromFileOrBase64 argument: String) throws -> [UInt8] {
        let text = FileManager.default.contents(atPath: argument).map { String(decoding: $0, as: UTF8.self) } ?? argument
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 1, let key = Data(base64Encoded: lines[0]), key.count == 32,
              (try? Curve25519.Signing.PublicKey(rawRepresentation: key)) != nil
        else { throw CheckpointError.keyFile("--public-key: \(argument) is neither a public key file nor a 32-byte key in base64") }
        return Array(key)
    }
}

/// Checks checkpoints against an export's verification (see `ExportVerifier`, with
/// the checkpoints' positions watched).
///
/// - Throws: `CheckpointError.logBroken` when the export fails at or before the
///   checkpoint's position, `.notInLog` when it is shorter or holds another hash there.
public func checkCheckpoint(_ checkpoint: Checkpoint, against export: ExportVerification) throws {
    let position = checkpoint.head.position
    if let failure = export.failure, failure.position <= position {
        throw CheckpointError.logBroken(
            position: failure.position,
            "the log fails verification at position \(failure.position) (\(failure.code.rawValue)), at or before the checkpoint's position \(position)")
    }
    guard let hash = export.watched[position] else {
        throw CheckpointError.notInLog(
            position: position, "the log ends at position \(export.head.position), before the checkpoint's position \(position)")
    }
    guard hash == checkpoint.head.hash else {
        throw CheckpointError.notInLog(
            position: position,
            "position \(position) has hash \(Hex.encode(hash)) in the log, but the checkpoint signed \(checkpoint.head.hashHex): "
                + "the log is not the one checkpointed (rewritten at or before position \(position))")
    }
}
