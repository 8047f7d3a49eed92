// crd-check: validates custom resources against the OpenAPI schemas of their
// CRDs, as compiled into the kubernetes-models packages
// (@kubernetes-models/keda: KEDA's CRDs; @kubernetes-models/prometheus-operator:
// the Prometheus Operator's). Reads a JSON array of objects on stdin; prints
// one line per object, "ok KIND NAME" or "error KIND NAME: message"; exits 1
// when an object is invalid, 2 when its kind is not known here.
//
//   MOKA_CRD_CHECK_MODULES=<dir>/node_modules node crd-check.mjs < objects.json
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// The packages are installed outside the repository (scripts/setup.sh), in
// the node_modules directory MOKA_CRD_CHECK_MODULES names. Their model files
// are imported by path (the packages' "exports" map is for bundlers).
const modules = process.env.MOKA_CRD_CHECK_MODULES;
if (!modules || !existsSync(join(modules, "@kubernetes-models"))) {
  console.error(`crd-check: no @kubernetes-models packages in MOKA_CRD_CHECK_MODULES=${modules ?? ""} (run scripts/setup.sh)`);
  process.exit(2);
}
const load = async (file) => import(pathToFileURL(join(modules, file + ".js")).href);

const KINDS = {
  "keda.sh/v1alpha1/ScaledObject": ["@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject", "ScaledObject"],
  "keda.sh/v1alpha1/TriggerAuthentication": ["@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication", "TriggerAuthentication"],
  "monitoring.coreos.com/v1/PodMonitor": ["@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor", "PodMonitor"],
  "monitoring.coreos.com/v1/ServiceMonitor": ["@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor", "ServiceMonitor"],
};

const objects = JSON.parse(readFileSync(0, "utf8"));
let status = 0;
for (const obj of objects) {
  const id = `${obj.apiVersion}/${obj.kind}`;
  const name = obj.metadata?.name ?? "?";
  const entry = KINDS[id];
  if (!entry) {
    console.log(`unknown ${obj.kind} ${name}: no CRD schema for ${id}`);
    status = Math.max(status, 2);
    continue;
  }
  const mod = await load(entry[0]);
  try {
    new mod[entry[1]](obj).validate();
    console.log(`ok ${obj.kind} ${name}`);
  } catch (e) {
    console.log(`error ${obj.kind} ${name}: ${e.message}`);
    status = Math.max(status, 1);
  }
}
process.exit(status);
