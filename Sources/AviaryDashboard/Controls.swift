import AviaryModel
import Foundation

/// What a person can do to a rollout from its page: the verbs of `aviary` (and of Argo's
/// dashboard), each offered only where Argo would carry it out.
public enum DashboardAction: Sendable, Equatable {
    case promote
    case promoteFull
    case abort
    case retry
    case pause
    case resume
    case restart
    case undo(toRevision: Int)
    case setImage(container: String, image: String)

    /// The path segment of the action's form (`/dashboard/rollouts/NS/NAME/SEGMENT`).
    public var segment: String {
        switch self {
        case .promote: "promote"
        case .promoteFull: "promote-full"
        case .abort: "abort"
        case .retry: "retry"
        case .pause: "pause"
        case .resume: "resume"
        case .restart: "restart"
        case .undo: "undo"
        case .setImage: "set-image"
        }
    }

    /// The button's words.
    public var label: String {
        switch self {
        case .promote: "Promote"
        case .promoteFull: "Promote full"
        case .abort: "Abort"
        case .retry: "Retry"
        case .pause: "Pause"
        case .resume: "Resume"
        case .restart: "Restart"
        case .undo(let revision): "Undo to revision \(revision)"
        case .setImage: "Set image"
        }
    }

    /// What the page says once the daemon took it.
    public var done: String {
        switch self {
        case .promote: "Promoted: the rollout goes on to its next step."
        case .promoteFull: "Promoted fully: the new version becomes stable, skipping the remaining steps."
        case .abort: "Aborted: traffic goes back to the stable version."
        case .retry: "Retried: the rollout runs its steps again."
        case .pause: "Paused."
        case .resume: "Resumed."
        case .restart: "Restart requested: the pods are replaced one by one."
        case .undo(let revision): "Rolled back to revision \(revision): a new revision with its pod template starts."
        case .setImage(let container, let image): "Set the image of \(container) to \(image): a new revision starts."
        }
    }

    /// The question asked before a destructive action; nil for the others.
    public var confirmation: String? {
        switch self {
        case .promoteFull: "Promote fully? The remaining steps, pauses and analyses are skipped."
        case .abort: "Abort? All traffic goes back to the stable version and the canary scales down."
        case .restart: "Restart every pod of this rollout?"
        case .undo(let revision): "Roll back to revision \(revision)? This starts a new rollout of its pod template."
        case .setImage: "Set the image? This starts a new rollout."
        default: nil
        }
    }

    /// The action a form posted (`segment` and its fields); nil when the segment is not one, or a
    /// field is missing or malformed (the message says which and how to fix it).
    public static func parse(segment: String, fields: [String: String]) -> Result<DashboardAction, DashboardRefusal> {
        switch segment {
        case "promote": return .success(.promote)
        case "promote-full": return .success(.promoteFull)
        case "abort": return .success(.abort)
        case "retry": return .success(.retry)
        case "pause": return .success(.pause)
        case "resume": return .success(.resume)
        case "restart": return .success(.restart)
        case "undo":
            guard let text = fields["revision"], let revision = Int(text), revision > 0 else {
                return .failure(
                    DashboardRefusal(status: 400, message: "undo needs the field revision, a revision number such as 2")
                )
            }
            return .success(.undo(toRevision: revision))
        case "set-image":
            let container = (fields["container"] ?? "").trimmingCharacters(in: .whitespaces)
            let image = (fields["image"] ?? "").trimmingCharacters(in: .whitespaces)
            guard !container.isEmpty, !image.isEmpty, !image.contains(where: \.isWhitespace) else {
                return .failure(
                    DashboardRefusal(
                        status: 400,
                        message: "set image needs the fields container (a container name, or * for all) and image "
                            + "(such as registry/app:v2, without spaces)"))
            }
            return .success(.setImage(container: container, image: image))
        default:
            return .failure(
                DashboardRefusal(
                    status: 404,
                    message: "no action \"\(segment)\"; the actions are promote, promote-full, abort, retry, pause, "
                        + "resume, restart, undo and set-image"))
        }
    }

    /// Why Argo would not carry out this action on the rollout as it is now, or nil when it would.
    /// The page disables the button; the daemon refuses a stale request (a promote sent from a
    /// page that showed a pause that has since ended) with this message and changes nothing.
    public func refusal(on rollout: Rollout) -> String? {
        let name = rollout.metadata.name ?? ""
        let status = rollout.status
        let phase = status?.phase
        let aborted = status?.isAborted ?? false
        let phaseWord = phase?.rawValue ?? "not yet reconciled"
        switch self {
        case .promote:
            if aborted {
                return
                    "rollout \"\(name)\" is aborted: Retry runs its steps again, Promote full makes the new version stable"
            }
            guard phase == .paused else {
                return "rollout \"\(name)\" is not paused (it is \(phaseWord)), so there is no pause to promote past"
            }
            return nil
        case .promoteFull:
            guard phase != .healthy else {
                return "rollout \"\(name)\" is Healthy: its version is already stable, there is nothing to promote"
            }
            return nil
        case .abort:
            if aborted { return "rollout \"\(name)\" is already aborted" }
            guard phase == .progressing || phase == .paused else {
                return "rollout \"\(name)\" is \(phaseWord): only a progressing or paused update can be aborted"
            }
            return nil
        case .retry:
            guard aborted else { return "rollout \"\(name)\" is not aborted, so there is nothing to retry" }
            return nil
        case .pause:
            guard !rollout.spec.isPaused else { return "rollout \"\(name)\" is already paused" }
            return nil
        case .resume:
            guard rollout.spec.isPaused else {
                return "rollout \"\(name)\" was not paused with Pause; a pause step is passed with Promote"
            }
            return nil
        case .restart, .setImage:
            return nil
        case .undo:
            return nil
        }
    }

    /// The actions the page offers on every rollout, in the order of their buttons.
    public static let buttons: [DashboardAction] = [.promote, .promoteFull, .abort, .retry, .pause, .resume, .restart]
}

/// A request the dashboard refuses: the HTTP status and what to tell the person.
public struct DashboardRefusal: Error, Sendable, Equatable {
    public var status: Int
    public var message: String

    public init(status: Int, message: String) {
        self.status = status
        self.message = message
    }
}
