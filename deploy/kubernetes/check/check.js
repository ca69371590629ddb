// Checks the manifests in a directory (default: the one above this one): every document against
// the JSON schema of its kind from the Kubernetes API (kubernetes-models: types, required fields,
// allowed values; it does not flag unknown keys), then what no schema sees: the Service selects the
// Deployment's pods, its target port and the probes' ports name a container port, the Secret the
// pods read is the one in secret.example.yaml, the kustomization lists files that exist.
// Prints one line per problem and exits 1 when there is any; `npm ci` here first.
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');
const models = {
  'v1/Secret': require('kubernetes-models/v1/Secret').Secret,
  'v1/Service': require('kubernetes-models/v1/Service').Service,
  'apps/v1/Deployment': require('kubernetes-models/apps/v1/Deployment').Deployment,
};

const dir = path.resolve(process.argv[2] || path.join(__dirname, '..'));
const problems = [];
const objects = [];
let kustomization = null;
for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8'))) {
    if (doc.errors.length) { problems.push(`${file}: ${doc.errors[0].message}`); continue; }
    const o = doc.toJS();
    if (!o) continue;
    if (o.kind === 'Kustomization') { kustomization = { file, o }; continue; }
    const model = models[`${o.apiVersion}/${o.kind}`];
    if (!model) { problems.push(`${file}: ${o.apiVersion} ${o.kind} is not a kind this check knows`); continue; }
    try { new model(o).validate(); } catch (e) { problems.push(`${file}: ${o.kind} ${o.metadata && o.metadata.name}: ${e.message}`); }
    objects.push({ file, o });
  }
}

const byKind = (kind) => objects.filter((x) => x.o.kind === kind);
for (const { file, o: d } of byKind('Deployment')) {
  const pod = d.spec.template;
  const labels = (pod.metadata && pod.metadata.labels) || {};
  const ports = new Set(pod.spec.containers.flatMap((c) => (c.ports || []).flatMap((p) => [p.name, p.containerPort])));
  for (const c of pod.spec.containers) {
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const get = c[probe] && c[probe].httpGet;
      if (!get) problems.push(`${file}: container ${c.name} has no ${probe} over HTTP`);
      else if (!ports.has(get.port)) problems.push(`${file}: ${probe} port ${get.port} is not a port of container ${c.name}`);
    }
    for (const from of c.envFrom || []) {
      const name = from.secretRef && from.secretRef.name;
      if (name && !byKind('Secret').some((s) => s.o.metadata.name === name)) {
        problems.push(`${file}: container ${c.name} reads Secret ${name}, which no manifest here defines`);
      }
    }
  }
  for (const { file: sfile, o: s } of byKind('Service')) {
    const selected = Object.entries(s.spec.selector || {}).every(([k, v]) => labels[k] === v);
    if (!selected) problems.push(`${sfile}: Service ${s.metadata.name} selects ${JSON.stringify(s.spec.selector)}, not the pods of ${file}`);
    for (const p of s.spec.ports) {
      if (!ports.has(p.targetPort === undefined ? p.port : p.targetPort)) {
        problems.push(`${sfile}: Service port ${p.name || p.port} targets ${p.targetPort}, which no container of ${file} has`);
      }
    }
  }
}
if (byKind('Deployment').length === 0) problems.push(`${dir}: no Deployment`);
if (kustomization) {
  for (const r of kustomization.o.resources || []) {
    if (!fs.existsSync(path.join(dir, r))) problems.push(`${kustomization.file}: resource ${r} does not exist`);
  }
}

for (const p of problems) console.log(p);
console.log(problems.length ? `${problems.length} problem(s) in ${dir}` : `${objects.length} manifests in ${dir}: OK`);
process.exit(problems.length ? 1 : 0);
