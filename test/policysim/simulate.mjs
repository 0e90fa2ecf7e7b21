// simulate.mjs evaluates requests against a resource policy (a KMS key policy, an SNS topic policy, an S3
// bucket policy) and the caller's identity policies with
// @cloud-copilot/iam-simulate (AGPL-3.0-or-later; a test-only devDependency, never shipped or deployed).
//
// stdin:  {"accountId": "111122223333", "resourceArn": "arn:aws:kms:...:key/...", "resourcePolicy": {...},
//          "requests": [{"name": "...", "principal": "arn:aws:iam::...:user/x", "action": "kms:Decrypt",
//                        "context": {"aws:SourceIp": "203.0.113.5", ...}, "identityPolicies": [{...}, ...]}]}
// stdout: [{"name": "...", "result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied", "errors": ...}]
//
// "keyArn" and "keyPolicy" are accepted for "resourceArn" and "resourcePolicy". With "keyPolicies":
// [{...}, ...] instead, every request is asked of each policy in turn and stdout is one such list per
// policy, in order (one Node process for many variants of a policy).
//
// Strict mode: the request is evaluated exactly as given; a context key that is not given is absent
// (which is what BoolIfExists and the negated operators are about). Run it with the pinned Node 22
// (node_modules/.bin/node).
import { runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const c of process.stdin) chunks.push(c)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const resourceArn = input.resourceArn ?? input.keyArn

async function answer (resourcePolicy) {
  const out = []
  for (const r of input.requests) {
    const simulation = {
      request: {
        principal: r.principal,
        action: r.action,
        resource: { resource: resourceArn, accountId: input.accountId },
        contextVariables: r.context ?? {}
      },
      identityPolicies: (r.identityPolicies ?? []).map((policy, i) => ({ name: `identity${i}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy
    }
    const res = await runSimulation(simulation, { simulationMode: 'Strict' })
    if (res.resultType === 'error') {
      out.push({ name: r.name, result: 'Error', errors: res.errors })
    } else if (res.resultType === 'single') {
      out.push({ name: r.name, result: res.overallResult })
    } else {
      out.push({ name: r.name, result: 'Error', errors: { message: `unexpected result type ${res.resultType}` } })
    }
  }
  return out
}

let out
if (input.keyPolicies) {
  out = []
  for (const p of input.keyPolicies) out.push(await answer(p))
} else {
  out = await answer(input.resourcePolicy ?? input.keyPolicy)
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n')
