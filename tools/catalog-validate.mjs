// Validates Backstage catalog entities with @backstage/catalog-model's own validators, the ones
// the catalog backend applies on ingestion: its default entity policies (namespace, no foreign
// root fields, field formats, envelope schema) and the built-in kinds' schema validators
// (BuiltinKindsEntityProcessor); parseEntityRef on every relation field.
// Input (stdin, JSON): [entity, ...]. Output (stdout, JSON): [[message, ...], ...], one list per entity.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const model = require("@backstage/catalog-model");

const input = JSON.parse(await new Promise((resolve) => {
  let buf = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (c) => (buf += c));
  process.stdin.on("end", () => resolve(buf));
}));

const policy = model.EntityPolicies.allOf([
  new model.DefaultNamespaceEntityPolicy(),
  new model.NoForeignRootFieldsEntityPolicy(),
  new model.FieldFormatEntityPolicy(),
  new model.SchemaValidEntityPolicy(),
]);
const kinds = [
  model.apiEntityV1alpha1Validator, model.componentEntityV1alpha1Validator, model.resourceEntityV1alpha1Validator,
  model.groupEntityV1alpha1Validator, model.locationEntityV1alpha1Validator, model.userEntityV1alpha1Validator,
  model.systemEntityV1alpha1Validator, model.domainEntityV1alpha1Validator,
];
// spec fields that hold entity references, with the kind a bare name defaults to
const REFS = { owner: "group", system: "system", domain: "domain", subcomponentOf: "component", partOf: "domain" };

const out = [];
for (const entity of input) {
  const errors = [];
  try {
    const checked = await policy.enforce(entity);
    let known = false;
    for (const v of kinds) {
      if (await v.check(checked)) known = true;
    }
    if (!known) errors.push(`unknown kind ${entity.apiVersion}/${entity.kind}`);
    for (const [field, defaultKind] of Object.entries(REFS)) {
      const value = (entity.spec || {})[field];
      if (typeof value === "string") {
        try { model.parseEntityRef(value, { defaultKind, defaultNamespace: "default" }); }
        catch (e) { errors.push(`spec.${field}: ${e.message}`); }
      }
    }
  } catch (e) {
    errors.push(String(e.message || e).split("\n")[0]);
  }
  out.push(errors);
}
process.stdout.write(JSON.stringify(out));
