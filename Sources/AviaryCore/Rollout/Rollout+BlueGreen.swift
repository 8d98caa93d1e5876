import AviaryModel
import Foundation

extension ReconcileContext {
    /// One reconcile of a blue-green rollout: preview the new version beside the active one, run
    /// pre-promotion analysis, pause if asked, scale it to full, cut the active Service over, run
    /// post-promotion analysis, then let the old version go after `scaleDownDelaySeconds`.
    mutating func reconcileBlueGreen(_ blueGreen: BlueGreenView) {
        if isFullyPromoted {
            reconcilePromotedBlueGreen(blueGreen)
            return
        }
        if status.abort {
            reconcileAbortedBlueGreen(blueGreen)
            return
        }
        guard let newRS else { return }
        if newRS.scaleDownDeadline != nil, newRS.replicas == view.replicas, newRS.availableReplicas >= view.replicas {
            // Fast rollback: the template is back to a version still scaled up in its scale-down
            // window, so the active Service simply switches back to it.
            clearDeadline(newRS)
            cutOver(blueGreen)
            terminateRuns(except: [])
            promoteStable(reason: "fast rollback to a scaled-up ReplicaSet", completion: .fastRolledBack)
            return
        }

        _ = scale(stableRS, to: view.replicas)
        point(blueGreen.activeService, at: status.activeSelector ?? status.stableRS)
        point(blueGreen.previewService, at: currentHash)
        status.previewSelector = currentHash

        let isCutOver = status.activeSelector == currentHash
        let isPreDone = blueGreen.prePromotion == nil || status.preRun?.phase == .successful
        let isPauseDone =
            !blueGreen.pausesBeforePromotion
            || (status.controllerPause && status.pauseCondition("BlueGreenPause") == nil)
        let isPromoted = isCutOver || (isPreDone && isPauseDone)
        let target = isPromoted ? view.replicas : (blueGreen.previewReplicaCount ?? view.replicas)
        var keep: Set<String> = []
        defer { terminateRuns(except: status.abort ? [] : keep) }
        if let run = status.preRun { keep.insert(run.name) }
        if let run = status.postRun { keep.insert(run.name) }

        guard !isHalted else { return }
        clearDeadline(newRS)
        if scale(newRS, to: target) { return }
        let isReady = newRS.replicas == target && newRS.availableReplicas >= target
        guard isReady else { return }

        if !isCutOver, let analysis = blueGreen.prePromotion {
            let run = ensureRun(status.preRun, kind: .prePromotion, suffix: "pre", analysis: analysis, stepIndex: nil)
            status.preRun = run
            keep.insert(run.name)
            guard judge(run) else { return }
        }
        if !isCutOver && blueGreen.pausesBeforePromotion && !isPauseDone {
            if let condition = status.pauseCondition("BlueGreenPause") {
                if let seconds = blueGreen.autoPromotionSeconds {
                    let resumeAt = condition.startTime.addingTimeInterval(Double(seconds))
                    if now >= resumeAt {
                        status.pauseConditions.removeAll { $0.reason == "BlueGreenPause" }
                        event("RolloutResumed", "Rollout is resumed after autoPromotionSeconds")
                    } else {
                        requeue(at: resumeAt)
                    }
                }
            } else if !status.controllerPause {
                status.pauseConditions.append(.init(reason: "BlueGreenPause", startTime: now))
                status.controllerPause = true
                event("RolloutPaused", "Rollout is paused (BlueGreenPause)")
                if let seconds = blueGreen.autoPromotionSeconds {
                    requeue(at: now.addingTimeInterval(Double(seconds)))
                }
            }
            return
        }
        guard target == view.replicas else { return }
        if !isCutOver {
            cutOver(blueGreen)
        }
        // Argo's target-group check: once the active Service selects the new pods, they must be
        // registered in its target groups before post-promotion analysis or the stable switch.
        if observed.checksTargets, status.postRun == nil, observed.targetsVerified != true {
            // Not checked yet (the Service switched in this reconcile): look again soon.
            if observed.targetsVerified == nil { requeue(at: now.addingTimeInterval(5)) }
            return
        }
        if let analysis = blueGreen.postPromotion {
            let run = ensureRun(
                status.postRun, kind: .postPromotion, suffix: "post", analysis: analysis, stepIndex: nil)
            status.postRun = run
            keep.insert(run.name)
            guard judge(run) else { return }
        }
        promoteStable(reason: "Completed blue-green update")
    }

    mutating func cutOver(_ blueGreen: BlueGreenView) {
        status.activeSelector = currentHash
        status.previewSelector = currentHash
        status.controllerPause = false
        point(blueGreen.activeService, at: currentHash)
        point(blueGreen.previewService, at: currentHash)
    }

    mutating func reconcilePromotedBlueGreen(_ blueGreen: BlueGreenView) {
        terminateRuns(except: [])
        status.activeSelector = currentHash
        status.previewSelector = currentHash
        point(blueGreen.activeService, at: currentHash)
        point(blueGreen.previewService, at: currentHash)
        clearDeadline(newRS)
        if scale(newRS, to: view.replicas) { return }
        let others = otherReplicaSets.filter { $0.replicas > 0 }.sorted { $0.revision > $1.revision }
        for (index, replicaSet) in others.enumerated() {
            // `scaleDownDelayRevisionLimit`: only the newest that many wait out the delay.
            if let limit = blueGreen.scaleDownDelayRevisionLimit, index >= limit {
                _ = scale(replicaSet, to: 0)
            } else {
                _ = scaleDownAfterDelay(replicaSet, delaySeconds: blueGreen.scaleDownDelaySeconds)
            }
        }
    }

    /// Abort: the active Service goes back to the stable version (it never left unless the
    /// post-promotion analysis failed), and the new version is scaled down after
    /// `abortScaleDownDelaySeconds` (0: kept).
    mutating func reconcileAbortedBlueGreen(_ blueGreen: BlueGreenView) {
        terminateRuns(except: [])
        status.activeSelector = status.stableRS
        status.previewSelector = status.stableRS
        point(blueGreen.activeService, at: status.stableRS)
        point(blueGreen.previewService, at: status.stableRS)
        clearDeadline(stableRS)
        if scale(stableRS, to: view.replicas) { return }
        if let newRS, blueGreen.abortScaleDownDelaySeconds > 0 {
            _ = scaleDownAfterDelay(newRS, delaySeconds: blueGreen.abortScaleDownDelaySeconds)
        }
    }
}
