export { RunMarkers, markersForRun, SliceMarker, markerPath, markersDir, readRunMarkers, pruneMarkers, type MarkerScope, type MarkerState } from "./markers.js";
export { StepLaunch, EXECUTORS, readStepLaunch, writeStepLaunch, stepLaunchPath, launchDir, runArgs, type Executor } from "./plan.js";
export { stepStatus, formatStatus, missingSlices, type StepStatus, type SliceStatus, type RunState, type QueueView } from "./status.js";
export { runLocalStep, type LwmInvocation, type LocalStepResult } from "./local.js";
export { slurmScripts, trainScript, submitSlurm, squeue, SlurmJobs, slurmJobsPath, type SubmittedStep, type TrainScriptOptions } from "./slurm.js";
export { k8sManifests, k8sYaml, K8S_DEFAULTS, type K8sSettings, type Manifest } from "./k8s.js";
export { launchLocal, launchSlurm, launchK8s, dryRun, launchStatus, waitSlurm, stepLaunches, type LaunchRequest, type SlurmLaunch } from "./launch.js";
