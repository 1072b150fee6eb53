import { z } from "zod";
import { strictObject } from "./strict.js";

/** sbatch options for `lwm launch --executor slurm` (flags of the same name override them). */
export const SlurmLaunchConfig = strictObject({
  partition: z.string().min(1).optional(),
  account: z.string().min(1).optional(),
  /** Wall-clock limit per slice, as sbatch takes it ("30:00", "1-00:00:00"). */
  time: z.string().min(1).optional(),
  /** Cores per slice; also the slice's `--threads`. */
  cpusPerTask: z.number().int().positive().optional(),
  /** Memory per slice, as sbatch takes it ("8G"). */
  mem: z.string().min(1).optional(),
});
export type SlurmLaunchConfig = z.infer<typeof SlurmLaunchConfig>;

/** Where the Kubernetes Jobs run and find the shared volume. */
export const K8sLaunchConfig = strictObject({
  image: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  /** PersistentVolumeClaim of the shared volume holding the recipe, its inputs and --out. */
  volumeClaim: z.string().min(1).optional(),
  /** Where that volume is mounted in every pod (the recipe and --out must lie under it). */
  mountPath: z.string().startsWith("/").optional(),
});
export type K8sLaunchConfig = z.infer<typeof K8sLaunchConfig>;

/** The recipe's `launch` section: defaults for `lwm launch`. */
export const LaunchConfig = strictObject({
  tasks: z.number().int().positive().optional(),
  parallel: z.number().int().positive().optional(),
  slurm: SlurmLaunchConfig.optional(),
  k8s: K8sLaunchConfig.optional(),
});
export type LaunchConfig = z.infer<typeof LaunchConfig>;
