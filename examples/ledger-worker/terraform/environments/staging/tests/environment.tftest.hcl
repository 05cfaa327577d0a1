mock_provider "google" {}

run "staging_is_wired_to_its_namespace_state_and_identity" {
  command = apply

  assert {
    condition     = var.environment == "staging"
    error_message = "this root must manage staging"
  }

  assert {
    condition     = output.namespace == "ledger-worker-staging"
    error_message = "staging binds to the namespace its overlay deploys into"
  }

  assert {
    condition     = can(regex("(?m)^\\s*prefix\\s*=\\s*\"ledger\\-worker/staging\"", file("${path.module}/versions.tf")))
    error_message = "the state of staging must live under its own prefix ledger-worker/staging"
  }

  assert {
    condition     = length(module.registry) == 0
    error_message = "CI pushes to image_registry outside this cloud: no registry here"
  }

  assert {
    condition     = module.workload_identity.workload_identity_member == "serviceAccount:platform-staging.svc.id.goog[ledger-worker-staging/ledger-worker]"
    error_message = "the Google service account must be usable by ledger-worker-staging/ledger-worker only"
  }
}
