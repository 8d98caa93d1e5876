/// The `rollouts-pod-template-hash` of a pod template: the same template gives the same hash on
/// every run and machine, so a restarted daemon finds its ReplicaSets again.
public enum PodTemplateHash {
    /// Hashes the canonical JSON of `template` (keys sorted, no whitespace) with 32-bit FNV-1a and
    /// renders the decimal value in Kubernetes' "safe" alphabet (no vowels, no 0/1/3), as Argo and
    /// Kubernetes do: e.g. `"5d8f7c9b6"`.
    ///
    /// The JSON comes from the model's `Encodable` conformance, so only fields present in the
    /// manifest count: adding a field with its default value changes the hash, as on Kubernetes.
    public static func compute<Template: Encodable>(_ template: Template) -> String {
        // The model types encode plain values only and never throw.
        let bytes = (try? CanonicalJSON.encode(template)) ?? []
        return safeEncode(String(fnv1a32(bytes)))
    }

    /// 32-bit FNV-1a over `bytes`.
    static func fnv1a32<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }

    /// Kubernetes' `rand.SafeEncodeString`: each character maps into an alphabet without vowels
    /// and look-alike digits, so hashes never spell words.
    static func safeEncode(_ text: String) -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String(text.utf8.map { alphabet[Int($0) % alphabet.count] })
    }
}
