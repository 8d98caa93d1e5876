import AviaryRoutes
import Foundation
import NIOConcurrencyHelpers
import NIOSSL

/// The TLS of one listener, loaded from its files: the server context each accepted connection
/// gets, and what the files looked like when they were read, so a rotated certificate is seen.
///
/// Swapped whole: a connection takes the context current when it is accepted and keeps it, so
/// a reload never touches an open connection.
final class ListenerTLSContext: Sendable {
    /// One loaded configuration.
    private struct Loaded: Sendable {
        let definition: ListenerTLS
        let context: NIOSSLContext
        let stamps: [FileStamp]
    }

    /// A file's identity and version: a rotation by rename changes the inode, one in place the
    /// modification time or size.
    struct FileStamp: Equatable, Sendable {
        let path: String
        let inode: UInt64
        let modified: Date?
        let size: UInt64

        init(_ path: String) {
            self.path = path
            let attributes = (try? FileManager.default.attributesOfItem(atPath: path)) ?? [:]
            inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
            modified = attributes[.modificationDate] as? Date
            size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
        }
    }

    private let loaded: NIOLockedValueBox<Loaded>

    /// Loads `definition`; `path` names it in errors (`listeners[0].tls`).
    init(_ definition: ListenerTLS, path: String) throws(ListenerTLSError) {
        loaded = NIOLockedValueBox(try Self.load(definition, path: path))
    }

    /// The definition loaded.
    var definition: ListenerTLS { loaded.withLockedValue { $0.definition } }

    /// The context for a connection accepted now.
    var context: NIOSSLContext { loaded.withLockedValue { $0.context } }

    /// Re-reads the files if one changed since they were read (a certificate rotated on disk);
    /// returns whether it did. On an error the loaded context stays in force.
    @discardableResult
    func reloadIfChanged(path: String) throws(ListenerTLSError) -> Bool {
        let current = loaded.withLockedValue { $0 }
        guard current.stamps != Self.stamps(of: current.definition) else { return false }
        let fresh = try Self.load(current.definition, path: path)
        loaded.withLockedValue { $0 = fresh }
        return true
    }

    private static func stamps(of definition: ListenerTLS) -> [FileStamp] {
        definition.certificates.flatMap { [FileStamp($0.certificateFile), FileStamp($0.keyFile)] }
    }

    /// A certificate chain and key as read, with the names it serves.
    private struct Identity: Sendable {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        let serverNames: [String]

        func serves(_ name: String) -> Bool {
            serverNames.contains { pattern in
                if pattern.hasPrefix("*.") {
                    let suffix = pattern.dropFirst(1)
                    return name.hasSuffix(suffix) && !name.dropLast(suffix.count).contains(".")
                        && name.count > suffix.count
                }
                return pattern == name
            }
        }
    }

    private static func load(_ definition: ListenerTLS, path: String) throws(ListenerTLSError) -> Loaded {
        guard !definition.certificates.isEmpty else {
            throw ListenerTLSError(
                "\(path).certificates: no certificate; give at least one {certificateFile, keyFile}")
        }
        // Stamped before reading, so a file replaced while it is read is read again next time.
        let stamps = stamps(of: definition)
        var identities: [Identity] = []
        for (index, files) in definition.certificates.enumerated() {
            let entry = "\(path).certificates[\(index)]"
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMFile(files.certificateFile)
            } catch {
                throw ListenerTLSError(
                    "\(entry).certificateFile: cannot read a PEM certificate from \(files.certificateFile) (\(error)); "
                        + "give the path of the certificate chain, leaf first")
            }
            guard !chain.isEmpty else {
                throw ListenerTLSError(
                    "\(entry).certificateFile: \(files.certificateFile) holds no PEM certificate; "
                        + "give the path of the certificate chain, leaf first")
            }
            let key: NIOSSLPrivateKey
            do {
                key = try NIOSSLPrivateKey(file: files.keyFile, format: .pem)
            } catch {
                throw ListenerTLSError(
                    "\(entry).keyFile: cannot read a PEM private key from \(files.keyFile) (\(error)); "
                        + "give the path of the certificate's unencrypted key")
            }
            let names = (files.serverNames ?? []).map { $0.lowercased() }
            for (nameIndex, name) in names.enumerated() where !isValidServerName(name) {
                throw ListenerTLSError(
                    "\(entry).serverNames[\(nameIndex)]: \"\(name)\" is not a host name; write it as api.example.com "
                        + "or *.example.com")
            }
            identities.append(Identity(chain: chain, key: key, serverNames: names))
        }
        let first = identities[0]
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: first.chain.map { .certificate($0) }, privateKey: .privateKey(first.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        // h2 first: a client that speaks both gets HTTP/2 (`ProtocolSniffer` finds its preface).
        configuration.applicationProtocols = ["h2", "http/1.1"]
        let others = Array(identities.dropFirst())
        if !others.isEmpty {
            configuration.sslContextCallback = { values, promise in
                guard let name = values.serverHostname?.lowercased(),
                    let chosen = others.first(where: { $0.serves(name) })
                else {
                    promise.succeed(.noChanges)
                    return
                }
                var override = NIOSSLContextConfigurationOverride()
                override.certificateChain = chosen.chain.map { .certificate($0) }
                override.privateKey = .privateKey(chosen.key)
                promise.succeed(override)
            }
        }
        do {
            return Loaded(
                definition: definition, context: try NIOSSLContext(configuration: configuration), stamps: stamps)
        } catch {
            throw ListenerTLSError(
                "\(path).certificates[0]: the certificate and key do not make a TLS context (\(error)); "
                    + "check the key belongs to the certificate")
        }
    }

    /// A DNS name, or one with a leading `*.` label.
    static func isValidServerName(_ name: String) -> Bool {
        let labels = (name.hasPrefix("*.") ? String(name.dropFirst(2)) : name).split(
            separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty
            && labels.allSatisfy { label in
                !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                    && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
    }
}

/// A listener's TLS could not be loaded; `problem` names the field, the file and the fix.
struct ListenerTLSError: Error {
    let problem: String

    init(_ problem: String) {
        self.problem = problem
    }
}
