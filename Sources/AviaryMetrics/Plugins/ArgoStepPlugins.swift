import AviaryCore
import AviaryGoPlugin
import AviaryJSON
import AviaryModel

/// Argo Rollouts' step plugins, run as Argo's controller runs them: the binaries that
/// `stepPlugins` of `argo-rollouts-config` lists, started by an `ArgoPluginHost` of kind `.step`
/// and called through their `RpcStepPlugin` (Argo's `StepPluginRPC`): `Run`, `Terminate` and
/// `Abort`, each with the Rollout (as `RolloutGoTypes` sends it) and the step's context.
public struct ArgoStepPlugins: StepPluginRunner {
    let host: ArgoPluginHost

    /// Plugins started by `host`, which must be of kind `.step`.
    public init(host: ArgoPluginHost) { self.host = host }

    public func perform(_ call: StepPlugins.Call, rollout: Rollout) async -> StepPlugins.Outcome {
        if await host.isDisabled(call.name) { return .disabled }
        do {
            _ = try await host.plugin(named: call.name)
        } catch {
            return .unavailable("could not create step plugin at index \(call.index) : \(error)")
        }
        let (method, typeName) =
            switch call.operation {
            case .run: ("Run", "step.RunArgs")
            case .terminate: ("Terminate", "step.TerminateArgs")
            case .abort: ("Abort", "step.AbortArgs")
            }
        var context: [String: GobValue] = ["PluginName": .string(call.name)]
        if let config = call.config { context["Config"] = .bytes(Array(config.serialized())) }
        if let status = call.status { context["Status"] = .bytes(Array(status.serialized())) }
        let arguments = GobValue.structure(["Rollout": RolloutGoTypes.rollout(rollout), "Context": .structure(context)])
        let reply: GobValue
        do {
            reply = try await host.call(
                call.name, "Plugin." + method,
                .interface(name: typeName, type: StepGoTypes.arguments(typeName), value: arguments))
        } catch {
            return .error("\(method) rpc call error: \(error)")
        }
        guard case .structure(let fields) = reply else {
            return .error("the plugin answered \(method) with \(reply), not a Response")
        }
        if let message = fields["Error"].flatMap(GoTypes.rpcError) { return .error(message) }
        guard case .structure(let result)? = fields["Result"] else {
            return .result(phase: "", message: "", requeueAfter: 0, status: nil)
        }
        var status: JSONValue?
        if case .bytes(let bytes)? = result["Status"], !bytes.isEmpty {
            guard let parsed = try? JSONValue(parsing: bytes) else {
                return .error("the plugin's \(method) status is not JSON")
            }
            status = parsed
        }
        // `RequeueAfter` is a Go `time.Duration`, in nanoseconds.
        let requeue = Double(result["RequeueAfter"]?.intValue ?? 0) / 1e9
        return .result(
            phase: result["Phase"]?.stringValue ?? "", message: result["Message"]?.stringValue ?? "",
            requeueAfter: requeue, status: status)
    }
}

/// The arguments of a step plugin's calls as gob describes them (`step.RunArgs` and its two
/// siblings: the Rollout and `types.RpcStepContext`).
enum StepGoTypes {
    static let context = GobType.structure(
        name: "RpcStepContext",
        fields: [
            GobField("PluginName", .string), GobField("Config", .named("json.RawMessage", .bytes)),
            GobField("Status", .named("json.RawMessage", .bytes)),
        ])

    static func arguments(_ name: String) -> GobType {
        .structure(
            name: name.replacingOccurrences(of: "step.", with: ""),
            fields: [GobField("Rollout", .pointer(RolloutGoTypes.rollout)), GobField("Context", .pointer(context))])
    }
}
